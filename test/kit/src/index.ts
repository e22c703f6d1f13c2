export * from "./net.js";
export * from "./wait.js";
export * from "./media.js";
export * from "./test-services.js";
export * from "./s3-server.js";
export * from "./sqs-server.js";
