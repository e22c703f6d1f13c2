import { access, mkdir, rename } from "node:fs/promises";
import path from "node:path";
import { baseArgs, runOnce, type ResolvedBinary } from "@live360/core";
import { patternGraph, resolveTestSourceConfig } from "@live360/test-source";
import { frameIndexFilters } from "./frame-index.js";

export interface BenchInput {
  file: string;
  width: number;
  height: number;
  fps: number;
  seconds: number;
  videoKbps: number;
  /** Keyframe spacing of the source; origins cut segments on it. */
  gopSeconds: number;
}

/**
 * The input every stack gets: the test source's 360 pattern (without its wall-clock text,
 * which would show when the file was made, not when it is sent) with light temporal noise so
 * the encoders work as on camera footage, plus the frame-index strip. Keyframes every 1 s,
 * because the low-latency preset cuts 1 s segments and every longer segment is a multiple.
 * No B-frames, so frame n is sent at exactly n / fps after the first.
 */
export function benchInputSpec(seconds: number): Omit<BenchInput, "file"> {
  return { width: 1920, height: 960, fps: 30, seconds, videoKbps: 5000, gopSeconds: 1 };
}

/** Makes the input once per spec and caches it (a 60 s file takes a minute or two to encode). */
export async function ensureBenchInput(ffmpeg: ResolvedBinary, cacheDir: string, spec: Omit<BenchInput, "file">): Promise<BenchInput> {
  const seconds = spec.seconds;
  const file = path.join(
    cacheDir,
    `input-${spec.width}x${spec.height}-${spec.fps}fps-${spec.videoKbps}k-gop${spec.gopSeconds}s-${seconds}s.mp4`,
  );
  const input = { file, ...spec };
  if (await exists(file)) return input;
  await mkdir(cacheDir, { recursive: true });
  const pattern = resolveTestSourceConfig({ urls: ["rtmp://unused/live/bench"], width: spec.width, height: spec.height, fps: spec.fps });
  const gop = spec.fps * spec.gopSeconds;
  const partial = `${file}.partial.mp4`;
  const args = baseArgs()
    .opt("-y")
    .opt("-f", "lavfi")
    .input(patternGraph(pattern, undefined))
    .opt("-map", "0:v")
    .opt("-map", "0:a")
    .opt("-t", seconds)
    .opt("-vf", ["noise=alls=6:allf=t", ...frameIndexFilters()].join(","))
    .opt("-c:v", "libx264")
    .opt("-preset", "medium")
    .opt("-profile:v", "high")
    .opt("-pix_fmt", "yuv420p")
    .opt("-b:v", `${spec.videoKbps}k`)
    .opt("-maxrate", `${spec.videoKbps}k`)
    .opt("-bufsize", `${spec.videoKbps * 2}k`)
    .opt("-g", gop)
    .opt("-keyint_min", gop)
    .opt("-sc_threshold", 0)
    .opt("-bf", 0)
    .opt("-c:a", "aac")
    .opt("-b:a", "128k")
    .opt("-ac", 2)
    .opt("-movflags", "+faststart")
    .output(partial)
    .build();
  await runOnce(ffmpeg, args, { timeoutMs: 60 * 60_000 });
  await rename(partial, file);
  return input;
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}
