import { Option, type Command } from "commander";
import { ConfigError, parseNumberFlag } from "@live360/core";
import { CAPACITY_TYPES, DEFAULT_VOD_JOB_SETTINGS, resolveVodJobSettings, type CapacityType, type VodJobSettings } from "@live360/operator/settings";
import { collect } from "./flags.js";

/** `live360 operator`'s VodJob flags, as commander hands them over (strings until validated). */
export interface VodJobFlags {
  vodEgressBucket?: string;
  vodNamespace?: string;
  maxConcurrentJobs: string;
  vodVisibilityTimeout: string;
  vodHeartbeat: string;
  vodWorkerServiceAccount?: string;
  vodJobRequests?: string[];
  vodJobLimits?: string[];
  vodJobCapacityType?: CapacityType;
  vodJobNodeSelector?: string[];
  vodJobActiveDeadline?: string;
  vodJobTtlAfterFinished?: string;
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
    .option("--vod-worker-service-account <name>", "ServiceAccount of the VOD worker pods (the one IRSA / Pod Identity gives S3 access)")
    .option(
      "--vod-job-requests <cpu=q,memory=q>",
      "resource requests of queue-made VodJobs, e.g. cpu=250m,memory=512Mi on small nodes (default: the CRD's; given, this and --vod-job-limits replace it whole)",
      collect,
    )
    .option("--vod-job-limits <cpu=q,memory=q>", "resource limits of queue-made VodJobs, e.g. memory=1Gi (see --vod-job-requests)", collect)
    .addOption(new Option("--vod-job-capacity-type <type>", "preferred node capacity of queue-made VodJobs (default: the CRD's, spot)").choices(CAPACITY_TYPES))
    .option("--vod-job-node-selector <key=value,...>", "node labels queue-made VodJobs require, e.g. kubernetes.io/arch=amd64 (repeatable or comma-separated)", collect)
    .option("--vod-job-active-deadline <seconds>", "bound on a queue-made VodJob, all attempts (default: 4 attempts × max(120 s, the recording × 4) + 15 min, a day when the length is unknown)")
    .option("--vod-job-ttl-after-finished <seconds>", "how long the Jobs of queue-made VodJobs are kept once finished (default: the CRD's, 86400)");
}

/** `cpu=250m,memory=512Mi`, given once or repeated (later keys win); undefined when not given. */
function keyValues(flag: string, values: string[] | undefined, example: string): Record<string, string> | undefined {
  if (values === undefined) return undefined;
  const pairs = values.flatMap((value) => value.split(",")).map((pair) => pair.trim()).filter(Boolean);
  return Object.fromEntries(
    pairs.map((pair) => {
      const equals = pair.indexOf("=");
      if (equals <= 0) throw new ConfigError(flag, pair, `give key=value pairs separated by commas, such as ${example}`);
      return [pair.slice(0, equals), pair.slice(equals + 1)];
    }),
  );
}

const optionalNumber = (flag: string, raw: string | undefined): number | undefined => (raw === undefined ? undefined : parseNumberFlag(flag, raw));

export function vodJobSettingsFromFlags(flags: VodJobFlags, queueUrl: string | undefined): VodJobSettings {
  return resolveVodJobSettings({
    egressBucket: flags.vodEgressBucket,
    queueUrl,
    namespace: flags.vodNamespace ?? process.env.POD_NAMESPACE,
    maxConcurrentJobs: parseNumberFlag("--max-concurrent-jobs", flags.maxConcurrentJobs),
    visibilityTimeoutSeconds: parseNumberFlag("--vod-visibility-timeout", flags.vodVisibilityTimeout),
    heartbeatSeconds: parseNumberFlag("--vod-heartbeat", flags.vodHeartbeat),
    workerServiceAccount: flags.vodWorkerServiceAccount,
    jobResources: {
      requests: keyValues("--vod-job-requests", flags.vodJobRequests, "cpu=250m,memory=512Mi"),
      limits: keyValues("--vod-job-limits", flags.vodJobLimits, "memory=1Gi"),
    },
    jobCapacityType: flags.vodJobCapacityType,
    jobNodeSelector: keyValues("--vod-job-node-selector", flags.vodJobNodeSelector, "kubernetes.io/arch=amd64"),
    jobActiveDeadlineSeconds: optionalNumber("--vod-job-active-deadline", flags.vodJobActiveDeadline),
    jobTtlSecondsAfterFinished: optionalNumber("--vod-job-ttl-after-finished", flags.vodJobTtlAfterFinished),
  });
}
