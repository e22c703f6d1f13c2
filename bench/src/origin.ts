/**
 * `make bench-origin`: the origin benchmark of issue 2. Every stack gets the same input file,
 * sent in real time over RTMP (piped as FLV for the floor), and makes the same ladder with the
 * same x264 preset. Measured per stack: CPU of its whole process tree per media second, peak
 * RSS, and how long after the encoder sent a segment's last frame the segment was listed.
 *
 * Env: BENCH_SECONDS (default 60) shortens a smoke run; BENCH_ROUNDS (default 3) repeats every
 * stack, in a rotating order, and reports medians; BENCH_STACKS=floor,live360,... picks stacks;
 * BENCH_KEEP=1 keeps each stack's work directory (HLS, logs, nginx.conf) for a look afterwards.
 */
import { mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { resolveBinary } from "@live360/core";
import { combineRounds } from "./analysis.js";
import { benchInputSpec, ensureBenchInput } from "./input.js";
import { benchLadder } from "./ladder-args.js";
import { markdownTable, svgChart, textTable, type BenchReport, type RunResult } from "./report.js";
import { FORMULA, log, runStack } from "./run.js";
import { floorStack, live360Stack, nginxRtmpStack } from "./stacks.js";

const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const RESULTS_DIR = path.join(BENCH_DIR, "results");
const CACHE_DIR = path.join(BENCH_DIR, ".cache");

async function main(): Promise<void> {
  const seconds = Number(process.env.BENCH_SECONDS ?? 60);
  if (!Number.isFinite(seconds) || seconds < 10) throw new Error(`BENCH_SECONDS=${process.env.BENCH_SECONDS}: use at least 10`);
  const ffmpeg = await resolveBinary("ffmpeg");
  log(`making (or reusing) the ${seconds} s input in ${CACHE_DIR}`);
  const input = await ensureBenchInput(ffmpeg, CACHE_DIR, benchInputSpec(seconds));
  const ladder = benchLadder(input);
  const ctx = { ffmpeg, ladder };
  const all = [floorStack(ctx), live360Stack(ctx, false), live360Stack(ctx, true), nginxRtmpStack(ctx, 10), nginxRtmpStack(ctx, 2)];
  const wanted = process.env.BENCH_STACKS?.split(",").map((s) => s.trim());
  const stacks = wanted ? all.filter((s) => wanted.includes(s.id)) : all;
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`BENCH_ROUNDS=${process.env.BENCH_ROUNDS}: give a whole number ≥ 1`);
  const results: RunResult[][] = [];
  for (let round = 0; round < rounds; round++) {
    const order = [...stacks.slice(round % stacks.length), ...stacks.slice(0, round % stacks.length)];
    const runs: RunResult[] = [];
    for (const stack of order) runs.push(await runStack(stack, ffmpeg, input));
    results.push(runs);
    log(`round ${round + 1}/${rounds}: ${runs.map((r) => `${r.id} ${r.cpuPerMediaSecond?.toFixed(3) ?? "–"}`).join(", ")}`);
  }
  // Reported in the stacks' own order, whatever order a round ran them in.
  const runs = combineRounds(results, "floor").sort((a, b) => stacks.findIndex((s) => s.id === a.id) - stacks.findIndex((s) => s.id === b.id));
  const inputSpec = { width: input.width, height: input.height, fps: input.fps, seconds: input.seconds, videoKbps: input.videoKbps, gopSeconds: input.gopSeconds };
  const report: BenchReport = {
    date: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model.trim() ?? "unknown",
      loadAverage1m: os.loadavg()[0] ?? 0,
      node: process.version,
      ffmpeg: ffmpeg.version,
    },
    input: inputSpec,
    ladder: ladder.map((r) => (r.passthrough ? `source ${r.width}x${r.height} (copied)` : `${r.width}x${r.height} ${r.videoBitrateKbps}k`)),
    formula: FORMULA,
    rounds,
    runs,
  };
  await mkdir(RESULTS_DIR, { recursive: true });
  await writeFile(path.join(RESULTS_DIR, "origin.json"), JSON.stringify(report, null, 2) + "\n");
  await writeFile(path.join(RESULTS_DIR, "origin.md"), markdownTable(report));
  await writeFile(path.join(RESULTS_DIR, "origin.svg"), svgChart(report));
  process.stdout.write(textTable(report) + "\n\n" + FORMULA + "\n");
  log(`results in ${path.relative(process.cwd(), RESULTS_DIR)}/origin.{json,md,svg}`);
}

await main();
