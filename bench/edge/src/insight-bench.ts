/**
 * `make bench-viewers` (issue #16): what the viewer-insight layer costs the edge. N simulated live
 * viewers (default 1000) follow one stream through `live360 edge` for D seconds, twice, on the same
 * origin stand-in: once as the project's player behaves with analytics on (CMCD on every request,
 * a beacon every 10 s with a view sample a second) against an edge with `--insight-port`, and once
 * without either. The edge runs as its own process tree (Node + nginx), pinned to one core with
 * the load generator on the other, so its CPU seconds are its own. The two runs alternate
 * BENCH_ROUNDS times in ABBA order (on, off, off, on…), so that what the machine does meanwhile and
 * a run's place in the sequence weigh on both alike. The cost is the mean CPU seconds with insight
 * minus those without, as a share of one core (the "≤ 5 % CPU") and of the bare edge's
 * own. After every insight run the aggregates are checked against what the viewers reported: the viewer count, the startup histogram's count, the
 * played time, and the heatmap's hot cell.
 *
 * Env: BENCH_VIEWERS (1000), BENCH_SECONDS (60), BENCH_ROUNDS (2), BENCH_RESULTS_DIR (bench/results):
 * viewers.{json,md}.
 */
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { renderMasterPlaylist } from "@live360/core";
import { Cleanup, HlsStandIn, freePort, httpGet, startLiveHlsWriter, startProcess, tempDir, waitFor } from "@live360/testkit";
import { envNumber } from "./env.js";
import { runViewerLoad, type ViewerLoadResult } from "./viewers.js";
import { pinProcessTree, processCpuSeconds, processTreeCpuSeconds } from "./wrk.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const CLI = path.resolve(here, "../../../packages/cli/dist/main.js");
const RESULTS_DIR = process.env.BENCH_RESULTS_DIR ?? path.resolve(here, "../../results");
const STREAM = "test";
const BEACON_INTERVAL_MS = 10_000;
/** The insight server reads a second's spool file two seconds after it (spool.ts): the last lines' time to arrive. */
const SETTLE_MS = 3500;
/** Three viewers in five look at the stage (yaw 40°, pitch 10°: cell row 8, column 22); the rest look around. */
const HOT: readonly [number, number] = [42, 12];
const lookOf = (viewer: number): readonly [number, number] => (viewer % 5 < 3 ? HOT : [((viewer * 37) % 360) - 180 + 0.5, ((viewer * 11) % 160) - 80 + 0.5]);
const HOT_CELL = { row: Math.floor((90 - HOT[1]) / 10), column: Math.floor((HOT[0] + 180) / 10) };


interface RunResult {
  insight: boolean;
  edgeCpuSeconds: number;
  /** Of which the edge's Node process (the insight server with --insight-port): the rest is nginx. */
  nodeCpuSeconds: number;
  /** The edge's Node process (the insight server with --insight-port) at the end, MiB. */
  nodeRssMiB: number;
  load: ViewerLoadResult;
}

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

async function run(origin: HlsStandIn, viewers: number, seconds: number, insight: boolean, checks: (edgeUrl: string, metricsUrl: string, load: ViewerLoadResult) => Promise<void>): Promise<RunResult> {
  const cleanup = new Cleanup();
  try {
    const work = await tempDir(`bench-viewers-${insight ? "on" : "off"}`);
    const [listen, status, metrics, insightPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const edge = startProcess(process.execPath, [
      CLI, "edge", "--origin", origin.url, "--bind", "127.0.0.1", "--listen", String(listen), "--status-port", String(status),
      "--metrics-port", String(metrics), "--work-dir", work, "--cache-dir", path.join(work, "cache"), "--access-log", "off",
      ...(insight ? ["--insight-port", String(insightPort)] : []),
    ]);
    cleanup.add(edge, (p) => p.stop());
    const edgeUrl = `http://127.0.0.1:${listen}`;
    await waitFor("the edge", async () => (await httpGet(`${edgeUrl}/healthz`).catch(() => undefined))?.status === 200, { timeoutMs: 30_000 });
    await pinProcessTree(edge.pid, 1);
    await pinProcessTree(process.pid, 0);
    const before = await processTreeCpuSeconds(edge.pid);
    const nodeBefore = await processCpuSeconds(edge.pid);
    const load = await runViewerLoad({
      playlistUrl: `${edgeUrl}/hls/${STREAM}/source/index.m3u8`,
      viewers,
      durationMs: seconds * 1000,
      joinSpreadMs: 5000,
      ...(insight ? { insight: { stream: STREAM, beaconUrl: `${edgeUrl}/insight/beacon`, beaconIntervalMs: BEACON_INTERVAL_MS, lookOf } } : {}),
    });
    // Both runs wait alike, so the CPU counted includes the insight server folding the last lines.
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    const edgeCpuSeconds = (await processTreeCpuSeconds(edge.pid)) - before;
    const nodeCpuSeconds = (await processCpuSeconds(edge.pid)) - nodeBefore;
    const nodeRssMiB = await rssMiB(edge.pid);
    await checks(edgeUrl, `http://127.0.0.1:${metrics}/metrics`, load);
    // The per-viewer timelines are for the failover benchmark; here only the totals are reported.
    return { insight, edgeCpuSeconds, nodeCpuSeconds, nodeRssMiB, load: { ...load, timelines: [] } };
  } finally {
    await cleanup.run();
  }
}

function metricValue(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function main(): Promise<void> {
  const viewers = envNumber("BENCH_VIEWERS", 1000, true);
  const seconds = envNumber("BENCH_SECONDS", 60, true);
  const rounds = envNumber("BENCH_ROUNDS", 2, true);
  const cleanup = new Cleanup();
  try {
    const root = await tempDir("bench-viewers-origin");
    const variant = path.join(root, STREAM, "source");
    await mkdir(variant, { recursive: true });
    await writeFile(path.join(root, STREAM, "master.m3u8"), renderMasterPlaylist([{ uri: "source/index.m3u8", bandwidth: 500_000, averageBandwidth: 450_000, width: 640, height: 320, frameRate: 25, codecs: ["avc1.42C01E", "mp4a.40.2"] }]));
    const writer = cleanup.add(await startLiveHlsWriter({ dir: variant, segmentSeconds: 2, listSize: 6 }), (w) => w.stop());
    await writer.waitForSegments(3);
    const origin = cleanup.add(await HlsStandIn.start({ root, port: await freePort() }), (o) => o.kill());

    const checked: Record<string, { expected: number; got: number | undefined }>[] = [];
    const check = async (edgeUrl: string, metricsUrl: string, load: ViewerLoadResult): Promise<void> => {
      const text = (await httpGet(metricsUrl)).body.toString();
      const heatmap = JSON.parse((await httpGet(`${edgeUrl}/hls/${STREAM}/heatmap.json`)).body.toString()) as { columns: number; samples: number; cells: number[] };
      const hot = heatmap.cells.indexOf(Math.max(...heatmap.cells));
      checked.push({
        viewers: { expected: viewers, got: metricValue(text, `live360_edge_viewers{stream="${STREAM}"}`) },
        "startup histogram count": { expected: viewers, got: metricValue(text, `live360_edge_viewer_startup_seconds_count{stream="${STREAM}"}`) },
        "beacons (rebuffer-ratio count)": { expected: load.beaconsAccepted, got: metricValue(text, `live360_edge_viewer_rebuffer_ratio_count{stream="${STREAM}"}`) },
        "played seconds": { expected: load.beaconPlayedMs / 1000, got: metricValue(text, `live360_edge_viewer_played_seconds_total{stream="${STREAM}"}`) },
        "heatmap samples": { expected: load.viewSamples, got: heatmap.samples },
        "hot cell (row × 36 + column)": { expected: HOT_CELL.row * heatmap.columns + HOT_CELL.column, got: hot },
        "rejected CMCD or beacons": {
          expected: 0,
          got: text
            .split("\n")
            .filter((line) => line.startsWith("live360_edge_insight_rejected_total{"))
            .reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0),
        },
      });
    };
    const runs: RunResult[] = [];
    // ABBA: on, off, then off, on…: a run's place in the sequence (measured to weigh up to 0.6
    // CPU-s here) falls on both alike.
    for (let round = 0; round < rounds; round += 1) {
      for (const insight of round % 2 === 0 ? [true, false] : [false, true]) {
        runs.push(await run(origin, viewers, seconds, insight, insight ? check : async () => undefined));
      }
    }
    const mean = (insight: boolean, of: (r: RunResult) => number) => {
      const these = runs.filter((r) => r.insight === insight);
      return these.reduce((sum, r) => sum + of(r), 0) / these.length;
    };
    const cpuOn = mean(true, (r) => r.edgeCpuSeconds);
    const cpuOff = mean(false, (r) => r.edgeCpuSeconds);
    // The target, "≤ 5 % CPU" for the insight layer against the same load without it: the
    // share of one core it adds. Its share of the bare edge's own CPU is reported beside it.
    const addedCorePercent = ((cpuOn - cpuOff) / seconds) * 100;
    const overheadPercent = ((cpuOn - cpuOff) / cpuOff) * 100;
    const addedRssMiB = mean(true, (r) => r.nodeRssMiB) - mean(false, (r) => r.nodeRssMiB);
    const report = { viewers, seconds, rounds, runs, addedCorePercent, overheadPercent, addedRssMiB, checked, at: new Date().toISOString() };
    await mkdir(RESULTS_DIR, { recursive: true });
    await writeFile(path.join(RESULTS_DIR, "viewers.json"), `${JSON.stringify(report, null, 2)}\n`);
    const rows = runs.map(
      (r) =>
        `| ${r.insight ? "CMCD + beacons, --insight-port" : "no analytics, no insight"} | ${r.edgeCpuSeconds.toFixed(1)} | ${r.nodeCpuSeconds.toFixed(1)} | ${((r.edgeCpuSeconds / seconds) * 100).toFixed(1)} % | ${r.nodeRssMiB.toFixed(0)} | ${r.load.playlistRequests + r.load.segmentRequests} | ${r.load.errors} | ${r.load.beaconsAccepted} |`,
    );
    const md = [
      `# Viewer insight: the edge's cost (make bench-viewers)`,
      ``,
      `${viewers} simulated live viewers for ${seconds} s through \`live360 edge\` (nginx + its Node process, pinned to one core), 2-s segments from an origin stand-in, ${rounds} rounds alternating; ${new Date().toISOString().slice(0, 10)}.`,
      ``,
      `| run | edge CPU s | of which Node | of one core | Node RSS MiB | requests | errors | beacons accepted |`,
      `|---|---|---|---|---|---|---|---|`,
      ...rows,
      ``,
      `Insight cost, means over all rounds: **+${addedCorePercent.toFixed(1)} % of one core** (${(cpuOn - cpuOff).toFixed(1)} CPU-s in ${seconds} s for ${viewers} viewers; target ≤ 5 % CPU), ` +
        `which is +${overheadPercent.toFixed(0)} % on the bare edge's own ${((cpuOff / seconds) * 100).toFixed(1)} %; Node RSS +${addedRssMiB.toFixed(0)} MiB.`,
      ``,
      `| check | expected | measured (each insight run) |`,
      `|---|---|---|`,
      ...Object.entries(checked[0] ?? {}).map(([name, { expected }]) => `| ${name} | ${expected} | ${checked.map((c) => c[name]?.got ?? "missing").join(" / ")} |`),
      ``,
    ].join("\n");
    await writeFile(path.join(RESULTS_DIR, "viewers.md"), md);
    process.stdout.write(`${md}\n`);
    const mismatches = checked.flatMap((c) => Object.entries(c)).filter(([, { expected, got }]) => got === undefined || Math.abs(got - expected) > 1e-6);
    if (mismatches.length > 0) throw new Error(`aggregates differ from what the viewers reported: ${mismatches.map(([name]) => name).join(", ")}`);
  } finally {
    await cleanup.run();
  }
}

await main();
