/**
 * `make bench-ll-startup` (issue #15): how LL-HLS sessions start in hls.js. One stall costs an
 * hls.js session a second of target latency for good (`liveSyncOnStallIncrease`), so a start
 * that stalls decides a viewer's latency more than anything the packager does later. Sessions
 * one at a time (one player, so the machine's load is not what is measured), each a fresh hls.js
 * in low-latency mode for BENCH_SESSION_SECONDS, in turn on: live360 LL-HLS through the edge
 * (with its relay), straight from the origin, and MediaMTX's LL-HLS — one encoder feeding all
 * (glass.ts: each frame carries its send time). Per session: time to the first frame, the buffer
 * ahead and glass-to-glass latency at the first frame and at the end, and every stall with the
 * hls.js log lines before it.
 *
 * Env: BENCH_SESSIONS (10) per system, BENCH_SESSION_SECONDS (10), BENCH_PART_TARGET (0.33),
 * BENCH_PART_HOLD_BACK (3).
 * Writes bench/results/ll-startup.{md,json}.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createLogger } from "@live360/core";
import { resolveEdgeConfig, runEdge } from "@live360/edge";
import { Cleanup, freePort, getText, loopbackEdge, startOriginProcess, tempDir, waitFor } from "@live360/testkit";
import { percentile } from "@live360/bench/dist/analysis.js";
import { envNumber, llHlsBenchSettings } from "./env.js";
import { glassPageHelpers, openGlassPage, startGlassSource } from "./glass.js";
import { startMediaMtx } from "./mediamtx.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const RESULTS_DIR = process.env.BENCH_RESULTS_DIR ?? path.join(ROOT, "bench/results");
const STREAM = "test";
const logger = createLogger("bench-ll-startup", { level: "warn" });

interface StartStall {
  /** Since the session's start. */
  atMs: number;
  bufferAheadS: number;
  latencyMs: number;
  /** The hls.js log lines of the second before the stall. */
  log: string[];
}

interface Session {
  firstFrameMs: number | undefined;
  /** Buffered media ahead of the playhead when the first frame was shown. */
  bufferAtFirstFrameS: number | undefined;
  /** Glass-to-glass at the first frame and over the session's last second. */
  latencyAtFirstFrameMs: number | undefined;
  latencyAtEndMs: number | undefined;
  targetAtEndMs: number;
  stalls: StartStall[];
  fatal: string[];
}

/** Runs in the page: `window.session(url, seconds)` plays one fresh hls.js session and reports it. */
function pageScript(): string {
  return `${glassPageHelpers()}
window.session = (url, seconds) => new Promise((resolve) => {
  const started = performance.now();
  const startedWall = Date.now();
  const { lines, debug } = hlsLog(1000);
  const { video, stampLatencyMs } = glassVideo();
  const hls = new Hls({ lowLatencyMode: true, backBufferLength: 10, debug });
  liveCatchUp(hls, video);
  const result = { firstFrameMs: undefined, bufferAtFirstFrameS: undefined, latencyAtFirstFrameMs: undefined, latencyAtEndMs: undefined, targetAtEndMs: 0, stalls: [], fatal: [] };
  const ahead = () => video.buffered.length ? video.buffered.end(video.buffered.length - 1) - video.currentTime : 0;
  let lastLatency;
  const endLatencies = [];
  hls.on(Hls.Events.ERROR, (_, data) => {
    if (data.fatal) result.fatal.push(data.details);
    if (data.details !== Hls.ErrorDetails.BUFFER_STALLED_ERROR) return;
    const now = performance.now();
    result.stalls.push({ atMs: Math.round(now - started), bufferAheadS: ahead(), latencyMs: lastLatency ?? -1,
      log: lines.map((l) => (l.t - startedWall) + " " + l.text) });
  });
  hls.loadSource(url);
  hls.attachMedia(video);
  video.play().catch(() => undefined);
  const onFrame = () => {
    const latency = stampLatencyMs();
    if (latency !== undefined) {
      lastLatency = latency;
      if (result.firstFrameMs === undefined) {
        result.firstFrameMs = Math.round(performance.now() - started);
        result.bufferAtFirstFrameS = ahead();
        result.latencyAtFirstFrameMs = latency;
      }
      if (performance.now() - started > (seconds - 1) * 1000) endLatencies.push(latency);
    }
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
  setTimeout(() => {
    endLatencies.sort((a, b) => a - b);
    result.latencyAtEndMs = endLatencies[Math.floor(endLatencies.length / 2)];
    result.targetAtEndMs = Math.round(hls.targetLatency * 1000);
    hls.destroy();
    video.remove();
    resolve(result);
  }, seconds * 1000);
});`;
}

const seconds = (ms: number | undefined): string => (ms === undefined || Number.isNaN(ms) ? "–" : `${(ms / 1000).toFixed(2)} s`);

async function main(): Promise<void> {
  const sessions = envNumber("BENCH_SESSIONS", 10);
  const sessionSeconds = envNumber("BENCH_SESSION_SECONDS", 10);
  const llHls = llHlsBenchSettings();
  const cleanup = new Cleanup();
  try {
    const dir = await tempDir("bench-ll-startup");
    const origin = await startOriginProcess({
      name: "cmaf",
      rtmpPort: await freePort(),
      httpPort: await freePort(),
      dataDir: path.join(dir, "cmaf"),
      stream: STREAM,
      args: ["--ladder", "source", "--low-latency", ...llHls.args],
    });
    cleanup.add(null, () => origin.process.stop());
    const mediamtx = await startMediaMtx(cleanup, dir, STREAM);
    const edge = cleanup.add(
      await runEdge(resolveEdgeConfig({ origins: [origin.http], ...(await loopbackEdge(path.join(dir, "edge"))), llHlsRelayPort: await freePort(), drainDelaySeconds: 0, shutdownGraceSeconds: 5 }), { logger }),
      (e) => e.close(),
    );
    cleanup.add(await startGlassSource([origin.rtmp, mediamtx.rtmp]), (s) => s.stop());
    const systems = [
      { name: `live360 LL-HLS (${llHls.label}) via edge`, url: `${edge.url}/hls/${STREAM}/master.m3u8` },
      { name: `live360 LL-HLS (${llHls.label}) from origin`, url: `${origin.http}/hls/${STREAM}/master.m3u8` },
      { name: `MediaMTX ${mediamtx.version} LL-HLS`, url: mediamtx.url },
    ];
    for (const system of systems) {
      await waitFor(`${system.name}: a playlist`, async () => (await getText(system.url).catch(() => undefined))?.status === 200, { timeoutMs: 60_000, intervalMs: 250 });
    }
    // Past the first segments of every system.
    await new Promise((resolve) => setTimeout(resolve, 5000));

    const { page, hlsVersion } = await openGlassPage(cleanup, dir, pageScript(), { width: 800, height: 500 });

    const results = new Map<string, Session[]>(systems.map((s) => [s.name, []]));
    for (let round = 0; round < sessions; round++) {
      for (const system of systems) {
        const session = (await page.evaluate(`window.session(${JSON.stringify(system.url)}, ${sessionSeconds})`)) as Session;
        results.get(system.name)!.push(session);
        console.log(
          `${system.name} #${round + 1}: first frame ${seconds(session.firstFrameMs)}, buffer ${session.bufferAtFirstFrameS?.toFixed(2)} s, ` +
            `latency ${seconds(session.latencyAtFirstFrameMs)} → ${seconds(session.latencyAtEndMs)}, stalls ${session.stalls.length}${session.fatal.length ? `, fatal ${session.fatal.join(",")}` : ""}`,
        );
      }
    }

    const rows = systems.map(({ name }) => {
      const runs = results.get(name)!;
      const values = (pick: (s: Session) => number | undefined): number[] => runs.map(pick).filter((v): v is number => v !== undefined);
      return {
        name,
        sessions: runs.length,
        stalledSessions: runs.filter((s) => s.stalls.length > 0).length,
        firstFrameP50Ms: percentile(values((s) => s.firstFrameMs), 50),
        bufferAtFirstFrameP50S: percentile(values((s) => s.bufferAtFirstFrameS), 50),
        latencyAtFirstFrameP50Ms: percentile(values((s) => s.latencyAtFirstFrameMs), 50),
        latencyAtEndP50Ms: percentile(values((s) => s.latencyAtEndMs), 50),
        latencyAtEndP95Ms: percentile(values((s) => s.latencyAtEndMs), 95),
      };
    });
    const report = [
      "# LL-HLS session starts in hls.js (`make bench-ll-startup`)",
      "",
      `${new Date().toISOString()}: ${sessions} sessions of ${sessionSeconds} s per system, one player at a time (hls.js ${hlsVersion}, low-latency mode, headless Chromium), one encoder (x264 zerolatency, 640x320, 25 fps, a keyframe a second) feeding all.`,
      "",
      "| system | sessions that stalled | first frame p50 | buffer ahead at first frame p50 | glass-to-glass at first frame p50 | at the session's end p50 / p95 |",
      "|---|---|---|---|---|---|",
      ...rows.map(
        (r) =>
          `| ${r.name} | ${r.stalledSessions} of ${r.sessions} | ${seconds(r.firstFrameP50Ms)} | ${r.bufferAtFirstFrameP50S.toFixed(2)} s | ${seconds(r.latencyAtFirstFrameP50Ms)} | ${seconds(r.latencyAtEndP50Ms)} / ${seconds(r.latencyAtEndP95Ms)} |`,
      ),
      "",
    ].join("\n");
    await mkdir(RESULTS_DIR, { recursive: true });
    await writeFile(path.join(RESULTS_DIR, "ll-startup.md"), report);
    await writeFile(path.join(RESULTS_DIR, "ll-startup.json"), JSON.stringify({ at: new Date().toISOString(), hlsJs: hlsVersion, partTarget: llHls.partTarget, partHoldBackParts: llHls.holdBackParts, rows, sessions: Object.fromEntries(results) }, null, 2) + "\n");
    console.log(report);
  } finally {
    await cleanup.run();
  }
}

await main();
