import { readdir, rm } from "node:fs/promises";
import path from "node:path";
import { describe, expect, test } from "@jest/globals";
import { resolveBinary, runOnce } from "@live360/core";
import { tempDir } from "@live360/testkit";
import { decodeFrameIndex, firstFrameIndex, frameIndexFilters } from "./frame-index.js";

describe("frame-index strip", () => {
  test("decodes set bits, bit 0 on the left", () => {
    const levels = new Uint8Array(16).fill(20);
    levels[0] = 230;
    levels[3] = 200;
    expect(decodeFrameIndex(levels)).toBe(9);
  });

  test("survives H.264 at a low bitrate and scaling: each segment's first frame names its source frame", async () => {
    const ffmpeg = await resolveBinary("ffmpeg");
    const dir = await tempDir("frame-index");
    try {
      // 2 s at 30 fps with a keyframe every 15 frames, scaled down like a lower rung, cut into 0.5 s segments.
      await runOnce(ffmpeg, [
        "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=640x320:rate=30", "-t", "2",
        "-vf", [...frameIndexFilters(), "scale=320:160"].join(","),
        "-c:v", "libx264", "-preset", "veryfast", "-b:v", "150k", "-g", "15", "-keyint_min", "15", "-sc_threshold", "0",
        "-f", "segment", "-segment_time", "0.5", path.join(dir, "seg_%02d.ts"),
      ], { timeoutMs: 60_000 });
      const segments = (await readdir(dir)).filter((f) => f.endsWith(".ts")).sort();
      expect(segments).toHaveLength(4);
      const firstFrames = await Promise.all(segments.map((s) => firstFrameIndex(ffmpeg, path.join(dir, s))));
      expect(firstFrames).toEqual([0, 15, 30, 45]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
