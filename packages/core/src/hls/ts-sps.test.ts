/**
 * The codec string comes from the SPS in the segment: real x264 encodes in each profile, muxed
 * to MPEG-TS by FFmpeg, as the origin's and the VOD worker's segments are.
 */
import { describe, expect, test } from "@jest/globals";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { resolveBinary } from "../ffmpeg/resolve.js";
import { runOnce } from "../ffmpeg/supervisor.js";
import { avcCodecStringFromTs } from "./ts-sps.js";

async function encodeTs(profileArgs: readonly string[]): Promise<Buffer> {
  const dir = await mkdtemp(path.join(tmpdir(), "live360-sps-"));
  try {
    const file = path.join(dir, "seg.ts");
    const ffmpeg = await resolveBinary("ffmpeg");
    await runOnce(ffmpeg, [
      "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=320x160:rate=25", "-f", "lavfi", "-i", "sine=frequency=440",
      "-t", "1", "-c:v", "libx264", "-preset", "veryfast", ...profileArgs, "-c:a", "aac", "-f", "mpegts", file,
    ], { timeoutMs: 60_000 });
    return await readFile(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe("avcCodecStringFromTs", () => {
  test.each([
    // x264's baseline sets constraint_set0 and set1 (0xC0): a profile-name table says 42E0.
    [["-profile:v", "baseline", "-level", "3.1"], "avc1.42C01F"],
    [["-profile:v", "main", "-level", "3.0"], "avc1.4D401E"],
    [["-profile:v", "high", "-level", "4.0"], "avc1.640028"],
  ])("x264 %p in MPEG-TS → %s", async (args, expected) => {
    expect(avcCodecStringFromTs(await encodeTs(args))).toBe(expected);
  }, 60_000);

  test("no H.264 (audio only), no TS, or a cut-off file give undefined rather than a guess or a throw", async () => {
    const ts = await encodeTs(["-profile:v", "high"]);
    expect(avcCodecStringFromTs(Buffer.alloc(0))).toBeUndefined();
    expect(avcCodecStringFromTs(Buffer.from("#EXTM3U\n".repeat(100)))).toBeUndefined();
    // PAT and PMT only: the video's packets are cut off.
    expect(avcCodecStringFromTs(ts.subarray(0, 188 * 2))).toBeUndefined();
    for (let cut = 0; cut < 188 * 8; cut += 37) expect(() => avcCodecStringFromTs(ts.subarray(0, cut))).not.toThrow();
  }, 60_000);
});
