/**
 * The operator's API calls against a real API server behind a TCP switch that freezes it
 * (connections accepted, nothing answered: a dropped route, a hung control plane): requests end
 * with an error at their deadline instead of waiting forever, an informer whose watch went
 * silent resumes it and catches up once the server answers again, and a leader that cannot renew
 * steps down with nothing left in flight. (Reconciles behind a frozen server: liveevent/reconcile.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { CoordinationV1Api, CoreV1Api, KubeConfig, type V1ConfigMap } from "@kubernetes/client-node";
import { createLogger } from "@live360/core";
import { kubeConfigFor, startCluster, startTcpSwitch, stopCluster, waitFor, type LocalCluster, type TcpSwitch } from "@live360/testkit";
import { withRequestTimeout } from "./client.js";
import { Informer, apiListWatch } from "./informer.js";
import { LeaderElector, apiLeaseStore, type LeaseStore } from "./leader-election.js";

const NS = "default";
const quiet = createLogger("api-timeouts", { level: "error" });

describe("API calls to a frozen API server", () => {
  let cluster: LocalCluster;
  let apiSwitch: TcpSwitch;
  let direct: KubeConfig;
  /** The same credentials, through the switch. */
  let switched: () => KubeConfig;

  beforeAll(async () => {
    cluster = await startCluster();
    direct = kubeConfigFor(cluster);
    const server = new URL(cluster.server);
    apiSwitch = await startTcpSwitch({ host: server.hostname, port: Number(server.port) });
    switched = () => {
      const config = kubeConfigFor(cluster);
      const current = config.getCurrentCluster()!;
      config.clusters = config.clusters.map((c) => (c.name === current.name ? { ...c, server: `https://${server.hostname}:${apiSwitch.port}` } : c));
      return config;
    };
  }, 300_000);

  afterAll(async () => {
    await apiSwitch?.close();
    if (cluster) await stopCluster(cluster);
  }, 120_000);

  test("a request ends at its deadline while the server is frozen, and works again after", async () => {
    const core = withRequestTimeout(switched(), 1500).makeApiClient(CoreV1Api);
    await core.listNamespace();
    apiSwitch.freeze();
    const started = Date.now();
    try {
      await expect(core.listNamespace()).rejects.toThrow();
      // Without the deadline this waited as long as the freeze lasted.
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      apiSwitch.setUp(true);
    }
    expect((await core.listNamespace()).items.some((n) => n.metadata?.name === NS)).toBe(true);
  }, 60_000);

  test("an informer whose watch went silent (its connection stranded) resumes it and sees what changed meanwhile", async () => {
    const informer = new Informer<V1ConfigMap>(apiListWatch(withRequestTimeout(switched(), 1500), { apiVersion: "v1", kind: "ConfigMap", plural: "configmaps", namespaced: true }, { namespace: NS }), {
      name: "configmaps",
      logger: quiet,
      retry: { initialMs: 200, maxMs: 1000 },
      watchIdleMs: 2000,
    });
    informer.start();
    try {
      await informer.waitForSync();
      // Seen through the watch: its connection is open.
      const configMaps = direct.makeApiClient(CoreV1Api);
      await configMaps.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: "made-while-watched" }, data: { a: "1" } } });
      await waitFor("the informer to see the first ConfigMap", () => informer.get(`${NS}/made-while-watched`) !== undefined, { timeoutMs: 10_000, intervalMs: 50 });
      // The watch's connection is stranded (never closed, never delivers); new ones work.
      apiSwitch.strandOpenConnections();
      await configMaps.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: "made-while-stranded" }, data: { a: "1" } } });
      // Without the idle limit the informer waited on the stranded watch for good.
      await waitFor("the informer to see the ConfigMap", () => informer.get(`${NS}/made-while-stranded`) !== undefined, { timeoutMs: 20_000, intervalMs: 100 });
    } finally {
      await informer.stop();
    }
  }, 60_000);

  test("a leader cut off from the server steps down within its renew deadline with no renewal in flight; the other replica takes over and keeps the lease when the stalled renewal arrives", async () => {
    const timing = { leaseDurationMs: 6000, renewDeadlineMs: 4000, retryPeriodMs: 1000 };
    const leaseName = "cut-off-leader";
    let inFlight = 0;
    const counted = <T>(request: Promise<T>): Promise<T> => {
      inFlight += 1;
      return request.finally(() => (inFlight -= 1));
    };
    // The client's own deadline (30 s) is far beyond the renew deadline: only the elector's abort ends the request in time.
    const cutOff = apiLeaseStore(withRequestTimeout(switched()), NS, leaseName);
    const countedStore: LeaseStore = {
      get: (signal) => counted(cutOff.get(signal)),
      create: (record, signal) => counted(cutOff.create(record, signal)),
      update: (record, version, signal) => counted(cutOff.update(record, version, signal)),
    };
    const candidate = (identity: string, store: LeaseStore) => {
      const state = { leading: false, stoppedAt: 0 };
      const elector = new LeaderElector({
        identity,
        store,
        logger: quiet,
        ...timing,
        onStartedLeading: () => (state.leading = true),
        onStoppedLeading: () => {
          state.leading = false;
          state.stoppedAt = Date.now();
        },
      });
      const stop = new AbortController();
      return { state, stop, done: elector.run(stop.signal) };
    };
    const first = candidate("cut-off", countedStore);
    await waitFor("the first candidate to lead", () => first.state.leading, { timeoutMs: 20_000, intervalMs: 50 });
    const second = candidate("reachable", apiLeaseStore(withRequestTimeout(kubeConfigFor(cluster)), NS, leaseName));
    try {
      apiSwitch.freeze();
      const frozenAt = Date.now();
      await waitFor("the cut-off leader to step down", () => first.state.stoppedAt > 0, { timeoutMs: 20_000, intervalMs: 20 });
      // It renewed at most one retry period before the freeze, and gives up a renew deadline after that.
      expect(first.state.stoppedAt - frozenAt).toBeLessThanOrEqual(timing.renewDeadlineMs + timing.retryPeriodMs);
      // Aborted, not merely abandoned: a request left running could renew the lease after the step-down.
      await waitFor("no lease request in flight", () => inFlight === 0, { timeoutMs: 1000, intervalMs: 10 });
      await first.done;

      await waitFor("the other replica to lead", () => second.state.leading, { timeoutMs: 20_000, intervalMs: 50 });
      // The route recovers and the renewal stalled on it reaches the server late: it carries the
      // resourceVersion its sender last saw, so it cannot take the lease back.
      apiSwitch.thaw();
      await new Promise((resolve) => setTimeout(resolve, 2 * timing.retryPeriodMs));
      const lease = await direct.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: leaseName, namespace: NS });
      expect(lease.spec?.holderIdentity).toBe("reachable");
      expect(second.state.leading).toBe(true);
    } finally {
      apiSwitch.setUp(true);
      second.stop.abort();
      first.stop.abort();
      await Promise.all([first.done, second.done]);
    }
  }, 90_000);
});
