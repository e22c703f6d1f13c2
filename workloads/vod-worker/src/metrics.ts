import { Counter, Gauge, Histogram, createRegistry, type Registry } from "@live360/core";
import { REJECT_REASONS } from "./errors.js";
import { RETRIED_CALLS } from "./retry.js";

/** How a received job ended. */
export const JOB_RESULTS = ["completed", "already-done", "rejected", "failed", "interrupted"] as const;
export type JobResult = (typeof JOB_RESULTS)[number];

/** Why the worker killed a transcode: no progress (--transcode-stall-timeout), or past its deadline (--transcode-deadline-*). */
export const TRANSCODE_KILL_REASONS = ["stall", "deadline"] as const;
export type TranscodeKillReason = (typeof TRANSCODE_KILL_REASONS)[number];

/** The VOD worker's Prometheus metrics; one set per worker instance. */
export interface VodMetrics {
  registry: Registry;
  jobs: Counter<"result">;
  rejected: Counter<"reason">;
  running: Gauge<string>;
  progress: Gauge<"asset">;
  eta: Gauge<"asset">;
  speed: Gauge<"asset">;
  mediaSeconds: Counter<string>;
  phaseSeconds: Histogram<"phase">;
  heartbeats: Counter<"result">;
  receiveFailures: Counter<string>;
  transcodeKills: Counter<"reason">;
  callRetries: Counter<"call">;
}

export function createVodMetrics(): VodMetrics {
  const registry = createRegistry("live360_vod");
  const registers = [registry];
  const metrics: VodMetrics = {
    registry,
    jobs: new Counter({
      name: "live360_vod_jobs_total",
      help: `Jobs received, by how they ended (${JOB_RESULTS.join(", ")})`,
      labelNames: ["result"],
      registers,
    }),
    rejected: new Counter({
      name: "live360_vod_jobs_rejected_total",
      help: `Jobs refused and released towards the dead-letter queue, by reason (${REJECT_REASONS.join(", ")})`,
      labelNames: ["reason"],
      registers,
    }),
    running: new Gauge({ name: "live360_vod_jobs_running", help: "Jobs being worked on now", registers }),
    progress: new Gauge({
      name: "live360_vod_job_progress_ratio",
      help: "Transcode progress of each running job, 0..1 of the recording's duration",
      labelNames: ["asset"],
      registers,
    }),
    eta: new Gauge({ name: "live360_vod_job_eta_seconds", help: "Estimated seconds until each running transcode ends", labelNames: ["asset"], registers }),
    speed: new Gauge({
      name: "live360_vod_job_speed_ratio",
      help: "Media seconds transcoded per wall-clock second, per running job",
      labelNames: ["asset"],
      registers,
    }),
    mediaSeconds: new Counter({ name: "live360_vod_media_seconds_total", help: "Seconds of recordings turned into assets", registers }),
    phaseSeconds: new Histogram({
      name: "live360_vod_phase_seconds",
      help: "Time spent per job phase (download, transcode, upload)",
      labelNames: ["phase"],
      buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
      registers,
    }),
    heartbeats: new Counter({
      name: "live360_vod_heartbeats_total",
      help: "Visibility extensions of running jobs' messages, by result (ok, failed, lost)",
      labelNames: ["result"],
      registers,
    }),
    receiveFailures: new Counter({ name: "live360_vod_receive_failures_total", help: "Queue receives that failed (retried with backoff)", registers }),
    transcodeKills: new Counter({
      name: "live360_vod_transcodes_killed_total",
      help: `Transcodes the worker killed, by reason (${TRANSCODE_KILL_REASONS.join(", ")}); their jobs are released for a retry`,
      labelNames: ["reason"],
      registers,
    }),
    callRetries: new Counter({
      name: "live360_vod_call_retries_total",
      help: `S3 or SQS calls of a finished job retried after the SDK's own attempts failed, by call (${RETRIED_CALLS.join(", ")})`,
      labelNames: ["call"],
      registers,
    }),
  };
  // Every reason and result shows up from the start (at 0), so alerts and dashboards need no special case.
  for (const reason of REJECT_REASONS) metrics.rejected.inc({ reason }, 0);
  for (const result of JOB_RESULTS) metrics.jobs.inc({ result }, 0);
  for (const reason of TRANSCODE_KILL_REASONS) metrics.transcodeKills.inc({ reason }, 0);
  for (const call of RETRIED_CALLS) metrics.callRetries.inc({ call }, 0);
  return metrics;
}
