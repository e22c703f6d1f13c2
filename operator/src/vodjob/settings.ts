import { ConfigError, MAX_VISIBILITY_TIMEOUT_SECONDS, integerInRange, matching, oneOf } from "@live360/core";
import { quantityAmount } from "../api/quantity.js";
import { CAPACITY_TYPES, DNS_SUBDOMAIN, DNS_SUBDOMAIN_MAX_LENGTH, MAX_NODE_SELECTOR_LABELS, type CapacityType } from "../api/v1alpha1/common.js";
import { ACTIVE_DEADLINE_SECONDS, TTL_SECONDS_AFTER_FINISHED } from "../api/v1alpha1/vodjob.js";

/** CPU and memory, what a transcode needs, as in a container's `resources.requests` or `.limits`. */
export interface VodJobResourceList {
  cpu?: string;
  memory?: string;
}

export interface VodJobResources {
  requests?: VodJobResourceList;
  limits?: VodJobResourceList;
}

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
  /**
   * spec.resources of the VodJobs made from queue messages, e.g. less than the CRD's 2 CPU / 2Gi
   * request where no node has that free (a laptop's kind cluster); it replaces that default whole,
   * limits included. This and the other job* fields suit a cluster rather than a recording, so they
   * are set once here instead of in every VodJob; undefined keeps the CRD's default. VodJobs made
   * by hand set their own, and a VodJob keeps what it was made with (its spec is immutable).
   */
  jobResources: VodJobResources | undefined;
  /** spec.capacityType: onDemand prefers on-demand nodes and leaves the Spot VOD node pool alone (where a reclaim's lost work costs more than Spot saves). */
  jobCapacityType: CapacityType | undefined;
  /** spec.nodeSelector, e.g. an architecture or instance type the workers must run on. */
  jobNodeSelector: Record<string, string> | undefined;
  /** spec.activeDeadlineSeconds: an attempt that hangs frees its place in maxConcurrentJobs after this. */
  jobActiveDeadlineSeconds: number | undefined;
  /** spec.ttlSecondsAfterFinished: how long finished Jobs and their pods (and logs) are kept. */
  jobTtlSecondsAfterFinished: number | undefined;
}

export const DEFAULT_VOD_JOB_SETTINGS: VodJobSettings = {
  egressBucket: undefined,
  queueUrl: undefined,
  namespace: "default",
  maxConcurrentJobs: 10,
  visibilityTimeoutSeconds: 120,
  heartbeatSeconds: 30,
  workerServiceAccount: undefined,
  jobResources: undefined,
  jobCapacityType: undefined,
  jobNodeSelector: undefined,
  jobActiveDeadlineSeconds: undefined,
  jobTtlSecondsAfterFinished: undefined,
};

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** The name part of a label key, and a non-empty label value. */
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

const QUANTITY_FIXES: Record<keyof VodJobResourceList, string> = {
  cpu: 'give a CPU quantity in cores ("1") or millicores ("250m")',
  memory: 'give a memory quantity such as "512Mi" or "2Gi"',
};
const RESOURCE_NAMES = Object.keys(QUANTITY_FIXES) as (keyof VodJobResourceList)[];
const isResourceName = (name: string): name is keyof VodJobResourceList => (RESOURCE_NAMES as string[]).includes(name);

/** Undefined when it names no quantity: an empty list asks for nothing, and nothing keeps the CRD's default. */
function resourceList(field: string, list: VodJobResourceList | undefined): VodJobResourceList | undefined {
  const resolved: VodJobResourceList = {};
  for (const [name, quantity] of Object.entries(list ?? {})) {
    if (quantity === undefined) continue;
    if (!isResourceName(name)) throw new ConfigError(`${field}.${name}`, quantity, "set cpu and memory only, as in cpu=250m,memory=512Mi");
    const amount = quantityAmount(quantity);
    // Kubernetes refuses negative requests and limits.
    if (amount === undefined || amount < 0) throw new ConfigError(`${field}.${name}`, quantity, QUANTITY_FIXES[name]);
    resolved[name] = quantity;
  }
  return Object.keys(resolved).length > 0 ? resolved : undefined;
}

function jobResources(input: VodJobResources | undefined): VodJobResources | undefined {
  const requests = resourceList("vod.jobResources.requests", input?.requests);
  const limits = resourceList("vod.jobResources.limits", input?.limits);
  for (const name of RESOURCE_NAMES) {
    const request = requests?.[name];
    const limit = limits?.[name];
    if (request !== undefined && limit !== undefined && (quantityAmount(request) ?? 0) > (quantityAmount(limit) ?? 0)) {
      throw new ConfigError(
        `vod.jobResources.requests.${name}`,
        request,
        `request at most vod.jobResources.limits.${name} (${limit}): Kubernetes refuses a container that requests more than its limit`,
      );
    }
  }
  if (!requests && !limits) return undefined;
  return { ...(requests && { requests }), ...(limits && { limits }) };
}

function nodeSelector(input: Record<string, string> | undefined): Record<string, string> | undefined {
  const entries = Object.entries(input ?? {});
  if (entries.length > MAX_NODE_SELECTOR_LABELS) {
    throw new ConfigError("vod.jobNodeSelector", input, `name at most ${MAX_NODE_SELECTOR_LABELS} labels (a VodJob's nodeSelector takes no more)`);
  }
  for (const [key, value] of entries) {
    const slash = key.indexOf("/");
    const prefix = slash < 0 ? undefined : key.slice(0, slash);
    const validPrefix = prefix === undefined || (prefix.length <= DNS_SUBDOMAIN_MAX_LENGTH && DNS_SUBDOMAIN.test(prefix));
    if (!validPrefix || !LABEL_NAME.test(key.slice(slash + 1))) {
      throw new ConfigError(
        "vod.jobNodeSelector",
        key,
        "give node label keys as [prefix/]name, such as kubernetes.io/arch: a name of at most 63 letters, digits, '-', '_' and '.', after an optional DNS subdomain",
      );
    }
    if (value !== "" && !LABEL_NAME.test(value)) {
      throw new ConfigError(`vod.jobNodeSelector.${key}`, value, "give a label value: at most 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit");
    }
  }
  return entries.length > 0 ? Object.fromEntries(entries) : undefined;
}

const optionalInteger = (field: string, value: number | undefined, bounds: { minimum: number; maximum: number }): number | undefined =>
  value === undefined ? undefined : integerInRange(field, value, bounds.minimum, bounds.maximum);

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
    jobResources: jobResources(merged.jobResources),
    jobCapacityType: merged.jobCapacityType === undefined ? undefined : oneOf("vod.jobCapacityType", merged.jobCapacityType, CAPACITY_TYPES),
    jobNodeSelector: nodeSelector(merged.jobNodeSelector),
    jobActiveDeadlineSeconds: optionalInteger("vod.jobActiveDeadlineSeconds", merged.jobActiveDeadlineSeconds, ACTIVE_DEADLINE_SECONDS),
    jobTtlSecondsAfterFinished: optionalInteger("vod.jobTtlSecondsAfterFinished", merged.jobTtlSecondsAfterFinished, TTL_SECONDS_AFTER_FINISHED),
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
