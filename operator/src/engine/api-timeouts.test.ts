/**
 * The operator's API calls against a real API server behind a TCP switch that freezes it
 * (connections accepted, nothing answered: a dropped route, a hung control plane): requests end
 * with an error at their deadline instead of waiting forever, and an informer whose watch went
 * silent resumes it and catches up once the server answers again.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { CoreV1Api, KubeConfig, type V1ConfigMap } from "@kubernetes/client-node";
import { createLogger } from "@live360/core";
import { kubeConfigFor, startCluster, startTcpSwitch, stopCluster, waitFor, type LocalCluster, type TcpSwitch } from "@live360/testkit";
import { withRequestTimeout } from "./client.js";
import { Informer, apiListWatch } from "./informer.js";

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
});
