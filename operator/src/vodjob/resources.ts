import type { KubernetesObject, V1OwnerReference } from "@kubernetes/client-node";
import { ConfigError, Live360Error } from "@live360/core";
import { App, Chart } from "cdk8s";
import { k8s } from "cdk8s-plus-34";
import { API_VERSION, VOD_JOB, ladderFlag, type VodJob } from "../api/v1alpha1/index.js";
import type { OperatorConfig } from "../config.js";
import type { ResourceType } from "../engine/resources.js";
import { MANAGED_BY } from "../liveevent/names.js";
import { CONTAINER_SECURITY, POD_DEFAULTS, awsCredentialsEnv, hlsEncryptionMount, placement, resourceRequirements } from "../pod-spec.js";
import { WORKER_HTTP_PORT } from "./progress.js";
import type { VodJobSettings } from "./settings.js";

export const VOD_JOB_TYPE = { apiVersion: API_VERSION, kind: VOD_JOB.kind, plural: VOD_JOB.plural, namespaced: true } as const satisfies ResourceType;

export const VOD_JOB_LABEL = "live360.io/vodjob";
export const WORKER_CONTAINER = "worker";
/** Selects every object the VodJob controller makes (its Jobs and their pods). */
export const VOD_WORKER_SELECTOR = `app.kubernetes.io/component=vod-worker,app.kubernetes.io/managed-by=${MANAGED_BY["app.kubernetes.io/managed-by"]}`;

/**
 * Exit codes of `live360 vod-worker --job` that no retry can fix: 2 a bad flag or a missing FFmpeg
 * (the image or the spec is wrong), 3 the recording is refused (not a video, undecodable, missing).
 */
export const NON_RETRYABLE_EXIT_CODES = [2, 3];
/** Where the worker writes its result; the kubelet hands it to the operator in the pod's status. */
export const RESULT_FILE = "/dev/termination-log";
const WORK_DIR = "/var/lib/live360/vod";
/** The group of the VOD worker image's user (workloads/vod-worker/Dockerfile: USER 1000:1000). */
const WORKER_GROUP_ID = 1000;
/** The worker aborts FFmpeg and exits within 20 s of SIGTERM; the rest is slack. */
const TERMINATION_GRACE_SECONDS = 30;

/** The VodJob cannot become a Job: the spec asks for what the worker cannot do. Never retried. */
export class VodJobSpecError extends Live360Error {}

/** The VodJob names no egress bucket and the operator has none configured: it waits for one. */
export class NoEgressBucketError extends Live360Error {}

export function vodJobLabels(name: string): Record<string, string> {
  return {
    "app.kubernetes.io/name": "live360",
    "app.kubernetes.io/component": "vod-worker",
    "app.kubernetes.io/instance": name,
    [VOD_JOB_LABEL]: name,
    ...MANAGED_BY,
  };
}

function ownerReference(vodJob: VodJob): V1OwnerReference {
  const { name, uid } = vodJob.metadata;
  if (!name || !uid) throw new Error("a VodJob read from the API server always has a name and a uid");
  return { apiVersion: vodJob.apiVersion, kind: vodJob.kind, name, uid, controller: true, blockOwnerDeletion: true };
}

/** `live360 vod-worker --job ...` for this VodJob: one recording, then exit with a code the Job's failure policy reads. */
export function workerArgs(vodJob: VodJob, config: OperatorConfig, settings: VodJobSettings): string[] {
  const { spec } = vodJob;
  const egressBucket = spec.egressBucket ?? settings.egressBucket;
  if (egressBucket === undefined) {
    throw new NoEgressBucketError("no egress bucket: set spec.egressBucket, or the operator's VOD egress bucket (Helm value vod.egressBucket)");
  }
  const output = spec.projection.output;
  if (output === "flat") throw new VodJobSpecError("spec.projection.output=flat: the VOD worker re-projects only to cubemap; use cubemap or leave it empty");
  let ladder: string;
  try {
    ladder = ladderFlag(spec.ladder);
  } catch (error) {
    if (error instanceof ConfigError) throw new VodJobSpecError(error.message, { cause: error });
    throw error;
  }
  const args = [
    "vod-worker",
    "--job", spec.source,
    "--egress-bucket", egressBucket,
    "--ladder", ladder,
    "--projection", output === "cubemap" && spec.projection.input === "equirectangular" ? "cubemap" : "equirect",
    "--work-dir", WORK_DIR,
    "--result-file", RESULT_FILE,
    // The operator reads the transcode's progress from /metrics on this port.
    "--http-port", String(WORKER_HTTP_PORT),
  ];
  const { s3Endpoint, region } = config.recording;
  if (s3Endpoint) args.push("--s3-endpoint", s3Endpoint);
  if (region) args.push("--region", region);
  args.push(...hlsEncryptionMount(spec.hls.encryption).args);
  return args;
}

/**
 * The desired state of a VodJob: one batch/v1 Job running the VOD worker for its recording. Pure:
 * the same VodJob and configuration always give the same manifest. Throws VodJobSpecError or
 * NoEgressBucketError when no Job can be made.
 *
 * Spot: a pod evicted by a node drain or a Spot reclaim carries the DisruptionTarget condition; the
 * failure policy ignores it (a replacement starts and no retry is spent), while a refused recording
 * fails the Job at once instead of burning the remaining retries on the same verdict.
 */
export function vodJobResources(vodJob: VodJob, config: OperatorConfig, settings: VodJobSettings): KubernetesObject {
  const name = vodJob.metadata.name ?? "";
  const namespace = vodJob.metadata.namespace ?? "default";
  const { spec } = vodJob;
  const labels = vodJobLabels(name);
  const hlsEncryption = hlsEncryptionMount(spec.hls.encryption);
  const rules = placement(spec, config.nodePools.vod, config.nodePools.require);
  const chart = new Chart(new App(), "vodjob", { namespace, disableResourceNameHashes: true });
  new k8s.KubeJob(chart, "job", {
    metadata: { name, namespace, labels, ownerReferences: [ownerReference(vodJob) as k8s.OwnerReference] },
    spec: {
      backoffLimit: spec.backoffLimit,
      activeDeadlineSeconds: spec.activeDeadlineSeconds,
      ttlSecondsAfterFinished: spec.ttlSecondsAfterFinished,
      podFailurePolicy: {
        rules: [
          { action: "Ignore", onPodConditions: [{ type: "DisruptionTarget", status: "True" }] },
          { action: "FailJob", onExitCodes: { containerName: WORKER_CONTAINER, operator: "In", values: NON_RETRYABLE_EXIT_CODES } },
        ],
      },
      template: {
        metadata: { labels },
        spec: {
          ...POD_DEFAULTS,
          // A pod failure policy requires it: each attempt is a new pod, so the Job sees every failure.
          restartPolicy: "Never",
          // Lets the worker's group read the HLS encryption secret, which is mounted 0440.
          securityContext: { fsGroup: WORKER_GROUP_ID, fsGroupChangePolicy: "OnRootMismatch" },
          serviceAccountName: settings.workerServiceAccount,
          terminationGracePeriodSeconds: TERMINATION_GRACE_SECONDS,
          nodeSelector: rules.nodeSelector,
          tolerations: rules.tolerations,
          affinity: { nodeAffinity: rules.nodeAffinity },
          containers: [
            {
              name: WORKER_CONTAINER,
              image: config.images.vodWorker,
              imagePullPolicy: config.imagePullPolicy,
              command: ["live360"],
              args: workerArgs(vodJob, config, settings),
              env: awsCredentialsEnv(config.awsCredentialsSecret),
              resources: resourceRequirements(spec.resources),
              securityContext: CONTAINER_SECURITY,
              ports: [{ name: "metrics", containerPort: WORKER_HTTP_PORT, protocol: "TCP" }],
              terminationMessagePath: RESULT_FILE,
              // A worker that dies before writing its result leaves its last log lines there instead.
              terminationMessagePolicy: "FallbackToLogsOnError",
              volumeMounts: [
                { name: "work", mountPath: WORK_DIR },
                { name: "tmp", mountPath: "/tmp" },
                ...hlsEncryption.volumeMounts,
              ],
            },
          ],
          volumes: [
            { name: "work", emptyDir: {} },
            { name: "tmp", emptyDir: { sizeLimit: k8s.Quantity.fromString("64Mi") } },
            ...hlsEncryption.volumes,
          ],
        },
      },
    },
  });
  const [job] = chart.toJson() as KubernetesObject[];
  if (!job) throw new Error("the chart holds the Job");
  return job;
}
