/**
 * The LL-HLS media playlist of one variant (draft-pantos-hls-rfc8216bis), rendered from the
 * packager's state on every request rather than written to disk: a blocking reload is answered
 * the moment a part exists, and a delta update is a different text of the same state.
 */
import { VARIANT_PLAYLIST } from "@live360/core";
import type { CmafPart, CmafSegment, LlHlsVariantState } from "./model.js";
import { initName, partName, segmentName } from "./names.js";
import { lastPart, nextPart } from "./position.js";

/** `_HLS_skip`: `v2` asks to skip date ranges too; live360 writes none, so only the tag differs. */
export type HlsSkip = "YES" | "v2";

/** `EXT-X-RENDITION-REPORT`: where another variant of the stream stands. */
export interface RenditionReport {
  /** Relative to this playlist, as the spec requires (4.4.5.4). */
  uri: string;
  lastMsn: number;
  lastPart: number;
}

export interface LlHlsPlaylistOptions {
  /**
   * `EXT-X-MAP`: the variant's initialization segment, normally `initName(init)`; a segment that
   * carries its own `init` is mapped to `initName` of that instead.
   */
  initUri: string;
  /** The request's `_HLS_skip`: a delta update. Ignored once the stream has ended (6.2.5.1). */
  skip?: HlsSkip;
  /** The other variants, e.g. `renditionReport(other)` for each. */
  renditionReports?: readonly RenditionReport[];
  segmentUri?: (msn: number) => string;
  partUri?: (msn: number, index: number) => string;
}

/** A state or an option the playlist cannot be written from; a bug upstream, never a request's fault. */
export class LlHlsPlaylistError extends Error {
  override name = "LlHlsPlaylistError";
}

/**
 * Parts are listed for the segments ending at most this many target durations before the live
 * edge, and for the open segment: the spec removes them "after they are greater than three
 * Target Durations from the end of the Playlist" (6.2.2), and its example (9.11) keeps the parts
 * of a segment that ends inside that distance though it starts outside it.
 */
export const PART_WINDOW_TARGET_DURATIONS = 3;
/** `CAN-SKIP-UNTIL`: the smallest Skip Boundary the spec allows (4.4.3.8), so deltas are smallest. */
export const SKIP_BOUNDARY_TARGET_DURATIONS = 6;
/**
 * `PART-HOLD-BACK` unless the variant says otherwise: the spec's recommended floor of three part
 * targets (4.4.3.8: MUST ≥ 2, SHOULD ≥ 3) — the latency goal of #15 leaves no room for more.
 */
export const DEFAULT_PART_HOLD_BACK_PARTS = 3;

/**
 * Durations are written with five decimals (10 µs) and all arithmetic on them is done in those
 * units, so that what the playlist says holds for what it says: a part no longer than the part
 * target is still no longer once both are rounded, and PART-HOLD-BACK is its multiple of the
 * PART-TARGET as written, not as it was before rounding.
 */
const UNITS_PER_SECOND = 100_000;
const units = (seconds: number): number => Math.round(seconds * UNITS_PER_SECOND);

function decimal(value: number): string {
  const fraction = String(value % UNITS_PER_SECOND).padStart(5, "0").replace(/0+$/, "");
  return `${Math.floor(value / UNITS_PER_SECOND)}.${fraction || "0"}`;
}

/** The report other variants' playlists carry for `state`; undefined while it has no part. */
export function renditionReport(state: LlHlsVariantState, uri = `../${state.name}/${VARIANT_PLAYLIST}`): RenditionReport | undefined {
  const last = lastPart(state);
  return last && { uri, lastMsn: last.msn, lastPart: last.part };
}

/**
 * The media playlist of `state`. The variant must have at least one part (before that the
 * origin has no playlist to serve: 404, as for a TS variant whose playlist is not written yet).
 */
export function renderLlHlsMediaPlaylist(state: LlHlsVariantState, options: LlHlsPlaylistOptions): string {
  checkState(state);
  const segmentUri = options.segmentUri ?? segmentName;
  const partUri = options.partUri ?? partName;
  const openParts = state.open?.parts ?? [];
  const mediaSequence = state.segments[0]?.number ?? state.open?.number;
  if (mediaSequence === undefined || (state.segments.length === 0 && openParts.length === 0)) {
    throw new LlHlsPlaylistError(`variant ${state.name} has no part yet`);
  }

  const target = state.targetDurationSeconds * UNITS_PER_SECOND;
  // Where each complete segment ends, from the start of the first one.
  const ends: number[] = [];
  for (const segment of state.segments) ends.push((ends.at(-1) ?? 0) + units(segment.durationSeconds));
  const lastEnd = ends.at(-1) ?? 0;
  const liveEdge = openParts.reduce((end, part) => end + units(part.durationSeconds), lastEnd);
  // A delta update leaves out the segments that end further than the Skip Boundary before the
  // end of the last segment (6.2.5.1); none once the stream has ended.
  const skipBoundary = SKIP_BOUNDARY_TARGET_DURATIONS * target;
  const skipped = options.skip && !state.ended ? ends.filter((end) => lastEnd - end > skipBoundary).length : 0;
  const partTarget = units(state.partTargetSeconds);

  const lines = [
    "#EXTM3U",
    // The lowest version that covers what is written (6.2.1, 8): EXT-X-MAP needs 6, EXT-X-SKIP 9.
    `#EXT-X-VERSION:${skipped > 0 ? 9 : 6}`,
    `#EXT-X-TARGETDURATION:${state.targetDurationSeconds}`,
    `#EXT-X-MEDIA-SEQUENCE:${mediaSequence}`,
    `#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=${decimal(Math.round((state.partHoldBackParts ?? DEFAULT_PART_HOLD_BACK_PARTS) * partTarget))},CAN-SKIP-UNTIL=${decimal(skipBoundary)}`,
    `#EXT-X-PART-INF:PART-TARGET=${decimal(partTarget)}`,
  ];
  if (state.discontinuitySequence) lines.push(`#EXT-X-DISCONTINUITY-SEQUENCE:${state.discontinuitySequence}`);
  if (skipped > 0) {
    // A v2 request asks to skip date ranges as well, and such a delta must then say which were
    // removed recently (4.4.5.2): none, as live360 writes no date ranges.
    lines.push(`#EXT-X-SKIP:SKIPPED-SEGMENTS=${skipped}${options.skip === "v2" ? ',RECENTLY-REMOVED-DATERANGES=""' : ""}`);
  }
  const partLines = (parts: readonly CmafPart[]): string[] =>
    parts.map((part) => `#EXT-X-PART:DURATION=${decimal(units(part.durationSeconds))}${part.independent ? ",INDEPENDENT=YES" : ""},URI=${quoted(partUri(part.segment, part.index))}`);
  // After the skip, EXT-X-MAP is written for the first segment that remains (it applies to those
  // skipped as well), then again wherever the init changes; a discontinuity comes before both.
  let mapped: string | undefined;
  const segmentHead = (segment: Pick<CmafSegment, "init" | "discontinuity" | "programDateTime">): string[] => {
    const map = segment.init ? initName(segment.init) : options.initUri;
    const head = segment.discontinuity ? ["#EXT-X-DISCONTINUITY"] : [];
    if (map !== mapped) head.push(`#EXT-X-MAP:URI=${quoted(map)}`);
    mapped = map;
    // Tags of a segment precede its first part (4.4.4.9).
    return [...head, `#EXT-X-PROGRAM-DATE-TIME:${segment.programDateTime.toISOString()}`];
  };
  state.segments.forEach((segment, i) => {
    if (i < skipped) return;
    lines.push(...segmentHead(segment));
    if (liveEdge - ends[i]! <= PART_WINDOW_TARGET_DURATIONS * target) lines.push(...partLines(segment.parts));
    lines.push(`#EXTINF:${decimal(units(segment.durationSeconds))},`, line(segmentUri(segment.number)));
  });
  if (state.open && openParts.length > 0) lines.push(...segmentHead(state.open), ...partLines(openParts));
  // An ended playlist hints nothing (4.4.5.3).
  const hint = state.ended ? undefined : nextPart(state);
  if (hint) lines.push(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI=${quoted(partUri(hint.msn, hint.part))}`);
  for (const report of options.renditionReports ?? []) {
    lines.push(`#EXT-X-RENDITION-REPORT:URI=${quoted(report.uri)},LAST-MSN=${report.lastMsn},LAST-PART=${report.lastPart}`);
  }
  if (state.ended) lines.push("#EXT-X-ENDLIST");
  return lines.join("\n") + "\n";
}

/**
 * What the playlist's arithmetic relies on: a media sequence number is the first segment's
 * plus a position, so segments (and the open one after them) must be consecutive, and a part's
 * `_HLS_part` is its position in its segment.
 */
function checkState(state: LlHlsVariantState): void {
  if (!Number.isInteger(state.targetDurationSeconds) || state.targetDurationSeconds < 1) {
    throw new LlHlsPlaylistError(`variant ${state.name}: target duration ${state.targetDurationSeconds} is not a whole number of seconds ≥ 1`);
  }
  if (!(state.partTargetSeconds > 0 && state.partTargetSeconds <= state.targetDurationSeconds)) {
    throw new LlHlsPlaylistError(`variant ${state.name}: part target ${state.partTargetSeconds} s is not within the target duration`);
  }
  const numbers = [...state.segments.map((s) => s.number), ...(state.open ? [state.open.number] : [])];
  numbers.forEach((n, i) => {
    if (!Number.isSafeInteger(n) || n < 0 || (i > 0 && n !== numbers[i - 1]! + 1)) {
      throw new LlHlsPlaylistError(`variant ${state.name}: segment numbers ${numbers.join(",")} are not consecutive`);
    }
  });
  for (const { number, parts } of [...state.segments, ...(state.open ? [state.open] : [])]) {
    parts.forEach((part, i) => {
      if (part.segment !== number || part.index !== i) {
        throw new LlHlsPlaylistError(`variant ${state.name}: part ${part.segment}.${part.index} is listed as part ${i} of segment ${number}`);
      }
    });
  }
}

/** A quoted-string may hold no `"` and no line break (4.2); an unquoted URI line no line break. */
function quoted(uri: string): string {
  if (uri.includes('"')) throw new LlHlsPlaylistError(`URI ${JSON.stringify(uri)} cannot be quoted`);
  return `"${line(uri)}"`;
}

function line(uri: string): string {
  if (/[\r\n]/.test(uri) || uri === "") throw new LlHlsPlaylistError(`URI ${JSON.stringify(uri)} is not one line`);
  return uri;
}
