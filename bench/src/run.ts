import { rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { ResolvedBinary } from "@live360/core";
import { tempDir, waitFor } from "@live360/testkit";
import { liveEdgeDelay, percentile, segmentDelays, slope, type SegmentDelay } from "./analysis.js";
import { firstFrameIndex } from "./frame-index.js";
import type { BenchInput } from "./input.js";
import { PlaylistWatcher, type VariantTimeline } from "./playlists.js";
import { ProcessTreeSampler } from "./proc-tree.js";
import { Publisher } from "./publisher.js";
import type { RunResult } from "./report.js";
import type { StackDefinition } from "./stacks.js";

export const FORMULA =
  "Availability delay: from the moment the publisher sent a segment's last frame (send clock from its -re progress; frame identity from a frame-number strip in the picture) to the moment the segment appeared in its playlist (read from disk every 50 ms, the same way for every stack); first and last segment of each variant left out. " +
  "Live-edge delay = availability p95 + hold-back × segment duration, with a hold-back of 1 segment (a player starting the newest segment as soon as it is listed) and of 3 (the HLS spec's and hls.js's default).";

export function log(message: string): void {
  process.stderr.write(`bench: ${message}\n`);
}

/** Waits until the stack has listed all it will: end lists, or nothing new for a while. */
async function waitForLastSegments(watcher: PlaylistWatcher, input: BenchInput, segmentSeconds: number): Promise<void> {
  const quietMs = Math.max(4000, segmentSeconds * 1500);
  const publishedEnd = Date.now();
  await waitFor(
    "the last segments",
    () => {
      if (watcher.allEnded) return true;
      const quietSince = Math.max(watcher.lastListingMs, publishedEnd);
      const coveredAll = watcher.listedSecondsEverywhere >= input.seconds - segmentSeconds - 1;
      return Date.now() - quietSince > (coveredAll ? 1500 : quietMs);
    },
    { timeoutMs: 60_000, intervalMs: 100 },
  ).catch(() => log("gave up waiting for the last segments after 60 s"));
}

interface VariantDelays {
  firstFrame: number | undefined;
  delays: SegmentDelay[];
}

async function delaysOf(ffmpeg: ResolvedBinary, timeline: VariantTimeline, input: BenchInput, sendStartMs: number): Promise<VariantDelays> {
  if (!timeline.firstSegment) return { firstFrame: undefined, delays: [] };
  const dir = await tempDir("bench-seg");
  try {
    const file = path.join(dir, "first.ts");
    await writeFile(file, await timeline.firstSegment);
    const firstFrame = await firstFrameIndex(ffmpeg, file);
    return { firstFrame, delays: segmentDelays(timeline.segments, firstFrame, input.fps, sendStartMs) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * One stack, one publish of the input: CPU and memory of its process tree while the stream
 * runs, and the availability delay of every segment it lists.
 */
export async function runStack(def: StackDefinition, ffmpeg: ResolvedBinary, input: BenchInput): Promise<RunResult> {
  const base = { id: def.id, label: def.label, segmentSeconds: def.segmentSeconds };
  const reason = await def.unavailable();
  if (reason) {
    log(`${def.id}: skipped: ${reason}`);
    return { ...base, skipped: reason };
  }
  const loadAverage1m = os.loadavg()[0];
  log(`${def.id}: starting (load average ${loadAverage1m?.toFixed(2)})`);
  const workDir = await tempDir(`bench-${def.id}`);
  const stack = await def.start(workDir);
  const sampler = await ProcessTreeSampler.create(stack.rootPid);
  const watcher = new PlaylistWatcher(stack.hls, stack.masterPath);
  let stopped = false;
  const stopStack = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await stack.stop();
  };
  try {
    sampler.start(100);
    watcher.start();
    await sampler.markBaseline();
    const publisher = Publisher.start(ffmpeg, input.file, stack.stdin ? "pipe:1" : stack.ingest);
    if (stack.stdin) publisher.child.stdout!.pipe(stack.stdin);
    const code = await publisher.exited;
    if (code !== 0) throw new Error(`publisher exited with ${code}: ${publisher.errors}`);
    log(`${def.id}: input sent, waiting for the last segments`);
    await waitForLastSegments(watcher, input, def.segmentSeconds);
    const usage = await sampler.stop();
    await watcher.stop();
    await stopStack();
    const timelines = [...watcher.variants.values()];
    const perVariant = await Promise.all(timelines.map((t) => delaysOf(ffmpeg, t, input, publisher.sendStartEpochMs)));
    const delays = perVariant.flatMap((v) => v.delays);
    const values = delays.map((d) => d.delaySeconds);
    const durations = timelines.flatMap((t) => t.segments.slice(0, -1).map((s) => s.durationSeconds));
    const measuredSegmentSeconds = durations.reduce((a, b) => a + b, 0) / Math.max(1, durations.length);
    const p95 = percentile(values, 95);
    const delaySlope = slope(delays.map((d) => ({ x: d.lastFrameMediaSeconds, y: d.delaySeconds })));
    return {
      ...base,
      loadAverage1m,
      cpuSeconds: usage.cpuSeconds,
      cpuPerMediaSecond: usage.cpuSeconds / input.seconds,
      peakRssMiB: usage.peakRssBytes / 2 ** 20,
      processes: usage.processes,
      measuredSegmentSeconds,
      availability: { p50: percentile(values, 50), p95, max: Math.max(...values), segments: values.length },
      liveEdge: { holdBack1: liveEdgeDelay(p95, measuredSegmentSeconds, 1), holdBack3: liveEdgeDelay(p95, measuredSegmentSeconds, 3) },
      // Falling behind by more than 1 % of real time means the stack cannot sustain the stream.
      keepsUp: values.length > 0 && delaySlope < 0.01,
      delaySlope,
      variants: timelines.map((t, i) => ({
        playlist: t.playlist,
        firstFrame: perVariant[i]!.firstFrame,
        durations: t.segments.map((s) => s.durationSeconds),
        delays: perVariant[i]!.delays.map((d) => Number(d.delaySeconds.toFixed(3))),
      })),
    };
  } finally {
    await watcher.stop();
    await stopStack();
    if (process.env.BENCH_KEEP) log(`${def.id}: kept ${workDir}`);
    else await rm(workDir, { recursive: true, force: true });
  }
}
