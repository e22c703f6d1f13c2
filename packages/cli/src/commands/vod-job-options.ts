import type { Command } from "commander";
import { parseNumberFlag } from "@live360/core";
import { DEFAULT_VOD_JOB_SETTINGS, resolveVodJobSettings, type VodJobSettings } from "@live360/operator/settings";

/** `live360 operator`'s VodJob flags, as commander hands them over (strings until validated). */
export interface VodJobFlags {
  vodEgressBucket?: string;
  vodNamespace?: string;
  maxConcurrentJobs: string;
  vodVisibilityTimeout: string;
  vodHeartbeat: string;
  vodWorkerServiceAccount?: string;
}

/** The VodJob controller's flags; the VOD queue itself is the operator's --queue-url (the queue origins announce recordings on). */
export function addVodJobOptions(command: Command): Command {
  const d = DEFAULT_VOD_JOB_SETTINGS;
  return command
    .option("--vod-egress-bucket <bucket>", "bucket VOD assets are written to, for VodJobs that name none")
    .option("--vod-namespace <ns>", "namespace of the VodJobs made from --queue-url messages (default: POD_NAMESPACE, else default)")
    .option("--max-concurrent-jobs <n>", "VodJobs pending or running at once; queue messages beyond it wait in the queue", String(d.maxConcurrentJobs))
    .option("--vod-visibility-timeout <seconds>", "how long a received VOD message stays hidden; heartbeats extend it while its VodJob runs", String(d.visibilityTimeoutSeconds))
    .option("--vod-heartbeat <seconds>", "how often a held VOD message's visibility is extended (at most half the visibility timeout)", String(d.heartbeatSeconds))
    .option("--vod-worker-service-account <name>", "ServiceAccount of the VOD worker pods (the one IRSA / Pod Identity gives S3 access)");
}

export function vodJobSettingsFromFlags(flags: VodJobFlags, queueUrl: string | undefined): VodJobSettings {
  return resolveVodJobSettings({
    egressBucket: flags.vodEgressBucket,
    queueUrl,
    namespace: flags.vodNamespace ?? process.env.POD_NAMESPACE,
    maxConcurrentJobs: parseNumberFlag("--max-concurrent-jobs", flags.maxConcurrentJobs),
    visibilityTimeoutSeconds: parseNumberFlag("--vod-visibility-timeout", flags.vodVisibilityTimeout),
    heartbeatSeconds: parseNumberFlag("--vod-heartbeat", flags.vodHeartbeat),
    workerServiceAccount: flags.vodWorkerServiceAccount,
  });
}
