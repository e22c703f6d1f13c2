/**
 * Where a variant stands, in the terms the playlist and the blocking rules use: the newest part,
 * the newest complete segment and the part to hint next.
 */
import { hlsCutThreshold } from "@live360/core";
import type { CmafPart, LlHlsVariantState } from "./model.js";

/** A part by its segment's media sequence number and its index in that segment. */
export interface PartPosition {
  msn: number;
  part: number;
}

/** Orders positions as the stream does: by segment, then by part. */
export function comparePositions(a: PartPosition, b: PartPosition): number {
  return a.msn - b.msn || a.part - b.part;
}

/** The newest part of the variant (the open segment's, else the last segment's), if it has any. */
export function lastPart(state: LlHlsVariantState): PartPosition | undefined {
  if (state.open && state.open.parts.length > 0) return { msn: state.open.number, part: state.open.parts.length - 1 };
  const segment = state.segments.at(-1);
  return segment && segment.parts.length > 0 ? { msn: segment.number, part: segment.parts.length - 1 } : undefined;
}

/** The number of the newest complete segment, if there is one. */
export function lastSegmentNumber(state: LlHlsVariantState): number | undefined {
  return state.segments.at(-1)?.number;
}

/**
 * The part that comes next, named by `EXT-X-PRELOAD-HINT`: the open segment's next part, or the
 * first part of the segment after the last one. An open segment that has reached the segment
 * target closes at the next keyframe, which with keyframes once per segment (what the origin
 * asks of encoders) is the next part: it is hinted as the next segment's first part, so players
 * do not ask for a part that will never exist. Undefined for a variant with nothing yet.
 */
export function nextPart(state: LlHlsVariantState): PartPosition | undefined {
  const open = state.open;
  if (open) {
    const seconds = open.parts.reduce((sum, part) => sum + part.durationSeconds, 0);
    return seconds >= hlsCutThreshold(state.targetDurationSeconds) ? { msn: open.number + 1, part: 0 } : { msn: open.number, part: open.parts.length };
  }
  const last = lastSegmentNumber(state);
  return last === undefined ? undefined : { msn: last + 1, part: 0 };
}

/** A part still held by the variant (listed or not), by position. */
export function findPart(state: LlHlsVariantState, position: PartPosition): CmafPart | undefined {
  if (state.open?.number === position.msn) return state.open.parts[position.part];
  const first = state.segments[0];
  if (!first) return undefined;
  // Segments are consecutive (the renderer insists on it), so the index is arithmetic; the
  // number is checked all the same, so a state that breaks the rule serves nothing wrong.
  const segment = state.segments[position.msn - first.number];
  return segment?.number === position.msn ? segment.parts[position.part] : undefined;
}
