import { describe, expect, test } from "@jest/globals";
import { spawn } from "node:child_process";
import { resolveBinary } from "@live360/core";
import { GLASS_HEIGHT, GLASS_WIDTH, STAMP_BITS, STAMP_BLOCK, STAMP_LEFT, STAMP_TOP, decodeStamp, glassFrame } from "./glass.js";

/** Runs frames through x264 (as the bench's encoder does) and back to RGBA, as a browser would show them. */
async function throughX264(frames: readonly Buffer[]): Promise<Buffer[]> {
  const ffmpeg = await resolveBinary("ffmpeg");
  const encode = spawn(ffmpeg.path, ["-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", `${GLASS_WIDTH}x${GLASS_HEIGHT}`, "-r", "25", "-i", "pipe:0", "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-b:v", "800k", "-f", "h264", "pipe:1"]);
  const decode = spawn(ffmpeg.path, ["-loglevel", "error", "-f", "h264", "-i", "pipe:0", "-f", "rawvideo", "-pix_fmt", "rgba", "pipe:1"]);
  encode.stdout.pipe(decode.stdin);
  const out: Buffer[] = [];
  decode.stdout.on("data", (chunk: Buffer) => out.push(chunk));
  const done = new Promise<void>((resolve) => decode.on("close", () => resolve()));
  for (const frame of frames) encode.stdin.write(frame);
  encode.stdin.end();
  await done;
  const all = Buffer.concat(out);
  const size = GLASS_WIDTH * GLASS_HEIGHT * 4;
  return Array.from({ length: all.length / size }, (_, i) => all.subarray(i * size, (i + 1) * size));
}

describe("glass-to-glass stamps", () => {
  test("every frame's wall-clock stamp survives x264 at a low rate and reads back exactly", async () => {
    const base = Date.UTC(2026, 11, 7, 12, 0, 0);
    const stamps = Array.from({ length: 50 }, (_, i) => base + i * 40 + (i % 7));
    const decoded = await throughX264(stamps.map((stamp, i) => glassFrame(i, stamp)));
    expect(decoded).toHaveLength(stamps.length);
    expect(decoded.map((rgba) => decodeStamp(rgba, GLASS_WIDTH, STAMP_BITS, STAMP_BLOCK, STAMP_LEFT, STAMP_TOP))).toEqual(stamps);
  }, 60_000);
});
