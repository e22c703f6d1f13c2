import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { ResolvedBinary } from "@live360/core";

const execFileAsync = promisify(execFile);

/**
 * A machine-readable frame number in the picture: a strip of 16 blocks along the bottom
 * edge, white for a set bit. Blocks this large survive scaling and compression, so the
 * first frame of any rendition's first segment says which source frame it is, whatever
 * timestamps the stack under test rewrote on the way.
 */
export const FRAME_INDEX_BITS = 16;

/** Filters that draw the strip from the frame number `n` (the timeline's own counter). */
export function frameIndexFilters(): string[] {
  const strip = `x=0:y=ih*${FRAME_INDEX_BITS - 1}/${FRAME_INDEX_BITS}:w=iw:h=ih/${FRAME_INDEX_BITS}`;
  const filters = [`drawbox=${strip}:c=black:t=fill`];
  for (let bit = 0; bit < FRAME_INDEX_BITS; bit++) {
    const block = `x=iw*${bit}/${FRAME_INDEX_BITS}:y=ih*${FRAME_INDEX_BITS - 1}/${FRAME_INDEX_BITS}:w=iw/${FRAME_INDEX_BITS}:h=ih/${FRAME_INDEX_BITS}`;
    filters.push(`drawbox=${block}:c=white:t=fill:enable='eq(mod(floor(n/${2 ** bit})\\,2)\\,1)'`);
  }
  return filters;
}

/** Reads the frame number from 16 grey levels, one per block (bit 0 on the left). */
export function decodeFrameIndex(levels: Uint8Array): number {
  if (levels.length !== FRAME_INDEX_BITS) throw new Error(`expected ${FRAME_INDEX_BITS} levels, got ${levels.length}`);
  let index = 0;
  levels.forEach((level, bit) => {
    if (level >= 128) index += 2 ** bit;
  });
  return index;
}

/** The source frame number shown by the first frame of a media file (a segment). */
export async function firstFrameIndex(ffmpeg: ResolvedBinary, file: string): Promise<number> {
  // Raw bytes: core's runOnce decodes output as text, which would mangle grey levels above 127.
  const { stdout } = await execFileAsync(ffmpeg.path, [
    "-hide_banner",
    "-loglevel",
    "error",
    "-i",
    file,
    "-frames:v",
    "1",
    // Average each block down to one grey pixel.
    "-vf",
    `crop=iw:ih/${FRAME_INDEX_BITS}:0:ih*${FRAME_INDEX_BITS - 1}/${FRAME_INDEX_BITS},scale=${FRAME_INDEX_BITS}:1:flags=area,format=gray`,
    "-f",
    "rawvideo",
    "pipe:1",
  ], { encoding: "buffer", timeout: 60_000 });
  return decodeFrameIndex(stdout);
}
