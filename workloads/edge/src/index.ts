export * from "./config.js";
export * from "./nginx-conf.js";
export * from "./signing.js";
export * from "./nginx-binary.js";
export * from "./metrics.js";
export * from "./runner.js";
