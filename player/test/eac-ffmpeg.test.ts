/**
 * The player's EAC mapping against FFmpeg itself: a picture whose pixels encode their own
 * longitude and latitude (16 bits each) goes through `v360=e:eac`, and for points all over
 * every face, the direction read back from FFmpeg's output must be where the player's
 * mapping looks for it. This is what pins face order, face rotation and padding.
 */
import { describe, expect, test } from "@jest/globals";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { resolveBinary, runOnce } from "@live360/core";
import { tempDir } from "@live360/testkit";
import { EAC_LAYOUT, EAC_PADDING_PX, eacImagePoint, equirectDirection, type EacCell } from "@live360/player/lib/eac.js";

/** The inverse of eacImagePoint: the direction the player maps to an image position of a face. */
function directionAt(cell: EacCell, x: number, y: number, width: number, height: number): number[] {
  const uPad = EAC_PADDING_PX / width;
  const vPad = EAC_PADDING_PX / height;
  const s = ((x - uPad) * 3) / (1 - 2 * uPad) - cell.column;
  const t = (y - vPad - 0.5 * cell.row) / (0.5 - 2 * vPad);
  const a = Math.tan((s - 0.5) * (Math.PI / 2));
  const b = Math.tan((t - 0.5) * (Math.PI / 2));
  const d = [0, 1, 2].map((k) => cell.centre[k]! + a * cell.right[k]! + b * cell.down[k]!);
  const n = Math.hypot(...d);
  return d.map((v) => v / n);
}

async function eacOfCodedSphere(width: number, height: number): Promise<Buffer> {
  const dir = await tempDir("eac");
  const out = path.join(dir, "eac.rgb48");
  const ffmpeg = await resolveBinary("ffmpeg");
  await runOnce(
    ffmpeg,
    [
      "-hide_banner", "-loglevel", "error", "-y",
      "-f", "lavfi", "-i", "nullsrc=size=4096x2048,format=gbrp16le,geq=r='(X+0.5)/W*65535':g='(Y+0.5)/H*65535':b=0",
      "-frames:v", "1",
      // Nearest neighbour: every output pixel carries one exact source coordinate.
      "-vf", `v360=e:eac:w=${width}:h=${height}:interp=near`,
      "-pix_fmt", "rgb48le", "-f", "rawvideo", out,
    ],
    { timeoutMs: 120_000 },
  );
  return readFile(out);
}

describe("EAC mapping matches FFmpeg's v360 output", () => {
  test.each([
    [1536, 1024],
    [768, 512],
    [1440, 810],
  ])("%dx%d: every face, centre to edges, within a pixel", async (width, height) => {
    const raw = await eacOfCodedSphere(width, height);
    const worst: Array<{ face: string; a: number; b: number; errorPx: number }> = [];
    for (const cell of EAC_LAYOUT) {
      for (const a of [-0.95, -0.6, -0.2, 0, 0.3, 0.7, 0.95]) {
        for (const b of [-0.95, -0.5, 0, 0.4, 0.95]) {
          // Where the player samples the direction at (a, b) on this face...
          const point = eacImagePoint(cell, a, b, { width, height });
          const px = Math.floor(point.x * width);
          const py = Math.floor(point.y * height);
          const o = (py * width + px) * 6;
          // ...FFmpeg must have put (nearly) the direction the player expects at that pixel's centre.
          const fromFfmpeg = equirectDirection({ x: raw.readUInt16LE(o) / 65535, y: raw.readUInt16LE(o + 2) / 65535 });
          const expected = directionAt(cell, (px + 0.5) / width, (py + 0.5) / height, width, height);
          const cos = fromFfmpeg.reduce((sum, v, k) => sum + v * expected[k]!, 0);
          const angle = Math.acos(Math.min(1, cos));
          // A pixel spans about (π/2) / face width radians.
          const errorPx = angle / (Math.PI / 2 / (width / 3));
          worst.push({ face: cell.face, a, b, errorPx });
        }
      }
    }
    // What remains is the source's own pixel grid (a quarter of an EAC pixel): a wrong face,
    // rotation or padding is off by whole pixels or far more.
    const bad = worst.filter((w) => w.errorPx > 0.5);
    expect(bad).toEqual([]);
  }, 120_000);
});
