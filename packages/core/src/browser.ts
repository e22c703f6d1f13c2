/**
 * The part of core that runs in a browser: no Node built-ins, directly or through imports.
 * The player bundles it (`@live360/core/browser`), so keep it that way.
 */
export * from "./backoff.js";
export * from "./beacon.js";
export * from "./projection.js";
