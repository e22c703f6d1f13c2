// The operator's settings without the operator: what the \`live360\` CLI needs to declare and
// validate the operator's flags. Importing the package root loads @kubernetes/client-node
// (≈60 MiB and 0.4 s), which \`live360 local\` and the other commands sharing the binary never use.
export * from "./config.js";
export * from "./run-config.js";
export * from "./vodjob/settings.js";
export { CAPACITY_TYPES, type CapacityType } from "./api/v1alpha1/common.js";
