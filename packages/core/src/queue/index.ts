export * from "./queue.js";
export * from "./sqs.js";
export * from "./file-queue.js";
export * from "./job-message.js";
export * from "./job-result.js";
