import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { resolveBinary, runOnce } from "@live360/core";

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(path.join(tmpdir(), `live360-${prefix}-`));
}

export interface ClipOptions {
  width?: number;
  height?: number;
  fps?: number;
  seconds?: number;
  /** Keyframe interval in seconds. */
  gopSeconds?: number;
  videoKbps?: number;
  audio?: boolean;
  container?: "flv" | "mp4";
  /**
   * Seconds of black before the test pattern: a source whose bitrate starts far below its
   * average (black costs x264 almost nothing), as an encoder ramping up does.
   */
  blackSeconds?: number;
}

/** A small real H.264 + AAC clip from FFmpeg's test sources (the tests' "camera"). */
export async function makeTestClip(dir: string, options: ClipOptions = {}): Promise<string> {
  const { width = 640, height = 320, fps = 30, seconds = 6, gopSeconds = 2, videoKbps = 800, audio = true, container = "flv", blackSeconds = 0 } = options;
  const ffmpeg = await resolveBinary("ffmpeg");
  const file = path.join(dir, `clip-${width}x${height}-${seconds}s${blackSeconds ? `-black${blackSeconds}s` : ""}.${container}`);
  const pattern = `testsrc2=size=${width}x${height}:rate=${fps}`;
  const video = blackSeconds > 0 ? `color=c=black:size=${width}x${height}:rate=${fps}:duration=${blackSeconds}[black];${pattern}[pattern];[black][pattern]concat=n=2:v=1:a=0` : pattern;
  const args = ["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", video];
  if (audio) args.push("-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000");
  args.push("-t", String(seconds), "-c:v", "libx264", "-preset", "veryfast", "-b:v", `${videoKbps}k`, "-pix_fmt", "yuv420p");
  args.push("-g", String(Math.round(fps * gopSeconds)), "-keyint_min", String(Math.round(fps * gopSeconds)), "-sc_threshold", "0");
  if (audio) args.push("-c:a", "aac", "-b:a", "96k", "-shortest");
  args.push("-f", container, file);
  await runOnce(ffmpeg, args, { timeoutMs: 120_000 });
  return file;
}

export interface Publisher {
  process: ChildProcess;
  /** Resolves with the exit code when the publisher ends. */
  exited: Promise<number | null>;
  /** What FFmpeg printed so far (errors only). */
  stderr(): string;
  stop(): Promise<void>;
}

/** Publishes a file in real time (`-re`) over RTMP, as an encoder would. */
export async function publishFile(file: string, url: string, options: { loop?: boolean } = {}): Promise<Publisher> {
  return spawnPublisher(file, ["-c", "copy", "-f", "flv", url], options);
}

/** Runs `ffmpeg -re [-stream_loop -1] -i <file> <outputArgs>` as a Publisher. */
export async function spawnPublisher(file: string, outputArgs: readonly string[], options: { loop?: boolean } = {}): Promise<Publisher> {
  const ffmpeg = await resolveBinary("ffmpeg");
  const args = ["-hide_banner", "-loglevel", "error", "-re"];
  if (options.loop) args.push("-stream_loop", "-1");
  args.push("-i", file, ...outputArgs);
  const child = spawn(ffmpeg.path, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  return {
    process: child,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
    stderr: () => stderr,
  };
}

/** Per-frame MD5s of decoded video: equal lists mean bit-identical pictures. */
export async function videoFrameHashes(file: string, maxFrames?: number): Promise<string[]> {
  const ffmpeg = await resolveBinary("ffmpeg");
  const args = ["-hide_banner", "-loglevel", "error", "-i", file, "-map", "0:v:0"];
  if (maxFrames) args.push("-frames:v", String(maxFrames));
  args.push("-f", "framemd5", "-");
  const { stdout } = await runOnce(ffmpeg, args, { timeoutMs: 120_000 });
  return stdout
    .split("\n")
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => l.split(",").pop()!.trim());
}

/** Timestamps (seconds) of keyframes in the first video stream of a file. */
export async function keyframeTimes(file: string): Promise<number[]> {
  const ffprobe = await resolveBinary("ffprobe");
  const { stdout } = await runOnce(
    ffprobe,
    ["-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts_time,flags", "-of", "csv=p=0", file],
    { timeoutMs: 60_000 },
  );
  return stdout
    .split("\n")
    .filter((l) => l.includes("K"))
    .map((l) => Number(l.split(",")[0]));
}
