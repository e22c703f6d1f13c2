/**
 * The shared model of one LL-HLS variant (issue #15): what the CMAF packager (../cmaf/) produces
 * from FFmpeg's fragmented MP4 and what the playlist renderer and blocking-reload logic (this
 * folder) read. Parts and segments are numbered as the origin numbers its TS segments today
 * (numbering.ts): segment N is the same media on primary and backup, so part N.k is too.
 */

/** One part (an LL-HLS partial segment): one CMAF chunk, `moof` + `mdat`, of one rendition. */
export interface CmafPart {
  /** The media sequence number of the segment the part belongs to. */
  segment: number;
  /** The part's index inside its segment, from 0. */
  index: number;
  /** Starts with a sync sample (keyframe): `INDEPENDENT=YES`. */
  independent: boolean;
  durationSeconds: number;
  /** Decode time of the part's first sample in seconds on the stream's timeline. */
  startSeconds: number;
  /** Video samples (frames) in the part, for the variant's measured frame rate. */
  videoFrames: number;
  /** The chunk's bytes (`moof` + `mdat`, possibly `styp` first), served as is. */
  data: Buffer;
}

/** A complete segment: its parts in order; its bytes are their concatenation. */
export interface CmafSegment {
  number: number;
  durationSeconds: number;
  parts: readonly CmafPart[];
  /** Wall-clock time of its first sample, for `EXT-X-PROGRAM-DATE-TIME`. */
  programDateTime: Date;
  /**
   * The init segment its parts need, when the variant has had more than one (a restarted
   * FFmpeg, new codec parameters); undefined: the playlist's `initUri`.
   */
  init?: CmafInit;
  /** Follows a break in the media's timeline or encoding (a restarted FFmpeg): `EXT-X-DISCONTINUITY`. */
  discontinuity?: boolean;
}

/** The segment being written: its parts so far (the newest last). */
export interface OpenCmafSegment {
  number: number;
  parts: readonly CmafPart[];
  programDateTime: Date;
  init?: CmafInit;
  discontinuity?: boolean;
}

/** The initialization segment of a rendition (`ftyp` + `moov`), with what the master playlist needs. */
export interface CmafInit {
  data: Buffer;
  /** RFC 6381 codec strings of its tracks, e.g. `avc1.64001f`, `mp4a.40.2`. */
  codecs: readonly string[];
  /** Track timescales by handler type (`vide`, `soun`). */
  timescales: Readonly<Record<string, number>>;
}

/** What one variant has right now: the playlist renderer's input. */
export interface LlHlsVariantState {
  /** The variant's name (its directory: `source`, `360p`, …). */
  name: string;
  /** `EXT-X-TARGETDURATION`: the segment target, whole seconds, rounded up. */
  targetDurationSeconds: number;
  /** `PART-TARGET`. */
  partTargetSeconds: number;
  /** `PART-HOLD-BACK` in part targets; DEFAULT_PART_HOLD_BACK_PARTS when absent. */
  partHoldBackParts?: number;
  /** Complete segments in the window, oldest first. */
  segments: readonly CmafSegment[];
  /** The segment being written, if it has begun. */
  open: OpenCmafSegment | undefined;
  /** `EXT-X-DISCONTINUITY-SEQUENCE`: discontinuities of segments no longer in the window. */
  discontinuitySequence?: number;
  /** The stream ended: `EXT-X-ENDLIST`, no preload hint. */
  ended: boolean;
}
