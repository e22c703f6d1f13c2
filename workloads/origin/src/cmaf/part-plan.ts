/**
 * Where the parts of one GOP end. rfc8216bis 4.4.4.9: a part lasts at most PART-TARGET, and at
 * least 85 % of it — except an INDEPENDENT part (the GOP's first) and a parent segment's last.
 * Cutting each part at the target, as FFmpeg's `-frag_duration` does, leaves the remainder for the
 * GOP's last part: a 25-frame GOP in 0.33 s parts becomes 8 + 8 + 8 + 1 frames, and that
 * one-frame part, completed 40 ms after the one before it, is where hls.js stalled (it arrives with
 * the segment's end while the previous part is still being appended; measured in session 18,
 * bench/results/latency-session18.md). Planned, the remainder is shared between the two parts the
 * spec exempts: 4 + 8 + 8 + 5.
 */

/** The least share of PART-TARGET a part that is neither independent nor a segment's last may have. */
const MIN_PART_SHARE = 0.85;

export interface GopPlanInput {
  /** Frames the GOP is expected to have (the previous GOP's). */
  frames: number;
  /** A frame's duration, seconds. */
  frameSeconds: number;
  partTargetSeconds: number;
  /** The GOP ends its segment, so its last part is exempt from the 85 % rule. */
  endsSegment: boolean;
}

/** Floating-point slack only: a part of 9 frames at 30 fps is 0.3 s, not 0.30000000000000004. */
const ROUNDING = 1e-6;

/** The most whole frames a part of the target can hold, never none. */
export function maxFramesPerPart(frameSeconds: number, partTargetSeconds: number): number {
  return Math.max(1, Math.floor(partTargetSeconds / frameSeconds + ROUNDING));
}

/**
 * Frames per part for a GOP, in order: the middle parts within [85 %, 100 %] of the target and as
 * short as that allows, the rest split evenly between the first part and (if exempt) the last, the
 * larger share last. Among the splits the one whose smallest exempt part is largest wins, then
 * the one with fewer parts (fewer requests).
 */
export function planGopParts(input: GopPlanInput): number[] {
  const frames = Math.max(1, Math.round(input.frames));
  const most = maxFramesPerPart(input.frameSeconds, input.partTargetSeconds);
  const least = Math.min(most, Math.ceil((MIN_PART_SHARE * input.partTargetSeconds) / input.frameSeconds - ROUNDING));
  if (frames <= most) return [frames];
  const ends = input.endsSegment ? 2 : 1;
  let best: { score: number; middle: number; count: number } | undefined;
  for (let count = 0; count * least <= frames; count++) {
    // The middle parts take at least count × least frames, and enough that the ends fit in `most` each.
    const middle = Math.max(count * least, frames - ends * most);
    if (middle > count * most || frames - middle < ends) continue;
    const rest = frames - middle;
    const score = Math.floor(rest / ends);
    if (!best || score > best.score) best = { score, middle, count };
  }
  // Some count always fits when frames > most; should rounding ever defeat that, one part is safe.
  if (!best) return [frames];
  const middles = Array.from({ length: best.count }, (_, i) => Math.floor(best.middle / best.count) + (i < best.middle % best.count ? 1 : 0));
  const rest = frames - best.middle;
  return ends === 2 ? [Math.floor(rest / 2), ...middles, Math.ceil(rest / 2)] : [rest, ...middles];
}
