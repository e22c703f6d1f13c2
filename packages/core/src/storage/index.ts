export * from "./storage.js";
export * from "./s3.js";
export * from "./local.js";
