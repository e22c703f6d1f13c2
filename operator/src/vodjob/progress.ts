import type { V1Pod } from "@kubernetes/client-node";

/** The port `live360 vod-worker --job` serves /metrics on in a worker pod (the Job passes --http-port). */
export const WORKER_HTTP_PORT = 9090;
/** A worker that does not answer within this is skipped until the next look; the reconcile never waits longer. */
const FETCH_TIMEOUT_MS = 2_000;

/** Percent done of the transcode running in `pod`, or undefined when it cannot be told (yet). */
export type FetchWorkerProgress = (pod: V1Pod) => Promise<number | undefined>;

/**
 * The running job's progress from the worker's Prometheus text: `live360_vod_job_progress_ratio`
 * (0..1 of the recording's duration) as a whole percent, rounded down so 100 means done.
 */
export function parseWorkerProgress(metricsText: string): number | undefined {
  const match = /^live360_vod_job_progress_ratio(?:\{[^}]*\})? ([-+0-9.eE]+)$/m.exec(metricsText);
  if (!match) return undefined;
  const ratio = Number(match[1]);
  return Number.isFinite(ratio) ? Math.min(100, Math.max(0, Math.floor(ratio * 100))) : undefined;
}

/** Reads a worker pod's /metrics over the pod network, like Prometheus would. */
export function httpWorkerProgress(port = WORKER_HTTP_PORT): FetchWorkerProgress {
  return async (pod) => {
    const ip = pod.status?.podIP;
    if (!ip) return undefined;
    try {
      const response = await fetch(`http://${ip.includes(":") ? `[${ip}]` : ip}:${port}/metrics`, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
      return response.ok ? parseWorkerProgress(await response.text()) : undefined;
    } catch {
      // Not listening yet, or gone: the status keeps the last known progress.
      return undefined;
    }
  };
}
