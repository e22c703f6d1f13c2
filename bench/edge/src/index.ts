export * from "./reference-conf.js";
export * from "./viewers.js";
