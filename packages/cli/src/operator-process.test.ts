/**
 * `live360 operator` as real processes against a real control plane (test/cluster): flags checked
 * before anything connects, two replicas with one leader, failover when the leader is killed, and
 * a clean SIGTERM that hands the lease over at once.
 */
import { afterAll, afterEach, beforeAll, describe, expect, jest, test } from "@jest/globals";
import { fileURLToPath } from "node:url";
import { BatchV1Api, CoordinationV1Api, CustomObjectsApi, KubernetesObjectApi, type KubeConfig } from "@kubernetes/client-node";
import { OWNED_TYPES, liveEventResources, resolveOperatorConfig, type LiveEvent } from "@live360/operator";
import {
  createNamespace,
  freePort,
  getText,
  installCustomResourceDefinitions,
  kubeConfigFor,
  startCluster,
  startVolumeProvisioner,
  stopCluster,
  waitFor,
  type LocalCluster,
  type VolumeProvisioner,
} from "@live360/testkit";
import { killRunningClis, runCli, type CliProcess } from "./test-cli.js";

const CRDS_DIR = fileURLToPath(new URL("../../../crds/", import.meta.url));
const NAMESPACE = "leader-test";
const converge = { timeoutMs: 120_000, intervalMs: 200 };
// Each step waits on the cluster (up to `converge`), never on a fixed time.
jest.setTimeout(300_000);
const EVENTS = { group: "live360.io", version: "v1alpha1", namespace: NAMESPACE, plural: "liveevents" };

let cluster: LocalCluster;
let admin: KubeConfig;
let volumes: VolumeProvisioner;

beforeAll(async () => {
  cluster = await startCluster();
  admin = kubeConfigFor(cluster);
  await installCustomResourceDefinitions(admin, CRDS_DIR);
  await createNamespace(admin, NAMESPACE);
  // The origins' recordings volumes: their pods are scheduled only once the claims are bound.
  volumes = await startVolumeProvisioner(admin);
}, 60 * 60_000);

afterAll(async () => {
  await volumes?.stop();
  if (cluster) await stopCluster(cluster);
}, 120_000);

afterEach(killRunningClis);

interface Replica {
  identity: string;
  process: CliProcess;
  url: string;
}

async function replica(identity: string): Promise<Replica> {
  const port = await freePort();
  const proc = runCli([
    "operator",
    "--kubeconfig", cluster.kubeconfig,
    "--namespace", NAMESPACE,
    "--leader-elect", "--leader-election-namespace", NAMESPACE,
    // Leases short enough for the test's patience, long enough that a renewal slowed by a busy CI
    // machine (every suite shares 2 cores) does not cost the leader its lease: a leader that
    // loses it exits, and nothing restarts it here as a Deployment would.
    "--lease-duration", "10", "--renew-deadline", "8", "--retry-period", "1",
    "--identity", identity,
    "--metrics-port", String(port), "--bind", "127.0.0.1",
    "--rtmp-service-type", "NodePort",
    "--vod-egress-bucket", "egress",
  ]);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`${identity} to serve /healthz`, async () => (await getText(`${url}/healthz`)).status === 200, converge);
  return { identity, process: proc, url };
}

async function leaseHolder(): Promise<string | undefined> {
  try {
    const lease = await admin.makeApiClient(CoordinationV1Api).readNamespacedLease({ namespace: NAMESPACE, name: "live360-operator" });
    return lease.spec?.holderIdentity || undefined;
  } catch {
    return undefined;
  }
}

async function isLeading(r: Replica): Promise<boolean> {
  return /^live360_operator_leader 1$/m.test((await getText(`${r.url}/metrics`)).body);
}

function createEvent(name: string): Promise<unknown> {
  return admin.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
    ...EVENTS,
    body: { apiVersion: "live360.io/v1alpha1", kind: "LiveEvent", metadata: { name }, spec: { streamName: name, edge: { minReplicas: 1 } } },
  });
}

/** Waits until the leading replica has made the event Ready; returns the event. */
function readyEvent(name: string): Promise<LiveEvent> {
  return waitFor(`${name} to be Ready`, async () => {
    const event = (await admin.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({ ...EVENTS, name })) as LiveEvent;
    return event.status?.phase === "Ready" ? event : undefined;
  }, converge);
}

/** The event's children on the API server, as Kind/name. */
async function childrenOf(event: string): Promise<string[]> {
  const api = KubernetesObjectApi.makeApiClient(admin);
  const ids: string[] = [];
  // Every kind a LiveEvent owns, as the operator itself lists them.
  for (const { apiVersion, kind } of OWNED_TYPES) {
    const list = await api.list(apiVersion, kind, NAMESPACE, undefined, undefined, undefined, undefined, `live360.io/event=${event}`);
    ids.push(...list.items.map((item) => `${kind}/${item.metadata?.name}`));
  }
  return ids.sort();
}

describe("live360 operator process", () => {
  test("bad flags fail before connecting, naming the flag, the value and the fix", async () => {
    const bad = runCli(["operator", "--kubeconfig", cluster.kubeconfig, "--leader-elect", "--lease-duration", "5", "--renew-deadline", "8"]);
    expect((await bad.exited).code).toBe(2);
    expect(bad.output()).toContain("invalid configuration: renewDeadlineSeconds (--renew-deadline)=8: must be shorter than the lease duration (5 s)");

    const namespace = runCli(["operator", "--kubeconfig", cluster.kubeconfig, "--namespace", "Not_A_Namespace"]);
    expect((await namespace.exited).code).toBe(2);
    expect(namespace.output()).toContain('namespaces (--namespace)="Not_A_Namespace"');

    const vod = runCli(["operator", "--kubeconfig", cluster.kubeconfig, "--vod-visibility-timeout", "60", "--vod-heartbeat", "45"]);
    expect((await vod.exited).code).toBe(2);
    expect(vod.output()).toContain("invalid configuration: vod.heartbeatSeconds=45: use at most half of vod.visibilityTimeoutSeconds (30 s)");

    const kubeconfig = runCli(["operator", "--kubeconfig", "/nonexistent/kubeconfig"]);
    expect((await kubeconfig.exited).code).toBe(2);
    expect(kubeconfig.output()).toContain('kubeconfig (--kubeconfig)="/nonexistent/kubeconfig": give a readable kubeconfig file');
  });

  test("two replicas: one leads and reconciles; when it is killed the other takes over; SIGTERM releases the lease", async () => {
    const replicas = [await replica("operator-a"), await replica("operator-b")];
    await withReplicaLogs(replicas, () => electAndFailOver(replicas));
  });
});

/**
 * Runs `steps`; when one fails, the error carries each replica's exit status and last log lines
 * (a failure on a CI machine is otherwise a bare timeout).
 */
async function withReplicaLogs(replicas: Replica[], steps: () => Promise<void>): Promise<void> {
  try {
    await steps();
  } catch (error) {
    const logs = replicas.map((r) => {
      const status = r.process.child.exitCode ?? r.process.child.signalCode ?? "running";
      return `--- ${r.identity} (${status}), last lines:\n${r.process.output().split("\n").slice(-40).join("\n")}`;
    });
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${logs.join("\n")}`);
  }
}

async function electAndFailOver(replicas: Replica[]): Promise<void> {
  const holder = await waitFor("a leader", leaseHolder, converge);
  const leader = replicas.find((r) => r.identity === holder)!;
  const standby = replicas.find((r) => r.identity !== holder)!;
  await waitFor("the leader to report itself", () => isLeading(leader), converge);
  expect(await isLeading(standby)).toBe(false);
  expect((await getText(`${standby.url}/readyz`)).body).toBe("standby\n");

  await createEvent("first");
  await readyEvent("first");
  expect((await getText(`${leader.url}/readyz`)).body).toBe("leading\n");
  // The gauge reads the informer cache, which sees the Ready status a moment after the API does.
  const metrics = await waitFor("the Ready event in the leader's metrics", async () => {
    const body = (await getText(`${leader.url}/metrics`)).body;
    return /^live360_operator_live_events\{phase="Ready"\} 1$/m.test(body) ? body : undefined;
  }, converge);
  expect(metrics).toMatch(/^live360_operator_reconcile_total\{controller="liveevent",result="requeue"\} [1-9]/m);
  expect(metrics).toMatch(/^live360_operator_queue_depth\{controller="liveevent"\} \d+$/m);

  // Killed while it starts on a new event, as a Spot reclaim or an OOM kill would: no chance to
  // release the lease or to finish. The standby takes over and completes the event, without duplicates.
  await createEvent("second");
  leader.process.child.kill("SIGKILL");
  await waitFor("the standby to take the lease", async () => (await leaseHolder()) === standby.identity, converge);
  await waitFor("the new leader to report itself", () => isLeading(standby), converge);
  const second = await readyEvent("second");
  const expected = liveEventResources(second, resolveOperatorConfig({ rtmpServiceType: "NodePort" }));
  expect(await childrenOf("second")).toEqual(expected.map((o) => `${o.kind}/${o.metadata?.name}`).sort());

  // The same process runs the VodJob controller: a VodJob gets its worker Job.
  await admin.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
    ...EVENTS,
    plural: "vodjobs",
    body: { apiVersion: "live360.io/v1alpha1", kind: "VodJob", metadata: { name: "replay" }, spec: { source: "s3://ingest/recordings/second.mp4" } },
  });
  const job = await waitFor("the VodJob's worker Job", async () => {
    const jobs = await admin.makeApiClient(BatchV1Api).listNamespacedJob({ namespace: NAMESPACE });
    return jobs.items.find((j) => j.metadata?.ownerReferences?.some((o) => o.kind === "VodJob" && o.name === "replay"));
  }, converge);
  expect(job.spec?.template.spec?.containers[0]?.args).toContain("s3://ingest/recordings/second.mp4");

  standby.process.child.kill("SIGTERM");
  expect((await standby.process.exited).code).toBe(0);
  // Released, so a new replica need not wait for the lease to expire.
  expect(await leaseHolder()).toBeUndefined();
}

