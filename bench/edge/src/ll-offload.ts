/**
 * `make bench-ll-offload` (issue #15): how well the edge protects the origin from LL-HLS viewers.
 * Two real CMAF origins (primary and backup, fed by one encoder) behind a real edge; simulated
 * LL-HLS viewers (ll-viewers.ts: blocking reloads for the hinted part, delta updates, every
 * part fetched) through the edge (with its LL-HLS relay), through an edge collapsing with
 * nginx's cache lock alone, and straight to the primary. Reported: the viewers' requests and
 * failures, how long after the first viewer the others had each part, the origins' requests
 * (their own counters) per part per variant, and the CPU of the origins and of the edge.
 *
 * Env: BENCH_VIEWERS (1000), BENCH_SECONDS (60) per run, BENCH_JOIN_SECONDS (10) over which the
 * viewers join, BENCH_PART_TARGET (0.33), BENCH_LADDER (`source,320x160:200k`).
 * Writes bench/results/ll-offload.{md,json}.
 */
import { spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ProcessTreeSampler } from "@live360/bench/dist/proc-tree.js";
import { parseMasterPlaylist } from "@live360/bench/dist/playlists.js";
import { Cleanup, httpGet, loopbackEdge, makeTestClip, originRequestCount, startFedOriginPair, tempDir, waitFor, type OriginProcess } from "@live360/testkit";
import { envNumber } from "./env.js";
import { runLlViewerLoad, type LlViewerLoadResult } from "./ll-viewers.js";

// BENCH_RESULTS_DIR keeps a smoke run from overwriting the recorded results.
const RESULTS_DIR = process.env.BENCH_RESULTS_DIR ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../results");
const STREAM = "test";

interface OffloadRun extends LlViewerLoadResult {
  path: string;
  originRequests: number;
  originRequestsByKind: OriginRequests;
  /** Origin requests ÷ (parts produced × variants): what one part of one variant cost the origins. */
  originRequestsPerPartPerVariant: number;
  originCpuSeconds: number;
  edgeCpuSeconds: number | undefined;
  clientCpuSeconds: number;
}

const KINDS = ["playlist", "segment", "master", "other"] as const;
type OriginRequests = Record<(typeof KINDS)[number], number>;

/** Requests both origins answered so far, by kind (parts, segments and inits are `segment`). */
async function originRequests(origins: readonly OriginProcess[]): Promise<OriginRequests> {
  const counts = await Promise.all(KINDS.map(async (kind) => (await Promise.all(origins.map((o) => originRequestCount(o.http, { kind })))).reduce((a, b) => a + b, 0)));
  return Object.fromEntries(KINDS.map((kind, i) => [kind, counts[i]!])) as OriginRequests;
}

async function cpuOf(pids: readonly number[], run: () => Promise<LlViewerLoadResult>): Promise<{ result: LlViewerLoadResult; cpuSeconds: number[]; clientCpuSeconds: number }> {
  const samplers = await Promise.all(pids.map((pid) => ProcessTreeSampler.create(pid)));
  for (const sampler of samplers) {
    sampler.start(500);
    await sampler.markBaseline();
  }
  const client = process.cpuUsage();
  const result = await run();
  const used = process.cpuUsage(client);
  const cpu = await Promise.all(samplers.map((s) => s.stop()));
  return { result, cpuSeconds: cpu.map((c) => c.cpuSeconds), clientCpuSeconds: (used.user + used.system) / 1e6 };
}

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../packages/cli/dist/main.js");

async function startEdgeProcess(dir: string, origins: readonly string[], relay: boolean, cleanup: Cleanup): Promise<{ url: string; pid: number }> {
  const local = await loopbackEdge(dir);
  const args = [
    CLI, "edge",
    ...origins.flatMap((o) => ["--origin", o]),
    "--bind", local.listenAddress, "--listen", String(local.listenPort), "--status-port", String(local.statusPort), "--metrics-port", String(local.metricsPort),
    "--work-dir", dir, "--cache-dir", local.cache.dir, "--access-log", "off", "--drain-delay", "0", "--shutdown-grace", "5",
    ...(relay ? ["--ll-hls-relay-port", String(local.llHlsRelayPort)] : []),
  ];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "inherit"] });
  cleanup.add(child, (c) => new Promise((resolve) => (c.exitCode !== null ? resolve(undefined) : (c.once("close", resolve), c.kill("SIGTERM")))));
  const url = `http://127.0.0.1:${local.listenPort}`;
  await waitFor("the edge", async () => (await httpGet(`${url}/healthz`).catch(() => undefined))?.status === 200, { timeoutMs: 30_000, intervalMs: 200 });
  return { url, pid: child.pid! };
}

async function main(): Promise<void> {
  const viewers = envNumber("BENCH_VIEWERS", 1000);
  const seconds = envNumber("BENCH_SECONDS", 60);
  const joinSeconds = envNumber("BENCH_JOIN_SECONDS", 10);
  const partTarget = envNumber("BENCH_PART_TARGET", 0.33);
  const ladder = process.env.BENCH_LADDER ?? "source,320x160:200k";
  const cleanup = new Cleanup();
  try {
    const dir = await tempDir("bench-ll-offload");
    const clip = await makeTestClip(dir, { seconds: 4, gopSeconds: 1, fps: 25 });
    const { primary, backup } = await startFedOriginPair({
      dir,
      clip,
      stream: STREAM,
      cleanup,
      args: ["--hls-format", "cmaf", "--low-latency", "--part-target", String(partTarget), "--ladder", ladder],
      ready: async (origin) => (await httpGet(`${origin.http}/hls/${STREAM}/master.m3u8`)).status === 200,
    });
    // `live360 edge` as its own process (so its CPU is its own): with its LL-HLS relay, and
    // without it (nginx's cache lock alone).
    const edge = await startEdgeProcess(path.join(dir, "edge"), [primary.http, backup.http], true, cleanup);
    const lockOnlyEdge = await startEdgeProcess(path.join(dir, "edge-lock-only"), [primary.http, backup.http], false, cleanup);
    const variants = parseMasterPlaylist((await httpGet(`${primary.http}/hls/${STREAM}/master.m3u8`)).body.toString());
    const origins = [primary, backup];
    const runs: OffloadRun[] = [];
    const paths = [
      ["through the edge", edge],
      ["through the edge, nginx's cache lock alone", lockOnlyEdge],
      ["straight to the origin", undefined],
    ] as const;
    for (const [name, through] of paths) {
      const base = through?.url ?? primary.http;
      const before = await originRequests(origins);
      const pids = [primary.process.pid, backup.process.pid, ...(through ? [through.pid] : [])];
      const { result, cpuSeconds, clientCpuSeconds } = await cpuOf(pids, () =>
        runLlViewerLoad({ playlistUrls: variants.map((v) => new URL(v, `${base}/hls/${STREAM}/master.m3u8`).href), viewers, durationMs: seconds * 1000, joinSpreadMs: joinSeconds * 1000 }),
      );
      const after = await originRequests(origins);
      const byKind = Object.fromEntries(KINDS.map((kind) => [kind, after[kind] - before[kind]])) as OriginRequests;
      const total = KINDS.reduce((sum, kind) => sum + byKind[kind], 0);
      const parts = result.partsPerVariant.reduce((a, b) => a + b, 0);
      runs.push({
        ...result,
        path: name,
        originRequests: total,
        originRequestsByKind: byKind,
        originRequestsPerPartPerVariant: total / Math.max(1, parts),
        originCpuSeconds: (cpuSeconds[0] ?? 0) + (cpuSeconds[1] ?? 0),
        edgeCpuSeconds: cpuSeconds[2],
        clientCpuSeconds,
      });
      console.log(`${name}: ${JSON.stringify(runs.at(-1))}`);
    }
    const report = [
      "# LL-HLS origin offload (`make bench-ll-offload`)",
      "",
      `${new Date().toISOString()}: ${viewers} simulated LL-HLS viewers (blocking reloads for the hinted part with delta updates, every part fetched; joining over ${joinSeconds} s, spread over ${variants.length} variants of ladder \`${ladder}\`), ${seconds} s per run, parts of ${partTarget} s; two CMAF origins fed by one encoder, one edge; ${os.cpus().length} cores shared by everything, the viewers in one Node process.`,
      "",
      "| viewers go | playlist requests | part requests | failed | parts produced (all variants) | distinct blocking reloads | a part after the first viewer's: p50 / p95 | origin requests: playlists + parts/inits + other | per part per variant | origin CPU | edge CPU | viewers' CPU |",
      "|---|---|---|---|---|---|---|---|---|---|---|---|",
      ...runs.map((r) => {
        const k = r.originRequestsByKind;
        const parts = r.partsPerVariant.reduce((a, b) => a + b, 0);
        return `| ${r.path} | ${r.playlistRequests} | ${r.partRequests} | ${r.errors} | ${parts} | ${r.distinctReloadsPerVariant.reduce((a, b) => a + b, 0)} | ${r.partLagP50Ms} / ${r.partLagP95Ms} ms | ${k.playlist} + ${k.segment} + ${k.master + k.other} = ${r.originRequests} | **${r.originRequestsPerPartPerVariant.toFixed(2)}** | ${r.originCpuSeconds.toFixed(1)} s | ${r.edgeCpuSeconds === undefined ? "—" : `${r.edgeCpuSeconds.toFixed(1)} s`} | ${r.clientCpuSeconds.toFixed(1)} s |`;
      }),
      "",
      "Through the edge, its LL-HLS relay answers concurrent misses together (edge CPU: nginx and the relay); nginx's cache lock alone lets its waiters look again only every 500 ms.",
      "",
      `Parts produced: the distinct parts the viewers fetched (a part lasts ${partTarget} s). Origin requests: every request both origins answered during the run, including the viewers' first plain playlist loads and init segments as they joined.`,
      "",
    ].join("\n");
    await mkdir(RESULTS_DIR, { recursive: true });
    await writeFile(path.join(RESULTS_DIR, "ll-offload.md"), report);
    await writeFile(path.join(RESULTS_DIR, "ll-offload.json"), JSON.stringify({ at: new Date().toISOString(), viewers, seconds, partTarget, ladder, runs }, null, 2) + "\n");
    console.log(report);
  } finally {
    await cleanup.run();
  }
}

await main();
