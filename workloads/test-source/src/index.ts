export * from "./config.js";
export * from "./pattern.js";
export * from "./test-source.js";
