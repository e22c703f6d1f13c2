export { DEFAULT_VOD_JOB_SETTINGS, resolveVodJobSettings, type VodJobSettings } from "./settings.js";
export { VodJobReconciler, vodJobController, type VodJobControllerOptions } from "./reconcile.js";
export { VodQueuePoller, vodJobForSource, vodJobName } from "./queue-poller.js";
export { vodJobResources } from "./resources.js";
export { WORKER_HTTP_PORT, httpWorkerProgress, parseWorkerProgress, type FetchWorkerProgress } from "./progress.js";
