export * from "./api/v1alpha1/index.js";
export * from "./config.js";
export * from "./manager.js";
export * from "./operator.js";
export * from "./run-config.js";
export { LIVE_EVENT_FINALIZER, OWNED_TYPES, httpOriginStat, liveEventController, type FetchOriginStat, type OriginStatSummary } from "./liveevent/reconcile.js";
export { liveEventResources } from "./liveevent/resources.js";
export * from "./vodjob/index.js";
