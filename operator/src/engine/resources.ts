import type { KubernetesObject } from "@kubernetes/client-node";

/** What the engine needs to know about a kind to list, watch and address its objects. */
export interface ResourceType {
  apiVersion: string;
  kind: string;
  /** The URL path segment, e.g. `statefulsets`. */
  plural: string;
  namespaced: boolean;
}

/** `/api/v1/namespaces/ns/services` or `/apis/apps/v1/statefulsets` (all namespaces). */
export function collectionPath(type: ResourceType, namespace?: string): string {
  const base = type.apiVersion.includes("/") ? `/apis/${type.apiVersion}` : `/api/${type.apiVersion}`;
  return type.namespaced && namespace !== undefined ? `${base}/namespaces/${namespace}/${type.plural}` : `${base}/${type.plural}`;
}

/** The cache and work-queue key of an object: `namespace/name`, or `name` when cluster-scoped. */
export function objectKey(object: KubernetesObject): string {
  const { namespace, name } = object.metadata ?? {};
  return namespace ? `${namespace}/${name ?? ""}` : (name ?? "");
}

export function splitKey(key: string): { namespace: string | undefined; name: string } {
  const slash = key.indexOf("/");
  return slash < 0 ? { namespace: undefined, name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

export const CORE_TYPES = {
  service: { apiVersion: "v1", kind: "Service", plural: "services", namespaced: true },
  configMap: { apiVersion: "v1", kind: "ConfigMap", plural: "configmaps", namespaced: true },
  node: { apiVersion: "v1", kind: "Node", plural: "nodes", namespaced: false },
  pod: { apiVersion: "v1", kind: "Pod", plural: "pods", namespaced: true },
  statefulSet: { apiVersion: "apps/v1", kind: "StatefulSet", plural: "statefulsets", namespaced: true },
  deployment: { apiVersion: "apps/v1", kind: "Deployment", plural: "deployments", namespaced: true },
  horizontalPodAutoscaler: {
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    plural: "horizontalpodautoscalers",
    namespaced: true,
  },
  podDisruptionBudget: { apiVersion: "policy/v1", kind: "PodDisruptionBudget", plural: "poddisruptionbudgets", namespaced: true },
  job: { apiVersion: "batch/v1", kind: "Job", plural: "jobs", namespaced: true },
  networkPolicy: { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", plural: "networkpolicies", namespaced: true },
  lease: { apiVersion: "coordination.k8s.io/v1", kind: "Lease", plural: "leases", namespaced: true },
} as const satisfies Record<string, ResourceType>;
