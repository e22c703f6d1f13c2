import { describe, expect, test } from "@jest/globals";
import type { V1Node, V1Service } from "@kubernetes/client-node";
import { applyDefaults } from "../api/schema.js";
import { API_VERSION, liveEventSpec, type LiveEvent, type LiveEventSpecInput, type LiveEventStatus } from "../api/v1alpha1/index.js";
import {
  chooseActiveOrigin,
  computeStatus,
  ingestUrl,
  nodeProblem,
  playbackUrls,
  sameJson,
  statusTransitions,
  type LiveEventObservation,
  type OriginObservation,
} from "./status.js";

const T0 = new Date("2026-01-01T10:00:00.123Z");
const T1 = new Date("2026-01-01T10:05:00.000Z");

function liveEvent(spec: Partial<LiveEventSpecInput> = {}, status?: LiveEventStatus, generation = 1): LiveEvent {
  return {
    apiVersion: API_VERSION,
    kind: "LiveEvent",
    metadata: { name: "demo", namespace: "events", uid: "uid-demo", generation },
    spec: applyDefaults(liveEventSpec, { streamName: "demo", ...spec }),
    status,
  };
}

function node(name: string, change: { unschedulable?: boolean; taint?: string; ready?: "True" | "False" | "Unknown" } = {}): V1Node {
  return {
    metadata: { name },
    spec: { unschedulable: change.unschedulable, taints: change.taint ? [{ key: change.taint, effect: "NoSchedule" }] : undefined },
    status: { conditions: [{ type: "Ready", status: change.ready ?? "True" }] },
  };
}

const origin = (role: "primary" | "backup", change: Partial<OriginObservation> = {}): OriginObservation => ({
  role,
  ready: true,
  node: role === "primary" ? "spot-a" : "spot-b",
  nodeProblem: undefined,
  publishing: false,
  ...change,
});

function observation(change: Partial<LiveEventObservation> = {}): LiveEventObservation {
  return {
    origins: [origin("primary"), origin("backup")],
    edge: { readyReplicas: 2 },
    ingest: { primary: "rtmp://p/live/demo", backup: "rtmp://b/live/demo" },
    playback: { masterPlaylistUrl: "http://edge/hls/demo/master.m3u8" },
    recording: "enabled",
    ...change,
  };
}

const condition = (status: LiveEventStatus, type: string) => status.conditions?.find((c) => c.type === type);

describe("nodeProblem", () => {
  test("names what makes a node unfit for an origin, and nothing for a healthy node", () => {
    expect(nodeProblem("spot-a", node("spot-a"))).toBeUndefined();
    expect(nodeProblem("spot-a", undefined)?.reason).toBe("NodeGone");
    expect(nodeProblem("spot-a", node("spot-a", { unschedulable: true }))).toEqual({ reason: "NodeCordoned", message: "node spot-a is cordoned (being drained)" });
    expect(nodeProblem("spot-a", node("spot-a", { taint: "aws-node-termination-handler/spot-itn" }))).toEqual({
      reason: "NodeTerminating",
      message: "node spot-a is being reclaimed (taint aws-node-termination-handler/spot-itn)",
    });
    expect(nodeProblem("spot-a", node("spot-a", { ready: "Unknown" }))?.reason).toBe("NodeNotReady");
    // Any other taint (a dedicated pool, say) is no reason to fail over.
    expect(nodeProblem("spot-a", node("spot-a", { taint: "live360.io/media" }))).toBeUndefined();
  });
});

describe("chooseActiveOrigin", () => {
  test("primary while usable; backup when the primary is unready, on a failing node, or only the backup is live", () => {
    expect(chooseActiveOrigin([origin("primary"), origin("backup")])).toBe("primary");
    expect(chooseActiveOrigin([origin("primary", { ready: false }), origin("backup")])).toBe("backup");
    expect(chooseActiveOrigin([origin("primary", { nodeProblem: { reason: "NodeCordoned", message: "" } }), origin("backup")])).toBe("backup");
    expect(chooseActiveOrigin([origin("primary", { publishing: false }), origin("backup", { publishing: true })])).toBe("backup");
    // Unknown is not "not live": without /stat the primary keeps serving.
    expect(chooseActiveOrigin([origin("primary", { publishing: undefined }), origin("backup", { publishing: true })])).toBe("primary");
    expect(chooseActiveOrigin([origin("primary", { ready: false }), origin("backup", { ready: false })])).toBe("primary");
    expect(chooseActiveOrigin([origin("primary", { ready: false })])).toBe("primary");
  });

  test("once on the backup, fails back only to a primary known to be live", () => {
    const back = (primary: boolean | undefined) => chooseActiveOrigin([origin("primary", { publishing: primary }), origin("backup", { publishing: true })], "backup");
    expect(back(undefined)).toBe("backup");
    expect(back(false)).toBe("backup");
    expect(back(true)).toBe("primary");
    // Nobody live on the backup: nothing to hold on to.
    expect(chooseActiveOrigin([origin("primary", { publishing: undefined }), origin("backup", { publishing: false })], "backup")).toBe("primary");
  });
});

describe("computeStatus", () => {
  test("a new event whose children are ready and nobody publishes is Ready, with every condition explained", () => {
    const status = computeStatus(liveEvent(), observation(), T0);
    expect(status).toMatchObject({ phase: "Ready", observedGeneration: 1, activeOrigin: "primary", ingest: observation().ingest });
    expect(status.conditions?.map((c) => [c.type, c.status, c.reason])).toEqual([
      ["OriginsReady", "True", "OriginsReady"],
      ["EdgeReady", "True", "EdgeReady"],
      ["Publishing", "False", "NoPublisher"],
      ["Recording", "False", "NotPublishing"],
      ["Degraded", "False", "Redundant"],
    ]);
    for (const c of status.conditions ?? []) {
      expect(c.observedGeneration).toBe(1);
      // metav1.Time: seconds precision.
      expect(c.lastTransitionTime).toBe("2026-01-01T10:00:00Z");
    }
  });

  test("stays Pending while an origin or the edge is still starting", () => {
    expect(computeStatus(liveEvent(), observation({ origins: [origin("primary"), origin("backup", { ready: false })] }), T0).phase).toBe("Pending");
    expect(computeStatus(liveEvent(), observation({ edge: { readyReplicas: 0 } }), T0).phase).toBe("Pending");
    expect(computeStatus(liveEvent(), observation({ edge: undefined }), T0).phase).toBe("Pending");
  });

  test("publishing on the active origin is Live and Recording; stopping afterwards is Ended; publishing again is Live", () => {
    const publishing = observation({ origins: [origin("primary", { publishing: true }), origin("backup", { publishing: true })] });
    const live = computeStatus(liveEvent(), publishing, T0);
    expect(live.phase).toBe("Live");
    expect(condition(live, "Publishing")).toMatchObject({ status: "True", reason: "Publishing" });
    expect(condition(live, "Recording")).toMatchObject({ status: "True", reason: "Recording" });

    const ended = computeStatus(liveEvent({}, live), observation(), T1);
    expect(ended.phase).toBe("Ended");
    expect(condition(ended, "Publishing")).toMatchObject({ status: "False", reason: "PublisherGone", lastTransitionTime: "2026-01-01T10:05:00Z" });
    // Ended is remembered through the condition, not lost on the next look.
    expect(computeStatus(liveEvent({}, ended), observation(), T1).phase).toBe("Ended");
    expect(computeStatus(liveEvent({}, ended), publishing, T1).phase).toBe("Live");
  });

  test("an origin on a cordoned Spot node degrades the event and the backup takes over", () => {
    const ready = computeStatus(liveEvent(), observation(), T0);
    const cordoned = observation({
      origins: [origin("primary", { nodeProblem: { reason: "NodeCordoned", message: "node spot-a is cordoned (being drained)" } }), origin("backup")],
    });
    const degraded = computeStatus(liveEvent({}, ready), cordoned, T1);
    expect(degraded.phase).toBe("Degraded");
    expect(degraded.activeOrigin).toBe("backup");
    expect(condition(degraded, "Degraded")).toMatchObject({
      status: "True",
      reason: "NodeCordoned",
      message: "primary origin: node spot-a is cordoned (being drained)",
      lastTransitionTime: "2026-01-01T10:05:00Z",
    });
    // Conditions whose status held keep their transition time.
    expect(condition(degraded, "EdgeReady")?.lastTransitionTime).toBe("2026-01-01T10:00:00Z");

    expect(statusTransitions(ready, degraded)).toEqual([
      { type: "Warning", reason: "FailedOver", message: "serving from the backup origin: primary origin: node spot-a is cordoned (being drained)" },
      { type: "Warning", reason: "Degraded", message: "phase Ready → Degraded: primary origin: node spot-a is cordoned (being drained)" },
    ]);
  });

  test("an origin lost after start-up (pod gone, no node problem) is Degraded, not Pending", () => {
    const ready = computeStatus(liveEvent(), observation(), T0);
    const lost = computeStatus(liveEvent({}, ready), observation({ origins: [origin("primary"), origin("backup", { ready: false, node: undefined })] }), T1);
    expect(lost.phase).toBe("Degraded");
    expect(lost.activeOrigin).toBe("primary");
    expect(condition(lost, "Degraded")).toMatchObject({ reason: "OriginNotReady" });
  });

  test("every edge pod gone after start-up is Degraded (EdgeNotReady), not Pending; so is a lost single origin", () => {
    const live = computeStatus(liveEvent(), observation({ origins: [origin("primary", { publishing: true }), origin("backup", { publishing: true })] }), T0);
    expect(live.phase).toBe("Live");
    const noEdge = computeStatus(liveEvent({}, live), observation({ edge: { readyReplicas: 0 }, origins: [origin("primary", { publishing: true }), origin("backup", { publishing: true })] }), T1);
    expect(noEdge.phase).toBe("Degraded");
    expect(condition(noEdge, "Degraded")).toMatchObject({ status: "True", reason: "EdgeNotReady" });
    const single = liveEvent({ origin: { redundancy: "single" } });
    const up = computeStatus(single, observation({ origins: [origin("primary", { publishing: true })] }), T0);
    const lost = computeStatus(liveEvent({ origin: { redundancy: "single" } }, up), observation({ origins: [origin("primary", { ready: false })] }), T1);
    expect(lost.phase).toBe("Degraded");
    expect(condition(lost, "Degraded")).toMatchObject({ status: "True", reason: "OriginNotReady" });
  });

  test("a healthy single origin is not Degraded, and a missing recording target is explained", () => {
    const event = liveEvent({ origin: { redundancy: "single" } });
    const status = computeStatus(event, observation({ origins: [origin("primary")], recording: "noTarget" }), T0);
    expect(status.phase).toBe("Ready");
    expect(condition(status, "Degraded")).toMatchObject({ status: "False", reason: "SingleOrigin" });
    expect(condition(status, "Recording")).toMatchObject({ status: "False", reason: "NoRecordingTarget" });
    expect(condition(status, "Recording")?.message).toContain("--ingest-bucket");
  });

  test("the same observation gives the same status: nothing to write in a steady state", () => {
    const first = computeStatus(liveEvent(), observation(), T0);
    const again = computeStatus(liveEvent({}, first), observation(), T1);
    expect(sameJson(again, first)).toBe(true);
    // The autoscaler adding edge pods is not a status change either.
    expect(sameJson(computeStatus(liveEvent({}, first), observation({ edge: { readyReplicas: 7 } }), T1), first)).toBe(true);
    expect(statusTransitions(first, again)).toEqual([]);
    // A new generation is a change (observedGeneration everywhere).
    expect(sameJson(computeStatus(liveEvent({}, first, 2), observation(), T1), first)).toBe(false);
  });
});

describe("sameJson", () => {
  test("ignores key order and undefined members, nothing else", () => {
    expect(sameJson({ a: 1, b: [1, { c: "x" }] }, { b: [1, { c: "x" }], a: 1, d: undefined })).toBe(true);
    expect(sameJson({ a: [1, 2] }, { a: [2, 1] })).toBe(false);
    expect(sameJson({ a: 1 }, { a: "1" })).toBe(false);
    expect(sameJson({ a: {} }, { a: [] })).toBe(false);
  });
});

describe("URLs", () => {
  const rtmp = (type: string, extra: Partial<V1Service> = {}): V1Service => ({
    spec: { type, ports: [{ name: "rtmp", port: 1935, nodePort: 31935 }] },
    ...extra,
  });
  const nodeWithAddress: V1Node = { metadata: { name: "spot-a" }, status: { addresses: [{ type: "InternalIP", address: "10.0.0.1" }] } };

  test("ingest: the load balancer once assigned, node address and port for NodePort, else the in-cluster name", () => {
    const lb = rtmp("LoadBalancer", { status: { loadBalancer: { ingress: [{ hostname: "nlb.example.com" }] } } });
    expect(ingestUrl(lb, nodeWithAddress, "svc.ns.svc.cluster.local", "demo")).toBe("rtmp://nlb.example.com:1935/live/demo");
    expect(ingestUrl(rtmp("LoadBalancer"), nodeWithAddress, "svc.ns.svc.cluster.local", "demo")).toBe("rtmp://svc.ns.svc.cluster.local:1935/live/demo");
    expect(ingestUrl(rtmp("NodePort"), nodeWithAddress, "svc.ns.svc.cluster.local", "demo")).toBe("rtmp://10.0.0.1:31935/live/demo");
    expect(ingestUrl(undefined, undefined, "svc.ns.svc.cluster.local", "demo")).toBe("rtmp://svc.ns.svc.cluster.local:1935/live/demo");
  });

  test("ingest with TLS: the RTMPS URL (port 443, or its node port), also when plain RTMP is kept beside it", () => {
    const ports = [{ name: "rtmp", port: 1935, nodePort: 31935 }, { name: "rtmps", port: 443, nodePort: 30443 }];
    const lb: V1Service = { spec: { type: "LoadBalancer", ports }, status: { loadBalancer: { ingress: [{ hostname: "nlb.example.com" }] } } };
    expect(ingestUrl(lb, nodeWithAddress, "svc.ns.svc.cluster.local", "demo")).toBe("rtmps://nlb.example.com:443/live/demo");
    expect(ingestUrl({ spec: { type: "NodePort", ports: ports.slice(1) } }, nodeWithAddress, "svc", "demo")).toBe("rtmps://10.0.0.1:30443/live/demo");
    expect(ingestUrl({ spec: { type: "LoadBalancer", ports } }, nodeWithAddress, "svc.ns.svc.cluster.local", "demo")).toBe("rtmps://svc.ns.svc.cluster.local:443/live/demo");
  });

  test("playback: the master playlist and the player through the edge", () => {
    expect(playbackUrls({ spec: { type: "ClusterIP" } }, "demo-edge.events.svc.cluster.local", "demo")).toEqual({
      masterPlaylistUrl: "http://demo-edge.events.svc.cluster.local/hls/demo/master.m3u8",
      playerUrl: "http://demo-edge.events.svc.cluster.local/player/?url=%2Fhls%2Fdemo%2Fmaster.m3u8",
    });
  });
});
