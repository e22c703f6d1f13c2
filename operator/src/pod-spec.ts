import path from "node:path";
import { k8s } from "cdk8s-plus-34";
import { HLS_ENCRYPTION_FLAGS } from "@live360/core";
import type { CapacityType, HlsEncryption, Resources } from "./api/v1alpha1/index.js";

/**
 * Pod-level building blocks every live360 workload shares, in cdk8s-plus-34's Kubernetes 1.34
 * types: where pods run, how they are locked down, what they may use.
 */

/** The node label EKS managed node groups set, and the fake nodes of test/cluster copy. */
export const CAPACITY_TYPE_LABEL = "eks.amazonaws.com/capacityType";
const CAPACITY_TYPE_VALUES: Record<CapacityType, string> = { spot: "SPOT", onDemand: "ON_DEMAND" };

/** Non-root, no privilege escalation, no capabilities, read-only root filesystem: writable paths are volumes. */
export const CONTAINER_SECURITY: k8s.SecurityContext = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  capabilities: { drop: ["ALL"] },
  seccompProfile: { type: "RuntimeDefault" },
};

/** Pod fields no live360 pod varies: no API credentials, no Service environment variables. */
export const POD_DEFAULTS = { automountServiceAccountToken: false, enableServiceLinks: false } as const;

/** Where a container that encrypts HLS (origin, VOD worker) reads the secret: one file, projected from spec.hls.encryption.secretRef. */
export const HLS_SECRET_FILE = "/etc/live360/hls/secret";
const HLS_SECRET_VOLUME = "hls-encryption";

/**
 * What one container needs to encrypt HLS as `encryption` says (nothing without it): the flags,
 * which name the file rather than carry the secret, and the Secret's key mounted read-only as
 * HLS_SECRET_FILE. The file is readable by the owner and the pod's fsGroup only (0440): the pod must
 * set fsGroup to its image's group. Renewals of the Secret reach the file in place.
 */
export function hlsEncryptionMount(encryption: HlsEncryption | undefined): { args: string[]; volumeMounts: k8s.VolumeMount[]; volumes: k8s.Volume[] } {
  if (!encryption) return { args: [], volumeMounts: [], volumes: [] };
  const { secretRef, rotationSegments } = encryption;
  return {
    args: [HLS_ENCRYPTION_FLAGS.secret, HLS_SECRET_FILE, HLS_ENCRYPTION_FLAGS.rotation, String(rotationSegments)],
    volumeMounts: [{ name: HLS_SECRET_VOLUME, mountPath: path.dirname(HLS_SECRET_FILE), readOnly: true }],
    volumes: [
      { name: HLS_SECRET_VOLUME, secret: { secretName: secretRef.name, items: [{ key: secretRef.key, path: path.basename(HLS_SECRET_FILE) }], defaultMode: 0o440 } },
    ],
  };
}

/** The keys of the static AWS credentials Secret (`awsCredentialsSecret`), named as the SDK's environment variables. */
export const AWS_CREDENTIAL_KEYS = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] as const;

/**
 * The AWS SDK's credential environment variables from the Secret, or nothing without one (EKS: Pod
 * Identity). The references are required: a missing Secret or key keeps the pod from starting with
 * an event naming it, rather than letting the SDK fall through its chain to an opaque signing error.
 */
export function awsCredentialsEnv(secret: string | undefined): k8s.EnvVar[] | undefined {
  if (secret === undefined) return undefined;
  return AWS_CREDENTIAL_KEYS.map((key) => ({ name: key, valueFrom: { secretKeyRef: { name: secret, key } } }));
}

function quantities(list: Record<string, string | number | undefined> | undefined): Record<string, k8s.Quantity> | undefined {
  if (!list) return undefined;
  const entries = Object.entries(list).filter((entry): entry is [string, string | number] => entry[1] !== undefined);
  if (entries.length === 0) return undefined;
  return Object.fromEntries(
    entries.map(([resource, value]) => [resource, typeof value === "number" ? k8s.Quantity.fromNumber(value) : k8s.Quantity.fromString(value)]),
  );
}

export function resourceRequirements(resources: Resources): k8s.ResourceRequirements {
  return { requests: quantities(resources.requests), limits: quantities(resources.limits) };
}

/** eks-infra's node pools: label and NoSchedule taint key (eks-infra/src/node-pools.ts POOL_LABEL). */
export const POOL_LABEL = "live360.io/pool";

export interface PlacementSpec {
  capacityType: CapacityType;
  nodeSelector?: Record<string, string>;
  tolerations?: k8s.Toleration[];
}

/**
 * The scheduling rules of one kind of pod: the capacity preference, the spec's node selector and
 * tolerations, and for Spot capacity the operator's node pool (`pool`): its taint tolerated, its
 * label preferred (required with `nodePools.require`). On-demand pods never tolerate a Spot pool's
 * taint, so on EKS they land on the untainted on-demand nodes.
 */
export function placement(spec: PlacementSpec, pool: string | undefined = undefined, requirePool = false) {
  const onPool = spec.capacityType === "spot" && pool !== undefined;
  const preferences = [
    { weight: 100, preference: { matchExpressions: [{ key: CAPACITY_TYPE_LABEL, operator: "In", values: [CAPACITY_TYPE_VALUES[spec.capacityType]] }] } },
    ...(onPool && !requirePool ? [{ weight: 50, preference: { matchExpressions: [{ key: POOL_LABEL, operator: "In", values: [pool] }] } }] : []),
  ];
  const nodeSelector = onPool && requirePool ? { [POOL_LABEL]: pool, ...spec.nodeSelector } : spec.nodeSelector;
  const poolToleration: k8s.Toleration[] = onPool ? [{ key: POOL_LABEL, operator: "Equal", value: pool, effect: "NoSchedule" }] : [];
  // eks-infra's example LiveEvent spells the pool toleration out too: list it once.
  const own = (spec.tolerations ?? []).filter((t) => !(t.key === POOL_LABEL && t.value === pool && t.effect === "NoSchedule" && onPool));
  const tolerations = [...poolToleration, ...own];
  return {
    nodeSelector,
    tolerations: tolerations.length > 0 ? tolerations : undefined,
    nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: preferences },
  };
}
