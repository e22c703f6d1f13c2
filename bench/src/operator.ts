/**
 * The operator benchmark (issue 6): BENCH_EVENTS (200) LiveEvents created at once against the local
 * control plane (kube-apiserver, controller manager, scheduler, etcd; kwok makes the pods Running
 * and Ready). Measures the time from each event's creation until its status says Ready (p50/p99),
 * the operator's RSS, the API requests it sent to converge (through a recording proxy, watches
 * counted apart), and the requests it sends per minute at steady state over BENCH_STEADY_SECONDS
 * (60; target: no writes, reads only from the informer caches). No origin runs on kwok nodes: the
 * origins' /stat is "unknown", so events stop at Ready (not Live), as they would before anyone publishes.
 *
 * The operator runs in this process: its RSS includes this small harness (a few MiB).
 */
import { mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { CustomObjectsApi } from "@kubernetes/client-node";
import { createLogger } from "@live360/core";
import { API_VERSION, GROUP, Manager, VERSION, operatorControllers, resolveOperatorConfig, resolveOperatorRunConfig, type LiveEvent } from "@live360/operator";
import {
  createNamespace,
  installCustomResourceDefinitions,
  isWatchRequest,
  kubeConfigFor,
  startApiProxy,
  startCluster,
  startVolumeProvisioner,
  stopCluster,
  waitFor,
  type RecordedRequest,
} from "@live360/testkit";
import { percentile } from "./analysis.js";

const EVENTS = Number(process.env.BENCH_EVENTS ?? 200);
const STEADY_SECONDS = Number(process.env.BENCH_STEADY_SECONDS ?? 60);
const CONVERGE_TIMEOUT_MS = Number(process.env.BENCH_TIMEOUT_SECONDS ?? 1200) * 1000;
const NAMESPACE = "bench";
const BENCH_DIR = fileURLToPath(new URL("../", import.meta.url));
const RESULTS_DIR = path.join(BENCH_DIR, "results");
const CRDS_DIR = fileURLToPath(new URL("../../crds/", import.meta.url));

const log = (message: string) => process.stderr.write(`[bench-operator] ${message}\n`);
const round = (value: number, digits = 2) => Number(value.toFixed(digits));
const MiB = (bytes: number) => round(bytes / 2 ** 20, 0);

/** Reads, writes and watches among recorded requests. */
function tally(requests: readonly RecordedRequest[]) {
  const watches = requests.filter(isWatchRequest).length;
  const reads = requests.filter((r) => r.method === "GET" && !isWatchRequest(r)).length;
  return { total: requests.length, reads, watches, writes: requests.length - reads - watches };
}

async function main(): Promise<void> {
  const loadAverage1m = os.loadavg()[0]!;
  log(`${EVENTS} LiveEvents; 1-minute load ${loadAverage1m.toFixed(2)}`);
  // Default LiveEvents request 2 CPUs per origin: 200 events need ~1000 CPUs, more than the three
  // kwok nodes' default 256 each (a first run left 116 origins unschedulable). kwok nodes cost nothing.
  process.env.LIVE360_NODE_CPU ??= String(Math.max(256, EVENTS * 8));
  process.env.LIVE360_NODE_PODS ??= String(Math.max(1000, EVENTS * 8));
  const cluster = await startCluster();
  const admin = kubeConfigFor(cluster);
  const proxy = await startApiProxy(admin);
  // Origins wait for their recordings volumes, as on a real cluster.
  const volumes = await startVolumeProvisioner(admin);
  let manager: Manager | undefined;
  let peakRss = 0;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 500);
  try {
    await installCustomResourceDefinitions(admin, CRDS_DIR);
    await createNamespace(admin, NAMESPACE);
    const logger = createLogger("operator-bench", { level: "error" });
    const run = resolveOperatorRunConfig({ metricsPort: 0, identity: "bench" });
    const config = resolveOperatorConfig({ rtmpServiceType: "NodePort" });
    manager = new Manager({
      kubeConfig: proxy.kubeConfig,
      namespaces: [],
      identity: run.identity,
      leaderElection: undefined,
      httpPort: 0,
      bindAddress: "127.0.0.1",
      logger,
      controllers: operatorControllers({ kubeConfig: proxy.kubeConfig, run, config, logger, fetchStat: async () => undefined }),
    });
    await manager.start();
    const port = manager.port;
    await waitFor("the operator's caches to sync", async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, { timeoutMs: 120_000, intervalMs: 200 });
    const rssIdle = process.memoryUsage().rss;
    proxy.requests.length = 0;

    const api = admin.makeApiClient(CustomObjectsApi);
    const names = Array.from({ length: EVENTS }, (_, i) => `event-${String(i).padStart(3, "0")}`);
    const createdAt = new Map<string, number>();
    const readyAt = new Map<string, number>();
    const start = performance.now();
    await Promise.all(
      names.map(async (name) => {
        await api.createNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace: NAMESPACE,
          plural: "liveevents",
          body: { apiVersion: API_VERSION, kind: "LiveEvent", metadata: { name }, spec: { streamName: name } },
        });
        createdAt.set(name, performance.now());
      }),
    );
    log(`created ${EVENTS} events in ${((performance.now() - start) / 1000).toFixed(1)} s`);
    // The harness polls with its own client (not through the proxy): only the operator's requests are counted.
    await waitFor(
      `all ${EVENTS} LiveEvents Ready`,
      async () => {
        const list = (await api.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NAMESPACE, plural: "liveevents" })) as { items: LiveEvent[] };
        const now = performance.now();
        for (const event of list.items) {
          const name = event.metadata.name!;
          if (!readyAt.has(name) && event.status?.phase === "Ready") readyAt.set(name, now);
        }
        return readyAt.size === EVENTS;
      },
      { timeoutMs: CONVERGE_TIMEOUT_MS, intervalMs: 500 },
    );
    const allReadySeconds = (performance.now() - start) / 1000;
    const converge = tally(proxy.requests);
    const rssConverged = process.memoryUsage().rss;
    log(`all Ready after ${allReadySeconds.toFixed(1)} s; ${converge.total} requests (${converge.writes} writes)`);

    // Steady state: let in-flight work settle one stat-poll period, then count.
    await new Promise((resolve) => setTimeout(resolve, run.statPollIntervalSeconds * 1000));
    proxy.requests.length = 0;
    await new Promise((resolve) => setTimeout(resolve, STEADY_SECONDS * 1000));
    const steady = tally(proxy.requests);
    const writeUrls = [...new Set(proxy.requests.filter((r) => r.method !== "GET").map((r) => `${r.method} ${r.url.split("?")[0]}`))].slice(0, 10);

    const latencies = names.map((name) => (readyAt.get(name)! - createdAt.get(name)!) / 1000);
    const perMinute = (count: number) => round((count * 60) / STEADY_SECONDS, 1);
    const report = {
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? "?", loadAverage1m: round(loadAverage1m), node: process.version },
      events: EVENTS,
      workers: run.workers,
      statPollIntervalSeconds: run.statPollIntervalSeconds,
      timeToReady: { p50: round(percentile(latencies, 50)), p99: round(percentile(latencies, 99)), max: round(Math.max(...latencies)), allReadySeconds: round(allReadySeconds) },
      rssMiB: { idle: MiB(rssIdle), converged: MiB(rssConverged), peak: MiB(peakRss) },
      convergeRequests: { ...converge, perEvent: round(converge.total / EVENTS), writesPerEvent: round(converge.writes / EVENTS), readsPerEvent: round(converge.reads / EVENTS) },
      steadyState: { seconds: STEADY_SECONDS, readsPerMinute: perMinute(steady.reads), writesPerMinute: perMinute(steady.writes), watchesOpened: steady.watches, writeSamples: writeUrls },
    };
    const text = [
      `# Operator benchmark (${report.date})`,
      "",
      `${EVENTS} LiveEvents created at once on the local control plane (kwok nodes), in-process operator with ${run.workers} workers; machine: ${report.machine.cpus} × ${report.machine.cpuModel}, 1-minute load ${report.machine.loadAverage1m} at start.`,
      "",
      "| measure | value |",
      "| --- | --- |",
      `| time to Ready p50 / p99 / max (s) | ${report.timeToReady.p50} / ${report.timeToReady.p99} / ${report.timeToReady.max} |`,
      `| all ${EVENTS} Ready after (s) | ${report.timeToReady.allReadySeconds} |`,
      `| operator RSS idle / converged / peak (MiB) | ${report.rssMiB.idle} / ${report.rssMiB.converged} / ${report.rssMiB.peak} |`,
      `| API requests per event to converge (reads / writes) | ${report.convergeRequests.perEvent} (${report.convergeRequests.readsPerEvent} / ${report.convergeRequests.writesPerEvent}) |`,
      `| steady state, ${STEADY_SECONDS} s: reads / writes per minute | ${report.steadyState.readsPerMinute} / ${report.steadyState.writesPerMinute} |`,
      `| steady state: watches (re)opened | ${report.steadyState.watchesOpened} |`,
      "",
    ].join("\n");
    await mkdir(RESULTS_DIR, { recursive: true });
    await writeFile(path.join(RESULTS_DIR, "operator.json"), JSON.stringify(report, null, 2) + "\n");
    await writeFile(path.join(RESULTS_DIR, "operator.md"), text);
    process.stdout.write(text);
  } finally {
    clearInterval(sampler);
    await manager?.stop();
    await proxy.close();
    await volumes.stop();
    await stopCluster(cluster);
  }
}

await main();
