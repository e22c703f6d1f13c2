export * from "./net.js";
export * from "./wait.js";
export * from "./media.js";
