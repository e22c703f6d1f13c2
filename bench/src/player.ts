/**
 * `make bench-player`: the player's budget of issue 5. What a viewer downloads (the built
 * site, gzipped) and how long after page load the first video frame reaches the canvas when
 * playing a live stream from a local origin, each load in a fresh browser profile (no cache).
 *
 * Env: BENCH_LOADS (default 5) page loads.
 */
import { readdir, readFile, writeFile, mkdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { createLogger, parseLadder } from "@live360/core";
import { resolveOriginConfig, startOrigin } from "@live360/origin";
import { freePort, getText, launchChromium, makeTestClip, publishFile, tempDir, waitFor } from "@live360/testkit";
import { percentile } from "./analysis.js";
import { log } from "./run.js";

const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const PLAYER_DIST = path.resolve(BENCH_DIR, "../player/dist");
const RESULTS_DIR = path.join(BENCH_DIR, "results");

/** What a first visit fetches: everything but source maps and licence files. */
async function bundleSize(): Promise<{ files: number; rawKiB: number; gzipKiB: number }> {
  const files = (await readdir(PLAYER_DIST)).filter((f) => !f.endsWith(".map") && !f.endsWith(".LEGAL.txt"));
  let raw = 0;
  let gzip = 0;
  for (const file of files) {
    const bytes = await readFile(path.join(PLAYER_DIST, file));
    raw += bytes.length;
    gzip += gzipSync(bytes, { level: 9 }).length;
  }
  return { files: files.length, rawKiB: raw / 1024, gzipKiB: gzip / 1024 };
}

/** What the player page exposes for tests and benchmarks (player/src/main.ts). */
interface PlayerPage {
  live360?: { stats(): { firstFrameMs: number | undefined } };
}

async function main(): Promise<void> {
  const loads = Number(process.env.BENCH_LOADS ?? 5);
  // Other work on the machine slows software GL; the result says how busy it was.
  const loadAverage1m = os.loadavg()[0] ?? 0;
  const bundle = await bundleSize();
  const dir = await tempDir("bench-player");
  // The demo's stream: what `live360 local` publishes by default, with its ladder.
  const clip = await makeTestClip(dir, { width: 1280, height: 640, seconds: 10, gopSeconds: 2, videoKbps: 3000 });
  const [rtmpPort, httpPort] = [await freePort(), await freePort()];
  const origin = await startOrigin(
    resolveOriginConfig({
      rtmpPort,
      httpPort,
      bindAddress: "127.0.0.1",
      dataDir: path.join(dir, "data"),
      ladder: parseLadder("ladder", "source,640x320:800k"),
      playerDir: PLAYER_DIST,
    }),
    { logger: createLogger("origin", { level: "error" }) },
  );
  const publisher = await publishFile(clip, `rtmp://127.0.0.1:${rtmpPort}/live/test`, { loop: true });
  const base = `http://127.0.0.1:${httpPort}`;
  const firstFrames: number[] = [];
  try {
    await waitFor("the live stream", async () => (await getText(`${base}/hls/test/master.m3u8`)).status === 200, { timeoutMs: 60_000 });
    for (let i = 0; i < loads; i++) {
      const session = await launchChromium({ viewport: { width: 1280, height: 720 } });
      try {
        const page = await session.newPage();
        await page.goto(`${base}/player/?url=/hls/test/master.m3u8`);
        const ms = await waitFor("the first frame", () => page.evaluate(() => (globalThis as PlayerPage).live360?.stats().firstFrameMs), { timeoutMs: 60_000 });
        firstFrames.push(ms);
        log(`load ${i + 1}/${loads}: first frame after ${ms.toFixed(0)} ms`);
      } finally {
        await session.close();
      }
    }
  } finally {
    await publisher.stop();
    await origin.close();
  }
  const result = {
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model.trim() ?? "unknown", chromium: "Debian chromium, SwiftShader (software GL)", loadAverage1m },
    bundle,
    firstFrameMs: { loads, p50: percentile(firstFrames, 50), max: Math.max(...firstFrames), all: firstFrames.map(Math.round) },
  };
  const table = [
    "| bundle files | raw KiB | gzipped KiB (budget 1536) | first frame p50 ms | first frame max ms (budget 2000) | loads |",
    "|---:|---:|---:|---:|---:|---:|",
    `| ${bundle.files} | ${bundle.rawKiB.toFixed(0)} | ${bundle.gzipKiB.toFixed(0)} | ${result.firstFrameMs.p50.toFixed(0)} | ${result.firstFrameMs.max.toFixed(0)} | ${loads} |`,
  ].join("\n");
  await mkdir(RESULTS_DIR, { recursive: true });
  await writeFile(path.join(RESULTS_DIR, "player.json"), JSON.stringify(result, null, 2) + "\n");
  await writeFile(path.join(RESULTS_DIR, "player.md"), `Player budget, ${result.date.slice(0, 10)}: 1280x640 live stream from a local origin, ${result.machine.chromium}, ${result.machine.cpus} CPUs, load average ${loadAverage1m.toFixed(1)} at the start.\n\n${table}\n`);
  process.stdout.write(table + "\n");
}

await main();
