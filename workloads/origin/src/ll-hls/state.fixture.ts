/** Variant states for the LL-HLS tests: whole segments of equal parts, on a fixed wall clock. */
import type { CmafPart, CmafSegment, LlHlsVariantState } from "./model.js";

/** Segment 0 starts here; segment N starts N target durations later. */
const EPOCH_MS = Date.UTC(2024, 4, 1, 12, 0, 0);

export interface StateSpec {
  name?: string;
  targetDurationSeconds?: number;
  partTargetSeconds?: number;
  /** Complete segments `first`, `first + 1`, …: `complete` of them. */
  first?: number;
  complete?: number;
  /** Parts of the open segment after them; undefined: no open segment. */
  openParts?: number;
  ended?: boolean;
  /** Parts (other than each segment's first) that start with a keyframe, as `msn.index`. */
  independent?: readonly string[];
}

export function part(segment: number, index: number, durationSeconds: number, independent: boolean): CmafPart {
  return { segment, index, independent, durationSeconds, startSeconds: 0, videoFrames: Math.round(durationSeconds * 25), data: Buffer.from(`part ${segment}.${index}`) };
}

export function variantState(spec: StateSpec = {}): LlHlsVariantState {
  const { name = "source", targetDurationSeconds = 1, partTargetSeconds = 0.5, first = 100, complete = 5, openParts, ended = false, independent = [] } = spec;
  const partsPerSegment = Math.round(targetDurationSeconds / partTargetSeconds);
  const partsOf = (msn: number, count: number): CmafPart[] =>
    Array.from({ length: count }, (_, k) => {
      const p = part(msn, k, partTargetSeconds, k === 0 || independent.includes(`${msn}.${k}`));
      return { ...p, startSeconds: msn * targetDurationSeconds + k * partTargetSeconds };
    });
  const programDateTime = (msn: number): Date => new Date(EPOCH_MS + msn * targetDurationSeconds * 1000);
  const segments: CmafSegment[] = Array.from({ length: complete }, (_, i) => ({
    number: first + i,
    durationSeconds: targetDurationSeconds,
    parts: partsOf(first + i, partsPerSegment),
    programDateTime: programDateTime(first + i),
  }));
  const openNumber = first + complete;
  return {
    name,
    targetDurationSeconds,
    partTargetSeconds,
    segments,
    open: openParts === undefined ? undefined : { number: openNumber, parts: partsOf(openNumber, openParts), programDateTime: programDateTime(openNumber) },
    ended,
  };
}
