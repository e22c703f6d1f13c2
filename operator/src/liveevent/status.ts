import type { V1Node, V1Pod, V1Service } from "@kubernetes/client-node";
import {
  LIVE_EVENT_CONDITIONS,
  type ActiveOrigin,
  type LiveEvent,
  type LiveEventConditionType,
  type LiveEventPhase,
  type LiveEventStatus,
} from "../api/v1alpha1/index.js";
import type { EventType } from "../engine/events.js";
import { ORIGIN_RTMP_PORT } from "./names.js";

/**
 * The LiveEvent's status as a pure function of what the reconciler observed: children's readiness,
 * the origins' nodes and the origins' /stat. Kept apart from the reconciler so every rule about
 * phases, failover and conditions is unit-tested without a cluster.
 */

export type Condition = NonNullable<LiveEventStatus["conditions"]>[number];

/** Why an origin's node cannot be relied on; the reason is CamelCase for conditions and events. */
export interface NodeProblem {
  reason: "NodeGone" | "NodeCordoned" | "NodeTerminating" | "NodeNotReady";
  message: string;
}

/**
 * Taints announcing that a node is about to go: the AWS Node Termination Handler's (Spot
 * interruption notice, rebalance recommendation, ASG termination, scheduled maintenance), the
 * cluster autoscaler's and Karpenter's, and the node lifecycle controller's own.
 */
export const TERMINATION_TAINTS: readonly string[] = [
  "aws-node-termination-handler/spot-itn",
  "aws-node-termination-handler/rebalance-recommendation",
  "aws-node-termination-handler/asg-lifecycle-termination",
  "aws-node-termination-handler/scheduled-maintenance",
  "ToBeDeletedByClusterAutoscaler",
  "karpenter.sh/disrupted",
  "node.kubernetes.io/not-ready",
  "node.kubernetes.io/unreachable",
];

/** What makes a node unfit to keep an origin (undefined: the node is fine). */
export function nodeProblem(nodeName: string, node: V1Node | undefined): NodeProblem | undefined {
  if (!node || node.metadata?.deletionTimestamp) return { reason: "NodeGone", message: `node ${nodeName} is gone` };
  const taint = node.spec?.taints?.find((t) => TERMINATION_TAINTS.includes(t.key));
  if (taint) return { reason: "NodeTerminating", message: `node ${nodeName} is being reclaimed (taint ${taint.key})` };
  if (node.spec?.unschedulable) return { reason: "NodeCordoned", message: `node ${nodeName} is cordoned (being drained)` };
  const ready = node.status?.conditions?.find((c) => c.type === "Ready");
  if (ready?.status !== "True") return { reason: "NodeNotReady", message: `node ${nodeName} is not Ready` };
  return undefined;
}

/** A pod that serves: Ready and not shutting down. */
export function podReady(pod: V1Pod): boolean {
  return !pod.metadata?.deletionTimestamp && (pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false);
}

export interface OriginObservation {
  role: ActiveOrigin;
  /** One of the origin's pods is Ready and not terminating. */
  ready: boolean;
  /** The node of the origin's pod, when scheduled, and what is wrong with it. */
  node: string | undefined;
  nodeProblem: NodeProblem | undefined;
  /** Whether the stream is live on this origin per its /stat; undefined when /stat could not be read. */
  publishing: boolean | undefined;
}

export interface LiveEventObservation {
  /** Primary first; only the primary with redundancy single. */
  origins: OriginObservation[];
  /** Ready pods of the edge Deployment; undefined while it does not exist. */
  edge: { readyReplicas: number } | undefined;
  /** `publishKeySecret`: `<Secret>/<key>` holding the publish key, never the key itself. */
  ingest: { primary?: string; backup?: string; publishKeySecret?: string };
  playback: { masterPlaylistUrl?: string; playerUrl?: string };
  /** enabled: recordings go to a bucket and queue; noTarget: enabled but neither the event nor the operator names them. */
  recording: "enabled" | "disabled" | "noTarget";
}

const usable = (o: OriginObservation): boolean => o.ready && o.nodeProblem === undefined;

/** The first thing wrong with an origin, for messages: "backup origin: node spot-b is cordoned (being drained)". */
function originProblem(o: OriginObservation): { reason: string; message: string } | undefined {
  if (o.nodeProblem) return { reason: o.nodeProblem.reason, message: `${o.role} origin: ${o.nodeProblem.message}` };
  if (!o.ready) return { reason: "OriginNotReady", message: `${o.role} origin has no ready pod${o.node ? ` (on node ${o.node})` : ""}` };
  return undefined;
}

/**
 * The origin the edge should serve from: the primary while it is usable and live (or nobody is
 * live anywhere); the backup when the primary is unusable or only the backup has the stream.
 * Once on the backup, the event fails back only to a primary known to be live: a primary pod that
 * has just become ready (its /stat not read yet, its encoder not reconnected) would otherwise flip
 * the event to the primary and straight back, each flip an Event (seen on a real cluster).
 */
export function chooseActiveOrigin(origins: readonly OriginObservation[], current?: ActiveOrigin): ActiveOrigin {
  const primary = origins.find((o) => o.role === "primary");
  const backup = origins.find((o) => o.role === "backup");
  if (!backup || !usable(backup)) return "primary";
  if (!primary || !usable(primary)) return "backup";
  if (backup.publishing !== true) return "primary";
  return primary.publishing === false || (current === "backup" && primary.publishing !== true) ? "backup" : "primary";
}

/** RFC 3339 with seconds, as metav1.Time serializes. */
export function conditionTime(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** The event's new status. Conditions keep their lastTransitionTime while their status holds. */
export function computeStatus(event: LiveEvent, observation: LiveEventObservation, now: Date): LiveEventStatus {
  const previous = event.status;
  const generation = event.metadata.generation ?? 0;
  const { origins, edge } = observation;
  const redundant = event.spec.origin.redundancy === "primaryBackup";
  const activeOrigin = chooseActiveOrigin(origins, previous?.activeOrigin);
  const active = origins.find((o) => o.role === activeOrigin);
  const edgeReady = (edge?.readyReplicas ?? 0) >= 1;
  const problems = [
    ...origins.map(originProblem).filter((p) => p !== undefined),
    ...(edgeReady ? [] : [{ reason: "EdgeNotReady", message: edge ? "no edge pod is ready" : "the edge Deployment is gone" }]),
  ];
  const publishing = active?.publishing;
  const wasPublishing = previousCondition(previous, "Publishing");
  const ended = publishing === false && (wasPublishing?.status === "True" || wasPublishing?.reason === "PublisherGone");

  const startingUp = previous?.phase === undefined || previous.phase === "Pending";
  // An origin still starting (no node problem) keeps a new event Pending rather than Degraded.
  const stillStarting = startingUp && origins.some((o) => !o.ready && o.nodeProblem === undefined);
  const serving = active !== undefined && usable(active) && edgeReady;
  let phase: LiveEventPhase;
  if (startingUp && (!serving || stillStarting)) phase = "Pending";
  // After start-up, losing what serves viewers (both origins, the only one, or every edge pod)
  // is Degraded with the reason, not back to Pending (a drain of a node with the edge pods on it
  // read as Pending on a real cluster, as if the event had never started).
  else if (!serving || (redundant && problems.length > 0)) phase = "Degraded";
  else if (publishing === true) phase = "Live";
  else if (ended) phase = "Ended";
  else phase = "Ready";

  const conditions: Record<LiveEventConditionType, Omit<Condition, "type" | "lastTransitionTime" | "observedGeneration">> = {
    OriginsReady:
      origins.every((o) => o.ready) && origins.length > 0
        ? { status: "True", reason: "OriginsReady", message: `${origins.map((o) => `${o.role} on ${o.node ?? "?"}`).join(", ")}` }
        : {
            status: "False",
            reason: "OriginNotReady",
            message: origins.filter((o) => !o.ready).map((o) => `${o.role} origin has no ready pod`).join("; ") || "no origin yet",
          },
    EdgeReady: edgeReady
      ? // No pod counts here: they change with every autoscaling step, and each change would be a status write.
        { status: "True", reason: "EdgeReady", message: `the edge serves viewers, autoscaled between ${event.spec.edge.minReplicas} and ${event.spec.edge.maxReplicas} pods` }
      : { status: "False", reason: "EdgeNotReady", message: edge ? "no edge pod is ready yet" : "no edge Deployment yet" },
    Publishing:
      publishing === true
        ? { status: "True", reason: "Publishing", message: `an encoder publishes ${event.spec.streamName} to the ${activeOrigin} origin` }
        : publishing === undefined
          ? { status: "Unknown", reason: "StatUnavailable", message: `the ${activeOrigin} origin's /stat could not be read` }
          : ended
            ? { status: "False", reason: "PublisherGone", message: "the encoder stopped publishing; publish again to go live" }
            : { status: "False", reason: "NoPublisher", message: `waiting for an encoder to publish to ${observation.ingest[activeOrigin] ?? "the ingest URL"}` },
    Recording:
      observation.recording === "disabled"
        ? { status: "False", reason: "RecordingDisabled", message: "spec.recording.enabled is false" }
        : observation.recording === "noTarget"
          ? {
              status: "False",
              reason: "NoRecordingTarget",
              message: "recording is enabled but no ingest bucket and queue are set: set spec.recording.bucket and queueUrl, or start the operator with --ingest-bucket and --queue-url; recordings stay on the origins' scratch volumes",
            }
          : publishing === true
            ? { status: "True", reason: "Recording", message: "the stream is recorded and handed to the VOD pipeline when publishing ends" }
            : { status: "False", reason: "NotPublishing", message: "recording starts when an encoder publishes" },
    Degraded:
      phase === "Degraded"
        ? { status: "True", reason: problems[0]!.reason, message: problems.map((p) => p.message).join("; ") }
        : phase === "Pending"
          ? { status: "False", reason: "NotReady", message: "the event is not ready yet" }
          : redundant
          ? { status: "False", reason: "Redundant", message: "primary and backup origins are both usable" }
          : { status: "False", reason: "SingleOrigin", message: "origin.redundancy is single: there is no backup to lose" },
  };

  return {
    phase,
    observedGeneration: generation,
    activeOrigin,
    ingest: observation.ingest,
    playback: observation.playback,
    conditions: LIVE_EVENT_CONDITIONS.map((type) => {
      const next = conditions[type];
      const before = previousCondition(previous, type);
      const lastTransitionTime = before && before.status === next.status ? before.lastTransitionTime : conditionTime(now);
      return { type, ...next, observedGeneration: generation, lastTransitionTime };
    }),
  };
}

function previousCondition(status: LiveEventStatus | undefined, type: LiveEventConditionType): Condition | undefined {
  return status?.conditions?.find((c) => c.type === type);
}

/** Deep equality of JSON values, key order ignored: the status is written only when this says it differs. */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, i) => sameJson(item, b[i]));
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

export interface Transition {
  type: EventType;
  reason: string;
  message: string;
}

/** The Events a status change deserves: every phase change and every change of the serving origin. */
export function statusTransitions(previous: LiveEventStatus | undefined, next: LiveEventStatus): Transition[] {
  const events: Transition[] = [];
  const degraded = next.conditions?.find((c) => c.type === "Degraded");
  if (previous?.activeOrigin !== undefined && previous.activeOrigin !== next.activeOrigin) {
    events.push(
      next.activeOrigin === "backup"
        ? { type: "Warning", reason: "FailedOver", message: `serving from the backup origin: ${degraded?.status === "True" ? degraded.message : "the primary is not live"}` }
        : { type: "Normal", reason: "FailedBack", message: "serving from the primary origin again" },
    );
  }
  if (previous?.phase !== next.phase) {
    const why = next.phase === "Degraded" ? degraded?.message : next.conditions?.find((c) => c.status !== "True" && c.type !== "Degraded")?.message;
    events.push({
      type: next.phase === "Degraded" ? "Warning" : "Normal",
      reason: next.phase ?? "Pending",
      message: `phase ${previous?.phase ?? "(new)"} → ${next.phase}${why && next.phase !== "Live" && next.phase !== "Ready" ? `: ${why}` : ""}`,
    });
  }
  return events;
}

/**
 * Where encoders publish to one origin: the load balancer's address once it has one, the node's
 * address and node port for NodePort, else the in-cluster Service name (reachable from pods).
 */
export function ingestUrl(
  service: V1Service | undefined,
  node: V1Node | undefined,
  inClusterHost: string,
  streamName: string,
): string {
  const path = `/live/${streamName}`;
  // RTMPS when the Service has it: the URL to give encoders is the one that keeps the key private.
  const ports = service?.spec?.ports ?? [];
  const port = ports.find((p) => p.name === "rtmps") ?? ports.find((p) => p.name === "rtmp");
  const scheme = port?.name === "rtmps" ? "rtmps" : "rtmp";
  const lb = service?.status?.loadBalancer?.ingress?.[0];
  const lbHost = lb?.hostname ?? lb?.ip;
  if (service?.spec?.type === "LoadBalancer" && lbHost) return `${scheme}://${lbHost}:${port?.port ?? ORIGIN_RTMP_PORT}${path}`;
  const addresses = node?.status?.addresses ?? [];
  const nodeAddress = (addresses.find((a) => a.type === "ExternalIP") ?? addresses.find((a) => a.type === "InternalIP"))?.address;
  if (service?.spec?.type === "NodePort" && port?.nodePort && nodeAddress) return `${scheme}://${nodeAddress}:${port.nodePort}${path}`;
  return `${scheme}://${inClusterHost}:${port?.port ?? ORIGIN_RTMP_PORT}${path}`;
}

/** The edge's base URL: its load balancer once assigned, else the in-cluster Service name. */
export function playbackUrls(service: V1Service | undefined, inClusterHost: string, streamName: string): LiveEventObservation["playback"] {
  const lb = service?.status?.loadBalancer?.ingress?.[0];
  const lbHost = lb?.hostname ?? lb?.ip;
  // The edge Service listens on port 80 (EDGE_SERVICE_PORT), so URLs need no port.
  const base = `http://${service?.spec?.type === "LoadBalancer" && lbHost ? lbHost : inClusterHost}`;
  const playlist = `/hls/${streamName}/master.m3u8`;
  return { masterPlaylistUrl: `${base}${playlist}`, playerUrl: `${base}/player/?url=${encodeURIComponent(playlist)}` };
}
