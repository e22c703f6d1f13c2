import { ConfigError, MAX_VISIBILITY_TIMEOUT_SECONDS, integerInRange, matching } from "@live360/core";

/**
 * What the VodJob controller and the queue poller take from the operator's configuration (S3/SQS
 * endpoints, region, ingest bucket and images come from OperatorConfig, shared with LiveEvents).
 */
export interface VodJobSettings {
  /** Where assets go for VodJobs that name no spec.egressBucket; without it such VodJobs wait. */
  egressBucket: string | undefined;
  /** The VOD queue whose messages become VodJobs; nothing is polled without it. */
  queueUrl: string | undefined;
  /** Namespace of the VodJobs made from queue messages. */
  namespace: string;
  /** VodJobs Pending or Running at once; the poller takes no message beyond it. */
  maxConcurrentJobs: number;
  /**
   * How long a received message stays hidden. The heartbeat extends it while its VodJob runs, so
   * this only bounds how soon a message comes back after the operator died.
   */
  visibilityTimeoutSeconds: number;
  /** How often a held message's visibility is extended (at most half the visibility timeout). */
  heartbeatSeconds: number;
  /** ServiceAccount of the worker pods: the one IRSA or Pod Identity gives S3 access. */
  workerServiceAccount: string | undefined;
}

export const DEFAULT_VOD_JOB_SETTINGS: VodJobSettings = {
  egressBucket: undefined,
  queueUrl: undefined,
  namespace: "default",
  maxConcurrentJobs: 10,
  visibilityTimeoutSeconds: 120,
  heartbeatSeconds: 30,
  workerServiceAccount: undefined,
};

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Validates the settings; every error names the field, the value and the fix. */
export function resolveVodJobSettings(input: Partial<VodJobSettings> = {}): VodJobSettings {
  const merged = { ...DEFAULT_VOD_JOB_SETTINGS, ...Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) };
  const settings: VodJobSettings = {
    egressBucket:
      merged.egressBucket === undefined
        ? undefined
        : matching("vod.egressBucket", merged.egressBucket, /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "give an S3 bucket name"),
    queueUrl: merged.queueUrl === undefined ? undefined : matching("vod.queueUrl", merged.queueUrl, /^https?:\/\/[^\s]+$/, "give the SQS queue URL"),
    namespace: matching("vod.namespace", merged.namespace, DNS_LABEL, "give a namespace name such as live360"),
    maxConcurrentJobs: integerInRange("vod.maxConcurrentJobs", merged.maxConcurrentJobs, 1, 1000),
    visibilityTimeoutSeconds: integerInRange("vod.visibilityTimeoutSeconds", merged.visibilityTimeoutSeconds, 10, MAX_VISIBILITY_TIMEOUT_SECONDS),
    heartbeatSeconds: integerInRange("vod.heartbeatSeconds", merged.heartbeatSeconds, 1, MAX_VISIBILITY_TIMEOUT_SECONDS),
    workerServiceAccount:
      merged.workerServiceAccount === undefined
        ? undefined
        : matching("vod.workerServiceAccount", merged.workerServiceAccount, /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, "give a ServiceAccount name"),
  };
  // A beat that lands after the visibility ran out lets the message be handed out again while its VodJob runs.
  if (settings.heartbeatSeconds > settings.visibilityTimeoutSeconds / 2) {
    throw new ConfigError(
      "vod.heartbeatSeconds",
      settings.heartbeatSeconds,
      `use at most half of vod.visibilityTimeoutSeconds (${settings.visibilityTimeoutSeconds / 2} s), e.g. a quarter of it`,
    );
  }
  return settings;
}
