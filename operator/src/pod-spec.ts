import { k8s } from "cdk8s-plus-34";
import type { CapacityType, Resources } from "./api/v1alpha1/index.js";

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

/** The spec's node selector and tolerations, and the capacity type as a preference (pods still run on the other kind). */
export function placement(placementSpec: { capacityType: CapacityType; nodeSelector?: Record<string, string>; tolerations?: k8s.Toleration[] }) {
  return {
    nodeSelector: placementSpec.nodeSelector,
    tolerations: placementSpec.tolerations,
    nodeAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [
        {
          weight: 100,
          preference: {
            matchExpressions: [{ key: CAPACITY_TYPE_LABEL, operator: "In", values: [CAPACITY_TYPE_VALUES[placementSpec.capacityType]] }],
          },
        },
      ],
    },
  };
}
