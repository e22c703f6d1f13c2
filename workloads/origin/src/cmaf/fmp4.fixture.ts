/**
 * Test fixture for the CMAF packager: real fragmented MP4 from FFmpeg 5.1, made the way the origin
 * will make it (one FFmpeg for the ladder, -copyts with the timeline offset, each rendition to its
 * own pipe with cmafOutputArgs), and a way to feed it back in awkward chunk sizes.
 */
import { spawn } from "node:child_process";
import type { Readable } from "node:stream";
import { FfmpegArgs, addX264Rung, resolveBinary } from "@live360/core";
import { addCmafOutput } from "./output-args.js";
import type { CmafEvent, CmafPackager } from "./packager.js";

export interface LadderOutputs {
  /** The pass-through rung: source H.264 and AAC copied. */
  copied: Buffer;
  /** x264 with a keyframe every second of its own (the source's GOP is 2 s). */
  gop1s: Buffer;
  /** x264 keyed on the source's keyframes, as the live ladder does. */
  aligned: Buffer;
}

/**
 * Runs one FFmpeg over `clip` (FLV) with three fragmented-MP4 outputs on pipes 3, 4 and 5, in
 * fragments of `fragmentSeconds` (default 1 µs: a fragment per packet, so tests see every frame
 * arrive on its own).
 */
export async function makeLadderOutputs(clip: string, fragmentSeconds = 1e-6): Promise<LadderOutputs> {
  const ffmpeg = await resolveBinary("ffmpeg");
  const args = new FfmpegArgs()
    .opt("-hide_banner")
    .opt("-loglevel", "error")
    .opt("-copyts")
    .opt("-f", "flv")
    .input(clip)
    .opt("-vsync", "passthrough")
    .opt("-filter_complex", "[0:v]split=2[s0][s1];[s0]scale=256:128[v0];[s1]scale=256:128[v1]");
  addCmafOutput(args.opt("-map", "0:v:0").opt("-map", "0:a:0").opt("-c", "copy"), "pipe:3", fragmentSeconds);
  const rung = (label: string, keyframes: string, fd: number): void => {
    args.opt("-map", label).opt("-map", "0:a:0");
    addX264Rung(args, 0, { kbps: 300, preset: "veryfast", keyframes });
    addCmafOutput(args.opt("-c:a", "copy"), `pipe:${fd}`, fragmentSeconds);
  };
  rung("[v0]", "expr:gte(t,n_forced*1)", 4);
  rung("[v1]", "source", 5);
  const child = spawn(ffmpeg.path, args.build(), { stdio: ["ignore", "ignore", "pipe", "pipe", "pipe", "pipe"] });
  const collect = (fd: number): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      const stream = child.stdio[fd] as Readable;
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("error", reject);
      stream.on("end", () => resolve(Buffer.concat(chunks)));
    });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", resolve);
  });
  const [copied, gop1s, aligned] = await Promise.all([collect(3), collect(4), collect(5)]);
  const code = await exited;
  if (code !== 0) throw new Error(`ffmpeg exited ${code}: ${stderr}`);
  return { copied: copied!, gop1s: gop1s!, aligned: aligned! };
}

/** Deterministic odd chunk sizes (1 byte to ~70 KB): box headers and boxes land across chunk edges. */
export function oddChunks(data: Buffer, seed = 1): Buffer[] {
  const sizes = [1, 3, 7, 8, 9, 15, 16, 17, 511, 4099, 65_537, 70_001];
  const chunks: Buffer[] = [];
  let state = seed;
  for (let at = 0; at < data.length; ) {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    const size = sizes[state % sizes.length]!;
    chunks.push(data.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

/** Feeds every chunk and ends the stream: all events, in order. */
export function feedAll(packager: CmafPackager, chunks: readonly Buffer[]): CmafEvent[] {
  return [...chunks.flatMap((c) => packager.push(c)), ...packager.end()];
}

/** Boxes built by hand, with the writer the packager uses. */
export { box, fullBox } from "./chunk.js";

/** Big-endian 32-bit fields (negative values as two's complement, for signed composition offsets). */
export function u32(...values: number[]): Buffer {
  const out = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => out.writeUInt32BE(v >>> 0, 4 * i));
  return out;
}

export function u64(value: number | bigint): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(BigInt(value), 0);
  return out;
}
