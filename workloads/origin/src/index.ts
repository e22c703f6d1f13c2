export * from "./config.js";
export * from "./auth.js";
export * from "./origin.js";
export * from "./recording.js";
export * from "./hls-command.js";
export type { StreamStats } from "./pipeline.js";
export * from "./upload-sink.js";
export * from "./metrics.js";
export type { OriginRoute } from "./http.js";
