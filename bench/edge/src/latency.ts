/**
 * `make bench-latency` (issue #15): glass-to-glass latency in a real player, every system side by
 * side in one run, fed by one encoder at once (glass.ts: each frame carries the time it was handed
 * to the encoder). In one headless Chromium page, one `<video>` per system played by the same
 * hls.js (the player's pinned version, low-latency mode); each presented frame is drawn into a
 * canvas and its stamp read back: latency = now − stamp. Each player catches up to its target
 * latency as the project's player does in low-latency mode (player/src/live-catch-up.ts, up to
 * 1.25×), so where a player happened to start does not decide the result.
 *
 * Systems: live360 LL-HLS (CMAF, 1 s segments, 0.33 s parts) through the edge (with its LL-HLS
 * relay, as the operator runs a CMAF event's edge) and straight from the origin; live360 classic
 * TS with 1 s and 2 s segments; MediaMTX's LL-HLS (1 s segments, 200 ms parts, its documented
 * low-latency setting) — all with the source passed through (no ladder), so the packagers and
 * caches are compared, not x264. Each player's stalls are counted and described: one costs
 * hls.js a second of target latency for the rest of the session.
 *
 * Beside the latency, the CPU of the LL-HLS origin and of the 1 s TS origin over the measured
 * window (same source, same pass-through ladder): the cost of cutting parts in Node; then, with
 * everything else stopped, the same two with a transcoding ladder.
 *
 * Env: BENCH_SECONDS (60) measured after BENCH_WARMUP_SECONDS (15) of playback;
 * BENCH_PART_TARGET (0.33) live360's part target in seconds, BENCH_PART_HOLD_BACK (3) its
 * PART-HOLD-BACK in parts; BENCH_LADDER (`source`) the origins'
 * ladder during the latency run (pass-through: the packagers are compared, not x264);
 * BENCH_FULL_LADDER (`source,480x240:500k,320x160:250k`) the ladder of a second phase measuring
 * the origins' CPU alone, LL-HLS against TS 1 s (the issue's "same ladder" comparison).
 * Writes bench/results/latency.{md,json,svg}.
 */
import { mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createLogger } from "@live360/core";
import { resolveEdgeConfig, runEdge } from "@live360/edge";
import { Cleanup, freePort, getText, loopbackEdge, startOriginProcess, tempDir, waitFor } from "@live360/testkit";
import { percentile } from "@live360/bench/dist/analysis.js";
import { envNumber, llHlsBenchSettings } from "./env.js";
import { startMediaMtx } from "./mediamtx.js";
import { compareOriginCpu, fullLadderCpu } from "./origin-cpu.js";
import { glassPageHelpers, openGlassPage, startGlassSource } from "./glass.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const RESULTS_DIR = path.join(ROOT, "bench/results");
const STREAM = "test";
const logger = createLogger("bench-latency", { level: "warn" });

interface System {
  name: string;
  url: string;
  /**
   * Whole segments hls.js stays behind the live edge, for TS (as the player's low-latency mode
   * does); undefined for LL-HLS, where hls.js plays the playlist's PART-HOLD-BACK behind it.
   */
  liveSyncDurationCount?: number;
}

export interface LatencyResult {
  name: string;
  samples: number;
  p50Ms: number;
  p95Ms: number;
  minMs: number;
  maxMs: number;
  /** hls.js's target latency at the end, and the median of its own latency measure (behind the playlist's live edge). */
  playerTargetMs: number;
  playerLatencyP50Ms: number;
  /** hls.js's stalls from the page's start (atMs since then), in warm-up and measurement alike. */
  stalls: Stall[];
}

/** What the player had when hls.js reported a stall. */
interface Stall {
  atMs: number;
  measuring: boolean;
  targetMs: number;
  latencyMs: number;
  playlistAgeMs?: number;
  /** The playlist's last part as `<segment>.<part>`. */
  lastPart?: string;
  currentTime: number;
  bufferedEnd?: number;
  /** hls.js's log lines of the second before the stall (Unix ms first). */
  log: string[];
}

/** Runs in the page: plays every system and records now − stamp for each presented frame. */
function pageScript(systems: readonly System[]): string {
  return `${glassPageHelpers()}
window.samples = {};
window.players = {};
window.playerLatency = {};
window.errors = [];
window.stalls = {};
window.startedAt = Date.now();
for (const system of ${JSON.stringify(systems)}) {
  const { video, stampLatencyMs } = glassVideo();
  video.width = 320;
  window.samples[system.name] = [];
  // hls.js's log of the last second is kept with each stall.
  const { lines, debug } = hlsLog(1000);
  const hls = new Hls({ lowLatencyMode: true, backBufferLength: 10, debug, ...(system.liveSyncDurationCount ? { liveSyncDurationCount: system.liveSyncDurationCount } : {}) });
  liveCatchUp(hls, video);
  window.stalls[system.name] = [];
  // A stall (hls.js's BUFFER_STALLED_ERROR) raises hls.js's target latency by
  // liveSyncOnStallIncrease for the rest of the session: each is kept with what the player had.
  hls.on(Hls.Events.ERROR, (_, data) => {
    if (data.fatal) window.errors.push(system.name + ": " + data.details);
    if (data.details !== Hls.ErrorDetails.BUFFER_STALLED_ERROR) return;
    const details = hls.levels[hls.currentLevel]?.details;
    const lastPart = details?.partList?.at(-1);
    window.stalls[system.name].push({
      atMs: Date.now(),
      measuring: Boolean(window.measuring),
      targetMs: Math.round(hls.targetLatency * 1000),
      latencyMs: Math.round(hls.latency * 1000),
      playlistAgeMs: details ? Math.round(details.age * 1000) : undefined,
      lastPart: lastPart ? lastPart.fragment.sn + "." + lastPart.index : undefined,
      currentTime: video.currentTime,
      bufferedEnd: video.buffered.length ? video.buffered.end(video.buffered.length - 1) : undefined,
      log: lines.map((l) => l.t + " " + l.text),
    });
  });
  hls.loadSource(system.url);
  hls.attachMedia(video);
  window.players[system.name] = hls;
  window.playerLatency[system.name] = [];
  // hls.js's own view: how far behind the playlist's live edge it plays (its target and its
  // measure); glass-to-glass minus this is the way from camera to playlist and from buffer to screen.
  setInterval(() => { if (window.measuring && Number.isFinite(hls.latency)) window.playerLatency[system.name].push(hls.latency * 1000); }, 500);
  video.play().catch(() => undefined);
  const onFrame = () => {
    const latency = window.measuring ? stampLatencyMs() : undefined;
    if (latency !== undefined) window.samples[system.name].push(latency);
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
}`;
}

/** "1 + 0 (at 4.2 s: buffer 0.05 s, playlist 0.31 s old)": each stall's time since the page's start, the buffer left and the playlist's age. */
function stallSummary(stalls: readonly Stall[]): string {
  const warmup = stalls.filter((s) => !s.measuring).length;
  const each = stalls.map((s) => {
    const buffer = s.bufferedEnd === undefined ? "none" : `${(s.bufferedEnd - s.currentTime).toFixed(2)} s`;
    const age = s.playlistAgeMs === undefined ? "" : `, playlist ${(s.playlistAgeMs / 1000).toFixed(2)} s old`;
    return `${(s.atMs / 1000).toFixed(1)} s: buffer ${buffer}${age}`;
  });
  return `${warmup} + ${stalls.length - warmup}${each.length ? ` (${each.join("; ")})` : ""}`;
}

/** A bar per system, p50 solid and p95 light, in ms. */
function chart(results: readonly LatencyResult[]): string {
  const width = 640;
  const rowHeight = 34;
  const left = 260;
  const max = Math.max(...results.map((r) => r.p95Ms)) * 1.1;
  const scale = (ms: number): number => ((width - left - 20) * ms) / max;
  const rows = results.map((r, i) => {
    const y = 30 + i * rowHeight;
    return [
      `<text x="${left - 8}" y="${y + 16}" text-anchor="end" font-size="13">${r.name}</text>`,
      `<rect x="${left}" y="${y}" width="${scale(r.p95Ms).toFixed(1)}" height="22" fill="#9ecae1"/>`,
      `<rect x="${left}" y="${y}" width="${scale(r.p50Ms).toFixed(1)}" height="22" fill="#3182bd"/>`,
      `<text x="${left + scale(r.p95Ms) + 4}" y="${y + 16}" font-size="12">${(r.p50Ms / 1000).toFixed(2)} / ${(r.p95Ms / 1000).toFixed(2)} s</text>`,
    ].join("");
  });
  const height = 40 + results.length * rowHeight;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif"><text x="10" y="18" font-size="14">Glass-to-glass latency, hls.js in Chromium: p50 (dark) / p95 (light)</text>${rows.join("")}</svg>\n`;
}

async function main(): Promise<void> {
  const seconds = envNumber("BENCH_SECONDS", 60);
  const warmupSeconds = envNumber("BENCH_WARMUP_SECONDS", 15);
  const llHls = llHlsBenchSettings();
  const ladder = process.env.BENCH_LADDER ?? "source";
  const fullLadder = process.env.BENCH_FULL_LADDER ?? "source,480x240:500k,320x160:250k";
  const cleanup = new Cleanup();
  try {
    const dir = await tempDir("bench-latency");
    const origin = async (name: string, args: string[]) => {
      const started = await startOriginProcess({ name, rtmpPort: await freePort(), httpPort: await freePort(), dataDir: path.join(dir, name), stream: STREAM, args: ["--ladder", ladder, ...args] });
      cleanup.add(null, () => started.process.stop());
      return started;
    };
    const cmaf = await origin("cmaf", ["--low-latency", ...llHls.args]);
    const ts1 = await origin("ts-1s", ["--low-latency"]);
    const ts2 = await origin("ts-2s", []);
    const mediamtx = await startMediaMtx(cleanup, dir, STREAM);
    const edge = cleanup.add(
      // With the LL-HLS relay, as the operator runs the edge of every CMAF event.
      await runEdge(resolveEdgeConfig({ origins: [cmaf.http], ...(await loopbackEdge(path.join(dir, "edge"))), llHlsRelayPort: await freePort(), drainDelaySeconds: 0, shutdownGraceSeconds: 5 }), { logger }),
      (e) => e.close(),
    );
    cleanup.add(await startGlassSource([cmaf.rtmp, ts1.rtmp, ts2.rtmp, mediamtx.rtmp]), (s) => s.stop());
    const master = (base: string): string => `${base}/hls/${STREAM}/master.m3u8`;
    const systems: System[] = [
      { name: `live360 LL-HLS (${llHls.label}) via edge`, url: master(edge.url) },
      { name: `live360 LL-HLS (${llHls.label}) from origin`, url: master(cmaf.http) },
      { name: "live360 TS 1 s", url: master(ts1.http), liveSyncDurationCount: 2 },
      { name: "live360 TS 2 s", url: master(ts2.http), liveSyncDurationCount: 2 },
      { name: `MediaMTX ${mediamtx.version} LL-HLS`, url: mediamtx.url },
    ];
    for (const system of systems) {
      await waitFor(`${system.name}: a playlist`, async () => (await getText(system.url).catch(() => undefined))?.status === 200, { timeoutMs: 60_000, intervalMs: 250 });
    }

    const { page, hlsVersion } = await openGlassPage(cleanup, dir, pageScript(systems), { width: 1700, height: 400 });
    await new Promise((resolve) => setTimeout(resolve, warmupSeconds * 1000));
    await page.evaluate("window.measuring = true");
    const cpuBefore = os.loadavg()[0] ?? 0;
    const cpu = await compareOriginCpu(cmaf, ts1, seconds, ladder);
    const { samples, errors, playerLatency, targets, stalls, startedAt } = (await page.evaluate(
      "({ samples: window.samples, errors: window.errors, playerLatency: window.playerLatency, stalls: window.stalls, startedAt: window.startedAt, targets: Object.fromEntries(Object.entries(window.players).map(([name, hls]) => [name, hls.targetLatency * 1000])) })",
    )) as { samples: Record<string, number[]>; errors: string[]; playerLatency: Record<string, number[]>; targets: Record<string, number>; stalls: Record<string, Stall[]>; startedAt: number };
    const results: LatencyResult[] = systems.map(({ name }) => {
      const values = samples[name] ?? [];
      return {
        name,
        samples: values.length,
        p50Ms: percentile(values, 50),
        p95Ms: percentile(values, 95),
        minMs: Math.min(...values),
        maxMs: Math.max(...values),
        playerTargetMs: targets[name] ?? Number.NaN,
        playerLatencyP50Ms: percentile(playerLatency[name] ?? [], 50),
        stalls: (stalls[name] ?? []).map((stall) => ({ ...stall, atMs: stall.atMs - startedAt })),
      };
    });
    const loadAverage = Math.max(cpuBefore, os.loadavg()[0] ?? 0);
    // The latency systems stop; the ladder's CPU is measured alone.
    await cleanup.run();
    const ladderCpu = await fullLadderCpu(path.join(dir, "ladder"), fullLadder, llHls, seconds, STREAM);
    const table = [
      "| system | frames measured | p50 | p95 | min | max | hls.js target | hls.js latency p50 | stalls (warm-up + measured) |",
      "|---|---|---|---|---|---|---|---|---|",
      ...results.map(
        (r) =>
          `| ${r.name} | ${r.samples} | ${(r.p50Ms / 1000).toFixed(2)} s | ${(r.p95Ms / 1000).toFixed(2)} s | ${(r.minMs / 1000).toFixed(2)} s | ${(r.maxMs / 1000).toFixed(2)} s | ` +
          `${(r.playerTargetMs / 1000).toFixed(2)} s | ${(r.playerLatencyP50Ms / 1000).toFixed(2)} s | ${stallSummary(r.stalls)} |`,
      ),
    ].join("\n");
    const report = [
      "# Glass-to-glass latency (`make bench-latency`)",
      "",
      `${new Date().toISOString()}: ${seconds} s measured after ${warmupSeconds} s of playback, one encoder (x264 zerolatency, 640x320, 25 fps, a keyframe a second) sending to every system at once; hls.js ${hlsVersion} in headless Chromium, low-latency mode, one \`<video>\` per system in one page; ${os.cpus().length} cores, load average ${loadAverage.toFixed(1)}. Fatal player errors: ${errors.length === 0 ? "none" : errors.join("; ")}.`,
      "",
      table,
      "",
      "hls.js target / latency: where hls.js aims to play and plays behind the playlist's live edge (for LL-HLS the target is the playlist's PART-HOLD-BACK); glass-to-glass minus it is the way from camera to playlist plus from buffer to screen.",
      "",
      "![latency](latency.svg)",
      "",
      "Origin CPU, LL-HLS against TS 1 s with the same ladder (process tree: Node + the ladder's FFmpeg), CPU-seconds per media second:",
      "",
      "| ladder | measured | LL-HLS | TS 1 s | LL-HLS ÷ TS |",
      "|---|---|---|---|---|",
      ...[cpu, ladderCpu].map((c) => `| \`${c.ladder}\` | ${c.when} | ${c.cmafCpuSecondsPerMediaSecond.toFixed(3)} | ${c.tsCpuSecondsPerMediaSecond.toFixed(3)} | **${c.ratio.toFixed(2)}×** |`),
      "",
    ].join("\n");
    await mkdir(RESULTS_DIR, { recursive: true });
    await writeFile(path.join(RESULTS_DIR, "latency.md"), report);
    await writeFile(path.join(RESULTS_DIR, "latency.json"), JSON.stringify({ at: new Date().toISOString(), seconds, hlsJs: hlsVersion, mediamtx: mediamtx.version, loadAverage, errors, results, cpu: [cpu, ladderCpu] }, null, 2) + "\n");
    await writeFile(path.join(RESULTS_DIR, "latency.svg"), chart(results));
    console.log(report);
  } finally {
    await cleanup.run();
  }
}

await main();
