/**
 * The names of an LL-HLS variant's files, next to its playlist (`/hls/<stream>/<variant>/…`),
 * shared by the origin (which serves them) and the edge (which caches them by these shapes):
 *
 * - `index.m3u8`: the media playlist, as for TS (core's VARIANT_PLAYLIST).
 * - `seg_00042.m4s`: segment 42, numbered and zero-padded as the TS segments are (`seg_%05d.ts`),
 *   so primary and backup still name the same media alike (numbering.ts).
 * - `seg_00042.3.m4s`: part 3 of segment 42; its number is its segment's, so it is the same
 *   media on both origins too.
 * - `init_<16 hex>.mp4`: the initialization segment, named after its bytes (SHA-256). Every
 *   file here is cached as immutable, and an init is the one that changes without its segment
 *   numbers changing (an encoder restarted with new parameters): named by content, a new init
 *   gets a new name, while two origins running the same FFmpeg on the same source, whose inits
 *   are byte-identical, still agree on the name.
 *
 * The patterns are anchored, admit no `%`, `/` or `..`, and use only syntax PCRE shares, so the
 * edge can put their `.source` into nginx locations.
 */
import { createHash } from "node:crypto";
import type { CmafInit } from "./model.js";

/** Segment N: `seg_<N, at least 5 digits>.m4s`, the widths the origin accepts for TS. */
export const SEGMENT_FILE = /^seg_(\d{5,12})\.m4s$/;
/** Part K of segment N: `seg_<N>.<K>.m4s`. */
export const PART_FILE = /^seg_(\d{5,12})\.(\d{1,3})\.m4s$/;
/** The initialization segment: `init_<first 16 hex digits of its SHA-256>.mp4`. */
export const INIT_FILE = /^init_([0-9a-f]{16})\.mp4$/;

const pad = (msn: number): string => String(msn).padStart(5, "0");

export function segmentName(msn: number): string {
  return `seg_${pad(msn)}.m4s`;
}

export function partName(msn: number, index: number): string {
  return `seg_${pad(msn)}.${index}.m4s`;
}

export function initName(init: CmafInit): string {
  return `init_${createHash("sha256").update(init.data).digest("hex").slice(0, 16)}.mp4`;
}

export type LlHlsFile = { kind: "segment"; msn: number } | { kind: "part"; msn: number; index: number } | { kind: "init"; hash: string };

/**
 * What a file name in a variant's directory names, or undefined. Only the one spelling this
 * module writes is accepted (`seg_00042.03.m4s` is not part 3): a second name for the same
 * bytes would be a second cache entry at the edge.
 */
export function parseFileName(name: string): LlHlsFile | undefined {
  const part = PART_FILE.exec(name);
  if (part) {
    const [msn, index] = [Number(part[1]), Number(part[2])];
    return partName(msn, index) === name ? { kind: "part", msn, index } : undefined;
  }
  const segment = SEGMENT_FILE.exec(name);
  if (segment) {
    const msn = Number(segment[1]);
    return segmentName(msn) === name ? { kind: "segment", msn } : undefined;
  }
  const init = INIT_FILE.exec(name);
  return init ? { kind: "init", hash: init[1]! } : undefined;
}
