import type { V1OwnerReference } from "@kubernetes/client-node";
import type { ActiveOrigin, LiveEvent } from "../api/v1alpha1/index.js";
import type { OperatorConfig } from "../config.js";

/** Ports inside the origin container, fixed by the image contract; Services map to them by name. */
export const ORIGIN_RTMP_PORT = 1935;
export const ORIGIN_HTTP_PORT = 8080;
/** The origin's RTMPS port (DEFAULT_RTMPS_PORT); its Service maps 443 to it. */
export const ORIGIN_RTMPS_PORT = 1936;
export const INGEST_TLS_SERVICE_PORT = 443;
export const EDGE_HTTP_PORT = 8080;
/** The edge Service's port: plain HTTP on 80, as CDNs and load balancers expect. */
export const EDGE_SERVICE_PORT = 80;
/** The edge sidecar's Prometheus endpoint (stub_status and viewer insight), as nginx-prometheus-exporter's. */
export const EDGE_METRICS_PORT = 9113;
/** Loopback port between nginx and the sidecar's insight server (UDP CMCD lines, TCP beacons). */
export const EDGE_INSIGHT_PORT = 8082;
/** Loopback port of the sidecar's LL-HLS relay (CMAF events), which nginx passes blocking reloads and parts to. */
export const EDGE_LL_HLS_RELAY_PORT = 8083;

export type Component = "origin" | "edge" | "test-source";

/** Every object the operator creates carries this, and its informers select on it. */
export const MANAGED_BY = { "app.kubernetes.io/managed-by": "live360-operator" } as const;
export const EVENT_LABEL = "live360.io/event";
export const ORIGIN_ROLE_LABEL = "live360.io/origin-role";

/** Names of one event's children: `<event>-origin-primary`, `<event>-edge`, ... (see MAX_LIVE_EVENT_NAME_LENGTH). */
export const childNames = (event: string) => ({
  /** StatefulSet and its ClusterIP Service for HLS. */
  origin: (role: ActiveOrigin) => `${event}-origin-${role}`,
  /** The origin's RTMP ingest Service (LoadBalancer or NodePort). */
  originRtmp: (role: ActiveOrigin) => `${event}-origin-${role}-rtmp`,
  /** Disruption budget covering both origins. */
  origins: `${event}-origins`,
  /** Deployment, Service, ConfigMap, HorizontalPodAutoscaler and PodDisruptionBudget of the edge. */
  edge: `${event}-edge`,
  /** Headless Service listing every edge pod: the sidecars find each other through it to merge heatmaps, and Prometheus can scrape it. */
  edgePeers: `${event}-edge-peers`,
  testSource: `${event}-test-source`,
  /** The publish key Secret the operator generates when the event names none. */
  publishKey: `${event}-publish-key`,
  /** The NetworkPolicy that keeps the origins' HTTP port to this event's edge, origins, the operator and Prometheus. */
  originsPolicy: `${event}-origins`,
});

/** Labels selecting the pods of one component of one event (stable: selectors are immutable). */
export function selectorLabels(event: string, component: Component, role?: ActiveOrigin): Record<string, string> {
  return {
    "app.kubernetes.io/name": "live360",
    "app.kubernetes.io/component": component,
    [EVENT_LABEL]: event,
    ...(role ? { [ORIGIN_ROLE_LABEL]: role } : {}),
  };
}

/** Labels of every child object and pod: the selector labels plus the recommended informational ones. */
export function objectLabels(event: string, component: Component, role?: ActiveOrigin): Record<string, string> {
  return { ...selectorLabels(event, component, role), "app.kubernetes.io/instance": event, ...MANAGED_BY };
}

/** Makes the LiveEvent the controlling owner: children are garbage-collected with it. */
export function ownerReference(event: LiveEvent): V1OwnerReference {
  const { name, uid } = event.metadata;
  if (!name || !uid) throw new Error("a LiveEvent read from the API server always has a name and a uid");
  return { apiVersion: event.apiVersion, kind: event.kind, name, uid, controller: true, blockOwnerDeletion: true };
}

/** `<service>.<namespace>.svc.<cluster domain>`: resolvable from any namespace in the cluster. */
export function serviceHost(service: string, namespace: string, config: Pick<OperatorConfig, "clusterDomain">): string {
  return `${service}.${namespace}.svc.${config.clusterDomain}`;
}
