import { afterAll, beforeAll, describe, expect, jest, test } from "@jest/globals";
import {
  AppsV1Api,
  AutoscalingV2Api,
  CoreV1Api,
  CustomObjectsApi,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
  KubeConfig,
  type ApiException,
  type KubernetesObject,
  type V1Pod,
} from "@kubernetes/client-node";
import { createLogger, formatLadder } from "@live360/core";
import {
  createNamespace,
  installCustomResourceDefinitions,
  isWatchRequest,
  kubeConfigFor,
  startApiProxy,
  startCluster,
  startTcpSwitch,
  startVolumeProvisioner,
  stopCluster,
  waitFor,
  type ApiProxy,
  type LocalCluster,
  type TcpSwitch,
  type VolumeProvisioner,
} from "@live360/testkit";
import { CRDS_DIR } from "../api/crd.js";
import { API_VERSION, GROUP, LADDER_PRESETS, VERSION, type LiveEvent, type LiveEventSpecInput } from "../api/v1alpha1/index.js";
import { resolveOperatorConfig } from "../config.js";
import { FIELD_MANAGER, withRequestTimeout } from "../engine/client.js";
import { Manager } from "../manager.js";
import { operatorControllers } from "../operator.js";
import { resolveOperatorRunConfig } from "../run-config.js";
import { EVENT_LABEL, ORIGIN_ROLE_LABEL } from "./names.js";
import { LIVE_EVENT_FINALIZER, OWNED_TYPES, type FetchOriginStat } from "./reconcile.js";
import { liveEventResources } from "./resources.js";

/**
 * The LiveEvent controller against a real control plane (test/cluster: kube-apiserver, controller
 * manager, scheduler, etcd; kwok plays the kubelets of two Spot nodes and one on-demand node). The
 * operator runs in-process behind a recording proxy, so the tests see every request it sends.
 * No origin really runs on kwok nodes: the origins' /stat is fed by the test.
 */

// The first run builds Kubernetes (minutes); later starts take seconds.
const START_TIMEOUT_MS = 60 * 60_000;
const converge = { timeoutMs: Number(process.env.LIVE360_CONVERGE_MS ?? 120_000), intervalMs: 200 };
// Each step waits on the cluster (up to `converge`), never on a fixed time.
jest.setTimeout(300_000);
const NAMESPACE = "events";

let cluster: LocalCluster;
let admin: KubeConfig;
let proxy: ApiProxy;
let manager: Manager;
let volumes: VolumeProvisioner;
/** `<namespace>/<event>/<role>` of the origins whose /stat says the stream is live. */
const live = new Set<string>();
const fetchStat: FetchOriginStat = async ({ event, role }) => ({
  streams: live.has(`${event.metadata.namespace}/${event.metadata.name}/${role}`) ? [{ stream: event.spec.streamName, state: "live" }] : [],
});
const config = resolveOperatorConfig({ rtmpServiceType: "NodePort" });
const logger = createLogger("operator-test", { sink: process.env.LIVE360_TEST_LOGS ? undefined : () => {} });

async function startManager(kubeConfig = proxy.kubeConfig): Promise<Manager> {
  const run = resolveOperatorRunConfig({ statPollIntervalSeconds: 1, metricsPort: 0, identity: "in-process" });
  const started = new Manager({
    kubeConfig,
    namespaces: [],
    identity: run.identity,
    leaderElection: undefined,
    httpPort: 0,
    bindAddress: "127.0.0.1",
    logger,
    controllers: operatorControllers({ kubeConfig, run, config, logger, fetchStat }),
  });
  await started.start();
  try {
    await waitFor("the operator's caches to sync", async () => (await fetch(`http://127.0.0.1:${started.port}/readyz`)).status === 200, converge);
  } catch (error) {
    await started.stop();
    throw error;
  }
  return started;
}

const objects = () => admin.makeApiClient(CustomObjectsApi);
const ref = (name: string) => ({ group: GROUP, version: VERSION, namespace: NAMESPACE, plural: "liveevents", name });

function createEvent(name: string, spec: LiveEventSpecInput): Promise<unknown> {
  return objects().createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: NAMESPACE,
    plural: "liveevents",
    body: { apiVersion: API_VERSION, kind: "LiveEvent", metadata: { name }, spec },
  });
}

async function getEvent(name: string): Promise<LiveEvent> {
  return (await objects().getNamespacedCustomObject(ref(name))) as LiveEvent;
}

function patchSpec(name: string, spec: unknown): Promise<unknown> {
  return objects().patchNamespacedCustomObject({ ...ref(name), body: { spec } }, setHeaderOptions("Content-Type", PatchStrategy.MergePatch));
}

/** The API server's refusal (status code and message) of a write that must fail. */
async function refusal(write: Promise<unknown>): Promise<{ code: number; message: string }> {
  const error = await write.then(
    () => undefined,
    (e: unknown) => e as ApiException<string>,
  );
  if (!error) throw new Error("the API server accepted a write that should have been refused");
  return { code: error.code, message: (JSON.parse(error.body) as { message: string }).message };
}

/** Every child of the event, from the API server (not the operator's caches), as Kind/name. */
async function childrenOf(event: string): Promise<KubernetesObject[]> {
  const api = KubernetesObjectApi.makeApiClient(admin);
  const children: KubernetesObject[] = [];
  for (const type of OWNED_TYPES) {
    const list = await api.list(type.apiVersion, type.kind, NAMESPACE, undefined, undefined, undefined, undefined, `${EVENT_LABEL}=${event}`);
    children.push(...list.items.map((item) => ({ ...item, kind: type.kind })));
  }
  return children;
}
const ids = (list: KubernetesObject[]) => list.map((o) => `${o.kind}/${o.metadata?.name}`).sort();

async function originPod(event: string, role: "primary" | "backup"): Promise<V1Pod | undefined> {
  const pods = await admin.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: NAMESPACE, labelSelector: `${EVENT_LABEL}=${event},${ORIGIN_ROLE_LABEL}=${role}` });
  return pods.items.find((pod) => !pod.metadata?.deletionTimestamp && pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"));
}

async function eventReasons(name: string): Promise<string[]> {
  const events = await admin.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: NAMESPACE, fieldSelector: `involvedObject.name=${name},involvedObject.kind=LiveEvent` });
  return events.items.map((e) => e.reason ?? "");
}

async function reconcileCount(result?: "error"): Promise<number> {
  const metric = await manager.registry.getSingleMetric("live360_operator_reconcile_total")?.get();
  return (metric?.values ?? [])
    .filter((v) => v.labels.controller === "liveevent" && (result === undefined || v.labels.result === result))
    .reduce((sum, v) => sum + v.value, 0);
}

const DEMO: LiveEventSpecInput = {
  streamName: "demo",
  ladder: { renditions: [{ passthrough: true }, { width: 1920, height: 960, videoBitrateKbps: 5000 }] },
  edge: { minReplicas: 2, maxReplicas: 20 },
  testSource: { enabled: true },
};

beforeAll(async () => {
  cluster = await startCluster();
  admin = kubeConfigFor(cluster);
  await installCustomResourceDefinitions(admin, CRDS_DIR);
  await createNamespace(admin, NAMESPACE);
  // The origins' recordings volumes: their pods start only once the claims are bound.
  volumes = await startVolumeProvisioner(admin);
  proxy = await startApiProxy(admin);
  manager = await startManager();
}, START_TIMEOUT_MS);

afterAll(async () => {
  await manager?.stop();
  await proxy?.close();
  await volumes?.stop();
  if (cluster) await stopCluster(cluster);
}, 120_000);

describe("LiveEvent CRD validation (the API server applies the generated schema)", () => {
  test("refuses a bad stream name, maxReplicas below minReplicas and an unknown projection, naming the field", async () => {
    const badName = await refusal(createEvent("bad-stream", { streamName: "Not_OK" }));
    expect(badName.code).toBe(422);
    expect(badName.message).toMatch(/spec\.streamName.*should match/);

    const replicas = await refusal(createEvent("bad-replicas", { streamName: "x", edge: { minReplicas: 5, maxReplicas: 2 } }));
    expect(replicas.code).toBe(422);
    expect(replicas.message).toContain("spec.edge.maxReplicas");
    expect(replicas.message).toContain("edge.maxReplicas must be at least edge.minReplicas");

    const projection = await refusal(createEvent("bad-projection", { streamName: "x", projection: "fisheye" as never }));
    expect(projection.code).toBe(422);
    expect(projection.message).toMatch(/spec\.projection: Unsupported value: "fisheye": supported values: "equirectangular", "cubemap", "flat"/);

    const longName = await refusal(createEvent("a".repeat(40), { streamName: "x" }));
    expect(longName.message).toContain("use at most 36 lowercase letters");

    const openAndKeyed = await refusal(createEvent("open-keyed", { streamName: "x", publishing: { open: true }, publishKeySecretRef: { name: "keys" } }));
    expect(openAndKeyed.code).toBe(422);
    expect(openAndKeyed.message).toContain("spec.publishing.open");
    expect(openAndKeyed.message).toContain("publishing.open lets anyone publish without a key, and publishKeySecretRef requires one: remove one of them");

    const unsignedKeys = await refusal(createEvent("unsigned-keys", { streamName: "x", hls: { encryption: { secretRef: { name: "hls" } } } }));
    expect(unsignedKeys.code).toBe(422);
    expect(unsignedKeys.message).toContain("spec.hls.encryption");
    expect(unsignedKeys.message).toContain("hls.encryption needs playback.signing");

    const cmafEncrypted = await refusal(
      createEvent("cmaf-encrypted", { streamName: "x", hls: { format: "cmaf", encryption: { secretRef: { name: "hls" } } }, playback: { signing: { secretRef: { name: "sign" } } } }),
    );
    expect(cmafEncrypted.code).toBe(422);
    expect(cmafEncrypted.message).toContain("spec.hls.format");
    expect(cmafEncrypted.message).toContain("hls.encryption covers format ts only so far");

    const longParts = await refusal(createEvent("cmaf-long-parts", { streamName: "x", hls: { format: "cmaf", lowLatency: true, partTargetMs: 600 } }));
    expect(longParts.code).toBe(422);
    expect(longParts.message).toContain("spec.hls.partTargetMs");
    expect(longParts.message).toContain("at most half a segment (500 with lowLatency's 1-second segments, else 1000)");

    // The spec's floor: PART-HOLD-BACK at least two part targets.
    const shortHoldBack = await refusal(createEvent("cmaf-hold-back", { streamName: "x", hls: { format: "cmaf", partHoldBackParts: 1 } }));
    expect(shortHoldBack.code).toBe(422);
    expect(shortHoldBack.message).toMatch(/spec\.hls\.partHoldBackParts: Invalid value: 1: spec\.hls\.partHoldBackParts in body should be greater than or equal to 2/);

    const format = await refusal(createEvent("bad-format", { streamName: "x", hls: { format: "dash" as never } }));
    expect(format.message).toMatch(/spec\.hls\.format: Unsupported value: "dash": supported values: "ts", "cmaf"/);
  });

  test("refuses changing an immutable field with the reason and the fix", async () => {
    await createEvent("immutable", { streamName: "first", edge: { minReplicas: 1 } });
    const change = await refusal(patchSpec("immutable", { streamName: "second" }));
    expect(change.code).toBe(422);
    expect(change.message).toContain("streamName is immutable: encoders and players already use it; create a new LiveEvent for a new stream");
    // Defaulted at creation, so set even though the event never mentioned it.
    const volume = await refusal(patchSpec("immutable", { recording: { volume: { size: "40Gi" } } }));
    expect(volume.message).toContain("spec.recording.volume");
    expect(volume.message).toContain("recording.volume is immutable: a StatefulSet's volume claims cannot change; create a new LiveEvent");
    // Other fields stay editable.
    await patchSpec("immutable", { edge: { maxReplicas: 3 } });
  });
});

describe("LiveEvent reconciliation", () => {
  test("a LiveEvent yields exactly the desired children, owned by it and applied by live360-operator, and its status fills in", async () => {
    await createEvent("demo", DEMO);
    const ready = await waitFor("demo to be Ready", async () => {
      const event = await getEvent("demo");
      return event.status?.phase === "Ready" && event.status.observedGeneration === 1 ? event : undefined;
    }, converge);

    const children = await childrenOf("demo");
    expect(ids(children)).toEqual(ids(liveEventResources(ready, config)));
    expect(ids(children)).toContain("Deployment/demo-test-source");
    for (const child of children) {
      expect(child.metadata?.ownerReferences).toEqual([
        { apiVersion: API_VERSION, kind: "LiveEvent", name: "demo", uid: ready.metadata.uid, controller: true, blockOwnerDeletion: true },
      ]);
      expect(child.metadata?.managedFields?.some((f) => f.manager === FIELD_MANAGER && f.operation === "Apply")).toBe(true);
    }
    expect(ready.metadata.finalizers).toEqual([LIVE_EVENT_FINALIZER]);
    // Each origin's recordings volume is bound before its pod could become ready.
    const claims = await admin.makeApiClient(CoreV1Api).listNamespacedPersistentVolumeClaim({ namespace: NAMESPACE, labelSelector: `${EVENT_LABEL}=demo` });
    expect(claims.items.map((c) => `${c.metadata?.name}:${c.status?.phase}`).sort()).toEqual([
      "recordings-demo-origin-backup-0:Bound",
      "recordings-demo-origin-primary-0:Bound",
    ]);

    const status = ready.status!;
    expect(status.activeOrigin).toBe("primary");
    expect(status.ingest?.primary).toMatch(/^rtmp:\/\/[^/]+:\d+\/live\/demo$/);
    expect(status.ingest?.backup).toMatch(/^rtmp:\/\/[^/]+:\d+\/live\/demo$/);
    expect(status.playback).toEqual({
      masterPlaylistUrl: "http://demo-edge.events.svc.cluster.local/hls/demo/master.m3u8",
      playerUrl: "http://demo-edge.events.svc.cluster.local/player/?url=%2Fhls%2Fdemo%2Fmaster.m3u8",
    });
    expect(Object.fromEntries((status.conditions ?? []).map((c) => [c.type, `${c.status}/${c.reason}`]))).toEqual({
      OriginsReady: "True/OriginsReady",
      EdgeReady: "True/EdgeReady",
      Publishing: "False/NoPublisher",
      Recording: "False/NoRecordingTarget",
      Degraded: "False/Redundant",
    });
    // Events are written in the background: never in a reconcile's way.
    await waitFor("the Ready event", async () => (await eventReasons("demo")).includes("Ready"), converge);

    // No key named, and the ingest reachable from outside: a key was generated, once, and only the
    // Secret holds it; the status and the event say where it is.
    expect(status.ingest?.publishKeySecret).toBe("demo-publish-key/keys");
    const secret = await admin.makeApiClient(CoreV1Api).readNamespacedSecret({ namespace: NAMESPACE, name: "demo-publish-key" });
    const line = Buffer.from(secret.data?.keys ?? "", "base64").toString();
    expect(line).toMatch(/^demo=[A-Za-z0-9_-]{32}\n$/);
    const key = line.trim().split("=")[1]!;
    expect(secret.metadata?.ownerReferences?.[0]).toMatchObject({ kind: "LiveEvent", name: "demo", uid: ready.metadata.uid });
    const events = await admin.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: NAMESPACE, fieldSelector: "involvedObject.name=demo,involvedObject.kind=LiveEvent" });
    expect(events.items.map((e) => e.reason)).toContain("PublishKeyGenerated");
    expect(JSON.stringify([events.items, ready, children])).not.toContain(key);

    // An encoder starts publishing to the primary: the next /stat poll makes the event Live.
    live.add(`${NAMESPACE}/demo/primary`);
    const liveEvent = await waitFor("demo to be Live", async () => ((await getEvent("demo")).status?.phase === "Live" ? getEvent("demo") : undefined), converge);
    expect(liveEvent.status?.conditions?.find((c) => c.type === "Publishing")).toMatchObject({ status: "True", reason: "Publishing" });
  });

  test("editing the spec updates the children and prunes the ones no longer wanted", async () => {
    const pendingBefore = (await eventReasons("demo")).filter((r) => r === "Pending").length;
    await patchSpec("demo", { ladder: { preset: "mobile", renditions: null }, edge: { maxReplicas: 30 }, testSource: { enabled: false } });
    // The new ladder rolls the origins one at a time; the event is Live again once both are back.
    const edited = await waitFor("generation 2 to be observed and Live", async () => {
      const event = await getEvent("demo");
      return event.status?.observedGeneration === 2 && event.status.phase === "Live" ? event : undefined;
    }, converge);

    await waitFor("the test source to be pruned", async () => !ids(await childrenOf("demo")).includes("Deployment/demo-test-source"), converge);
    expect(ids(await childrenOf("demo"))).toEqual(ids(liveEventResources(edited, config)));
    const hpa = await admin.makeApiClient(AutoscalingV2Api).readNamespacedHorizontalPodAutoscaler({ namespace: NAMESPACE, name: "demo-edge" });
    expect(hpa.spec?.maxReplicas).toBe(30);
    for (const role of ["backup", "primary"]) {
      await waitFor(`the ${role} origin to run the new ladder`, async () => {
        const origin = await admin.makeApiClient(AppsV1Api).readNamespacedStatefulSet({ namespace: NAMESPACE, name: `demo-origin-${role}` });
        const args = origin.spec?.template.spec?.containers[0]?.args ?? [];
        const { status } = origin;
        const rolledOut = status?.observedGeneration === origin.metadata?.generation && status?.updateRevision === status?.currentRevision && status?.readyReplicas === 1;
        return args[args.indexOf("--ladder") + 1] === formatLadder(LADDER_PRESETS.mobile) && rolledOut;
      }, converge);
    }
    await waitFor("demo to be Live again with both origins updated", async () => (await getEvent("demo")).status?.phase === "Live", converge);
    // The new ladder restarts the origins: the backup first, the primary once the backup is back.
    await waitFor("the RollingOrigins event", async () => (await eventReasons("demo")).includes("RollingOrigins"), converge);
    // Never both at once: the event was not without a usable origin at any point of the rollout.
    expect((await eventReasons("demo")).filter((r) => r === "Pending").length).toBe(pendingBefore);
  });

  test("a child edited by someone else (kubectl edit of the edge image, the autoscaler's maxReplicas) is reverted at once, not at the next spec change", async () => {
    const apps = admin.makeApiClient(AppsV1Api);
    const autoscaling = admin.makeApiClient(AutoscalingV2Api);
    const edge = () => apps.readNamespacedDeployment({ namespace: NAMESPACE, name: "demo-edge" });
    const before = await edge();
    const container = before.spec?.template.spec?.containers[0];
    const maxReplicas = (await getEvent("demo")).spec.edge.maxReplicas;
    proxy.requests.length = 0;

    // What `kubectl edit` and a stray script send: updates under field managers other than the operator's.
    await apps.patchNamespacedDeployment(
      { namespace: NAMESPACE, name: "demo-edge", fieldManager: "kubectl-edit", body: { spec: { template: { spec: { containers: [{ name: container?.name, image: "nginx:drifted" }] } } } } },
      setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch),
    );
    await autoscaling.patchNamespacedHorizontalPodAutoscaler(
      { namespace: NAMESPACE, name: "demo-edge", fieldManager: "someone-else", body: { spec: { maxReplicas: 3 } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    await waitFor("the edge image to be reverted", async () => (await edge()).spec?.template.spec?.containers[0]?.image === container?.image, converge);
    await waitFor("maxReplicas to be reverted", async () => {
      const hpa = await autoscaling.readNamespacedHorizontalPodAutoscaler({ namespace: NAMESPACE, name: "demo-edge" });
      return hpa.spec?.maxReplicas === maxReplicas;
    }, converge);
    await waitFor("the DriftReverted event", async () => (await eventReasons("demo")).includes("DriftReverted"), converge);

    // The operator wrote the two edited children back and nothing else of the event's.
    const childWrites = new Set(
      proxy.requests.filter((r) => r.method !== "GET" && /\/(deployments|statefulsets|services|configmaps|horizontalpodautoscalers|poddisruptionbudgets)\//.test(r.url)).map((r) => `${r.method} ${r.url.split("?")[0]}`),
    );
    expect([...childWrites].sort()).toEqual([
      `PATCH /apis/apps/v1/namespaces/${NAMESPACE}/deployments/demo-edge`,
      `PATCH /apis/autoscaling/v2/namespaces/${NAMESPACE}/horizontalpodautoscalers/demo-edge`,
    ]);
    // The reverted fields are the operator's again, so the next reconciles find nothing to do (the next test counts them).
    const reverted = await edge();
    const ours = reverted.metadata?.managedFields?.find((f) => f.manager === FIELD_MANAGER && f.operation === "Apply");
    expect(JSON.stringify(ours?.fieldsV1)).toContain('"f:image"');
    await waitFor("the edge to roll back out", async () => {
      const { metadata, spec, status } = await edge();
      return status?.observedGeneration === metadata?.generation && status?.updatedReplicas === spec?.replicas && status?.readyReplicas === spec?.replicas && status?.replicas === spec?.replicas;
    }, converge);
    await waitFor("demo to be Live", async () => (await getEvent("demo")).status?.phase === "Live", converge);
  });

  test("a converged event costs no API writes and no reads beyond the watches, also after an operator restart", async () => {
    await manager.stop();
    proxy.requests.length = 0;
    manager = await startManager();
    const sinceSync = proxy.requests.length;
    const before = await reconcileCount();
    // Each event is looked at again every second (its /stat poll): wait for several full rounds.
    await waitFor("several reconciles of every event", async () => (await reconcileCount()) >= before + 10, converge);

    const writes = proxy.requests.filter((r) => r.method !== "GET");
    expect(writes).toEqual([]);
    expect(proxy.requests.slice(sinceSync).filter((r) => !isWatchRequest(r))).toEqual([]);
    expect((await getEvent("demo")).status?.phase).toBe("Live");
  });

  test("a Spot node being reclaimed degrades the event, fails over to the backup and records it; the origin moves to another node; the encoder stopping ends the event", async () => {
    const core = admin.makeApiClient(CoreV1Api);
    const primaryPod = await originPod("demo", "primary");
    const backupPod = await originPod("demo", "backup");
    const reclaimed = primaryPod?.spec?.nodeName ?? "";
    expect(reclaimed).not.toBe("");
    expect(backupPod?.spec?.nodeName).not.toBe(reclaimed);
    const node = await core.readNode({ name: reclaimed });
    try {
      // What the AWS Node Termination Handler does on a Spot interruption notice: taint, cordon.
      await core.patchNode(
        {
          name: reclaimed,
          body: { spec: { unschedulable: true, taints: [...(node.spec?.taints ?? []), { key: "aws-node-termination-handler/spot-itn", value: "true", effect: "NoSchedule" }] } },
        },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
      const degraded = await waitFor("demo to be Degraded", async () => {
        const event = await getEvent("demo");
        return event.status?.phase === "Degraded" ? event : undefined;
      }, converge);
      expect(degraded.status?.activeOrigin).toBe("backup");
      expect(degraded.status?.conditions?.find((c) => c.type === "Degraded")).toMatchObject({
        status: "True",
        reason: "NodeTerminating",
        message: `primary origin: node ${reclaimed} is being reclaimed (taint aws-node-termination-handler/spot-itn)`,
      });
      await waitFor("the FailedOver and Degraded events", async () => {
        const reasons = await eventReasons("demo");
        return reasons.includes("FailedOver") && reasons.includes("Degraded");
      }, converge);

      // The drain evicts the origin; the StatefulSet brings it back on a node that is neither the
      // reclaimed one nor the backup's (anti-affinity), and the event recovers.
      await core.deleteNamespacedPod({ namespace: NAMESPACE, name: primaryPod?.metadata?.name ?? "" });
      const moved = await waitFor("the primary origin to run elsewhere", async () => {
        const pod = await originPod("demo", "primary");
        return pod && pod.metadata?.uid !== primaryPod?.metadata?.uid ? pod : undefined;
      }, converge);
      expect(moved.spec?.nodeName).not.toBe(reclaimed);
      expect(moved.spec?.nodeName).not.toBe(backupPod?.spec?.nodeName);
      const recovered = await waitFor("demo to be Live again", async () => {
        const event = await getEvent("demo");
        return event.status?.phase === "Live" ? event : undefined;
      }, converge);
      expect(recovered.status?.activeOrigin).toBe("primary");
      await waitFor("the FailedBack event", async () => (await eventReasons("demo")).includes("FailedBack"), converge);

      // The encoder stops: the event has Ended (not merely Ready), and says so.
      live.delete(`${NAMESPACE}/demo/primary`);
      const ended = await waitFor("demo to have Ended", async () => {
        const event = await getEvent("demo");
        return event.status?.phase === "Ended" ? event : undefined;
      }, converge);
      expect(ended.status?.conditions?.find((c) => c.type === "Publishing")).toMatchObject({ status: "False", reason: "PublisherGone" });
      await waitFor("the Ended event", async () => (await eventReasons("demo")).includes("Ended"), converge);
    } finally {
      await core.patchNode(
        { name: reclaimed, body: { spec: { unschedulable: null, taints: node.spec?.taints ?? null } } },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
    }
  });

  test("deleting the event stops its origins first, then everything it owns is gone", async () => {
    await objects().deleteNamespacedCustomObject(ref("demo"));
    await waitFor("the LiveEvent to be gone", async () => {
      try {
        await getEvent("demo");
        return false;
      } catch (error) {
        return (error as ApiException<string>).code === 404;
      }
    }, converge);
    await waitFor("every child to be garbage-collected", async () => (await childrenOf("demo")).length === 0, converge);
    await waitFor("the Ending event", async () => (await eventReasons("demo")).includes("Ending"), converge);
  });
});

describe("LiveEvent reconciliation behind an API server that stops answering", () => {
  let apiSwitch: TcpSwitch | undefined;

  afterAll(async () => {
    await apiSwitch?.close();
  });

  test("reconciles that hit the frozen server end at their deadline and are retried; what changed meanwhile is reconciled once it answers", async () => {
    // The operator of the tests above, now talking through a switch, with a 2 s request deadline.
    await manager.stop();
    const target = new URL(proxy.kubeConfig.getCurrentCluster()!.server);
    apiSwitch = await startTcpSwitch({ host: target.hostname, port: Number(target.port) });
    const switched = new KubeConfig();
    switched.loadFromString(proxy.kubeConfig.exportConfig());
    const current = switched.getCurrentCluster()!;
    switched.clusters = switched.clusters.map((c) => (c.name === current.name ? { ...c, server: `${target.protocol}//${target.hostname}:${apiSwitch!.port}` } : c));
    manager = await startManager(withRequestTimeout(switched, 2000));

    const spec = (stream: string): LiveEventSpecInput => ({ streamName: stream, ladder: DEMO.ladder, edge: { minReplicas: 1, maxReplicas: 3 } });
    await createEvent("steady", spec("steady"));
    await waitFor("steady to be Ready", async () => (await getEvent("steady")).status?.phase === "Ready", converge);

    apiSwitch.freeze();
    const errorsBefore = await reconcileCount("error");
    // Seen by the operator while frozen (its /stat poll needs no API server): the status write hangs.
    live.add(`${NAMESPACE}/steady/primary`);
    // Not seen until the server answers: its watches are silent.
    await createEvent("made-while-frozen", spec("frozen"));
    await patchSpec("steady", { edge: { maxReplicas: 7 } });
    // Without request deadlines the first write would wait for as long as the freeze lasts.
    await waitFor("a reconcile to fail at its deadline", async () => (await reconcileCount("error")) > errorsBefore, converge);
    await waitFor("the failed reconcile to be retried and fail again", async () => (await reconcileCount("error")) > errorsBefore + 1, converge);
    apiSwitch.setUp(true);

    await waitFor("steady to be Live", async () => (await getEvent("steady")).status?.phase === "Live", converge);
    await waitFor("steady's edge autoscaler to follow the edit", async () => {
      const hpa = await admin.makeApiClient(AutoscalingV2Api).readNamespacedHorizontalPodAutoscaler({ namespace: NAMESPACE, name: "steady-edge" });
      return hpa.spec?.maxReplicas === 7;
    }, converge);
    const made = await waitFor("the event made during the freeze to be Ready", async () => {
      const event = await getEvent("made-while-frozen");
      return event.status?.phase === "Ready" ? event : undefined;
    }, converge);
    expect(ids(await childrenOf("made-while-frozen"))).toEqual(ids(liveEventResources(made, config)));
  });
});
