/**
 * Cuts one rendition's fragmented-MP4 stream from FFmpeg (cmafOutputArgs) into what LL-HLS serves:
 * the init segment once, then parts as they complete, and segments as they close.
 *
 * - A part is one FFmpeg fragment: the boxes after the previous `mdat` (a `styp`, `prft`… if any,
 *   then the `moof`) up to and including its `mdat`. Its bytes are FFmpeg's, never rewritten: the
 *   copied rung's samples stay the encoder's.
 * - A segment begins with an independent part (its first video sample is a keyframe) once the open
 *   segment has reached the segment target, less hlsCutThreshold's margin for timestamp jitter. Each
 *   segment is measured on its own (no drift), so renditions whose keyframes are aligned (the
 *   ladder forces the source's) cut at the same instants and get the same numbers.
 * - Timing is the lead track's (the first video track, else the first track): FFmpeg cuts a
 *   fragment for all tracks at once, and the video decides independence.
 */
import { Live360Error, hlsCutThreshold } from "@live360/core";
import type { CmafInit, CmafPart, CmafSegment, LlHlsVariantState } from "../ll-hls/model.js";
import { BoxSplitter, DEFAULT_MAX_BOX_BYTES, Mp4BoxError, readMoof, type Mp4Box, type TrackFragment } from "./boxes.js";
import { CmafInitError, parseInit, type InitTrack, type ParsedInit } from "./init.js";

export type CmafStreamErrorReason =
  /** A box where the stream's structure does not allow one (a moof before the init, a second moov…). */
  | "unexpected-box"
  /** A fragment without samples: FFmpeg never writes one, and they would let parts pile up for free. */
  | "empty-fragment"
  /** The open segment outgrew maxSegmentSeconds or maxSegmentBytes without a keyframe to cut at. */
  | "segment-too-long"
  /** numberAt returned something that cannot name a segment. */
  | "bad-number";

/** The fragment stream is valid MP4 but not what the packager can cut into LL-HLS. */
export class CmafStreamError extends Live360Error {
  constructor(
    readonly reason: CmafStreamErrorReason,
    message: string,
  ) {
    super(message);
  }
}

export type CmafPackagerError = Mp4BoxError | CmafInitError | CmafStreamError;

export type CmafEvent =
  | { type: "init"; init: CmafInit }
  | { type: "part"; part: CmafPart }
  | { type: "segment"; segment: CmafSegment }
  /** The stream is unusable from here on; the packager ignores further input. */
  | { type: "error"; error: CmafPackagerError };

export interface CmafPackagerOptions {
  /** The segment target (seconds): a segment closes at the first keyframe at or after it. */
  segmentSeconds: number;
  /**
   * Number of the first segment. Called once, with the presentation time (seconds, on FFmpeg's
   * output timeline: the encoder's timestamps + TIMELINE_OFFSET_SECONDS under -copyts) of the
   * keyframe the segment starts with: (tfdt + the first sample's composition offset) ÷ the lead
   * track's timescale. Presentation, not decode time: renditions with different B-frame delays
   * share presentation times only. The caller maps it to that keyframe's arrival,
   * arrivalMs(first keyframe) + (t − t(first keyframe)) × 1000, and asks its NumberSegmentAt
   * (numbering.ts); it should round to the nearest segment as alignedSegmentNumber does, because
   * the renditions' keyframe times differ by the encoders' time-base rounding (≤ 0.4 ms measured:
   * 10.0670 s copied, 10.0667 s from x264), which a floor could split across a boundary.
   * Later segments number on by one, as FFmpeg's -start_number does for TS: media sequence
   * numbers cannot have gaps, and a number from each segment's time would skip whenever keyframes
   * are further apart than the target (a 2 s GOP under a 1 s target).
   */
  numberAt(startSeconds: number): number;
  /** Wall-clock time of a presentation time on the same timeline, for EXT-X-PROGRAM-DATE-TIME. */
  programDateTimeAt(startSeconds: number): Date;
  /**
   * The `-frag_duration` FFmpeg was given (cmafOutputArgs), if known. FFmpeg ends a fragment early
   * only at a keyframe (`frag_keyframe`) or at the end, so a fragment shorter than this is followed
   * by a keyframe: a segment that has reached its target closes with it, instead of when the next
   * fragment arrives one part later (meanwhile players see a segment with every part but no
   * EXTINF, and hints naming a segment that has not begun).
   */
  fragmentSeconds?: number;
  /** Largest box accepted (DEFAULT_MAX_BOX_BYTES); also bounds the boxes before one mdat. */
  maxBoxBytes?: number;
  /** Longest segment held while waiting for a keyframe; default max(30 s, 3 targets). */
  maxSegmentSeconds?: number;
  /** Most bytes held in one open segment; default 128 MiB. */
  maxSegmentBytes?: number;
}

interface OpenSegment {
  number: number;
  programDateTime: Date;
  parts: CmafPart[];
  durationSeconds: number;
  bytes: number;
}

/** Boxes that make up the init segment, up to and including the moov. */
const INIT_BOXES = new Set(["ftyp", "free", "skip", "uuid", "moov"]);

/** One per rendition: feed it the rendition's FFmpeg output, chunk by chunk. */
export class CmafPackager {
  private readonly splitter: BoxSplitter;
  private readonly cutAtSeconds: number;
  private readonly maxBoxBytes: number;
  private readonly maxSegmentSeconds: number;
  private readonly maxSegmentBytes: number;
  private initBoxes: Buffer[] = [];
  private initBytes = 0;
  private parsed: ParsedInit | undefined;
  private lead: InitTrack | undefined;
  /** Boxes of the part being received, before its mdat. */
  private group: Mp4Box[] = [];
  private groupBytes = 0;
  private segment: OpenSegment | undefined;
  /** The number of the last closed segment: the next one is one more. */
  private lastNumber: number | undefined;
  private failure: CmafPackagerError | undefined;
  private ended = false;

  constructor(private readonly options: CmafPackagerOptions) {
    this.maxBoxBytes = options.maxBoxBytes ?? DEFAULT_MAX_BOX_BYTES;
    this.splitter = new BoxSplitter(this.maxBoxBytes);
    this.cutAtSeconds = hlsCutThreshold(options.segmentSeconds);
    this.maxSegmentSeconds = options.maxSegmentSeconds ?? Math.max(30, 3 * options.segmentSeconds);
    this.maxSegmentBytes = options.maxSegmentBytes ?? 128 * 1024 * 1024;
  }

  /** Why the packager stopped, if it did. */
  get error(): CmafPackagerError | undefined {
    return this.failure;
  }

  /** The segment being written, as the playlist renderer wants it. */
  get open(): LlHlsVariantState["open"] {
    const s = this.segment;
    return s && { number: s.number, parts: [...s.parts], programDateTime: s.programDateTime };
  }

  /** Bytes held for boxes, parts and the open segment that have not been handed out as a segment. */
  get bufferedBytes(): number {
    return this.splitter.bufferedBytes + this.initBytes + this.groupBytes + (this.segment?.bytes ?? 0);
  }

  push(chunk: Buffer): CmafEvent[] {
    if (this.failure || this.ended) return [];
    const events: CmafEvent[] = [];
    const { boxes, error } = this.splitter.push(chunk);
    for (const box of boxes) {
      const failed = this.onBox(box, events);
      if (failed) return this.fail(events, failed);
    }
    return error ? this.fail(events, error) : events;
  }

  /** The stream ended: closes the open segment; reports a stream cut off inside a part. */
  end(): CmafEvent[] {
    if (this.failure || this.ended) return [];
    this.ended = true;
    const events: CmafEvent[] = [];
    this.closeSegment(events);
    const truncated =
      this.splitter.end() ??
      (this.initBytes > 0 ? new Mp4BoxError("truncated", "the stream ended before its init segment's moov") : undefined) ??
      (this.group.length > 0 ? new Mp4BoxError("truncated", "the stream ended between a moof and its mdat") : undefined);
    this.initBoxes = [];
    this.initBytes = 0;
    this.group = [];
    this.groupBytes = 0;
    if (truncated) {
      this.failure = truncated;
      events.push({ type: "error", error: truncated });
    }
    return events;
  }

  private fail(events: CmafEvent[], error: CmafPackagerError): CmafEvent[] {
    this.failure = error;
    this.initBoxes = [];
    this.initBytes = 0;
    this.group = [];
    this.groupBytes = 0;
    this.segment = undefined;
    events.push({ type: "error", error });
    return events;
  }

  /** Handles one box; returns an error to stop at. */
  private onBox(box: Mp4Box, events: CmafEvent[]): CmafPackagerError | undefined {
    if (!this.parsed) return this.onInitBox(box, events);
    if (box.type === "ftyp" || box.type === "moov") {
      return new CmafStreamError("unexpected-box", `a second ${box.type} box after the init segment: a changed stream needs a new packager`);
    }
    // The fragment index FFmpeg appends at the end of a file: nothing plays from it.
    if (box.type === "mfra") return undefined;
    if (box.type === "moof" && this.group.some((b) => b.type === "moof")) return new CmafStreamError("unexpected-box", "a moof without an mdat after it");
    if (box.type !== "mdat") {
      this.groupBytes += box.bytes.length;
      if (this.groupBytes > this.maxBoxBytes) return new CmafStreamError("unexpected-box", `${this.groupBytes} bytes of boxes without an mdat`);
      this.group.push(box);
      return undefined;
    }
    const moof = this.group.find((b) => b.type === "moof");
    if (!moof) return new CmafStreamError("unexpected-box", "an mdat without a moof before it");
    const data = Buffer.concat([...this.group.map((b) => b.bytes), box.bytes]);
    this.group = [];
    this.groupBytes = 0;
    return this.onFragment(moof, data, events);
  }

  private onInitBox(box: Mp4Box, events: CmafEvent[]): CmafPackagerError | undefined {
    if (!INIT_BOXES.has(box.type)) return new CmafStreamError("unexpected-box", `a ${box.type} box before the init segment's moov`);
    this.initBoxes.push(box.bytes);
    this.initBytes += box.bytes.length;
    if (this.initBytes > this.maxBoxBytes) return new CmafStreamError("unexpected-box", `${this.initBytes} bytes before a moov`);
    if (box.type !== "moov") return undefined;
    const parsed = parseInit(Buffer.concat(this.initBoxes));
    this.initBoxes = [];
    this.initBytes = 0;
    if (parsed instanceof CmafInitError) return parsed;
    this.parsed = parsed;
    this.lead = parsed.tracks.find((t) => t.handler === "vide") ?? parsed.tracks[0];
    events.push({ type: "init", init: parsed.init });
    return undefined;
  }

  private onFragment(moof: Mp4Box, data: Buffer, events: CmafEvent[]): CmafPackagerError | undefined {
    const tracks = this.parsed!.tracks;
    const fragments = readMoof(moof, (id) => tracks.find((t) => t.id === id));
    if (fragments instanceof Mp4BoxError) return fragments;
    const timing = this.timing(fragments);
    if (!timing) return new CmafStreamError("empty-fragment", "a fragment without samples");

    let segment = this.segment;
    if (segment && timing.independent && segment.durationSeconds >= this.cutAtSeconds) {
      this.closeSegment(events);
      segment = undefined;
    }
    if (!segment) {
      // A segment must start with a keyframe: what precedes the first one cannot be decoded.
      if (!timing.independent) return undefined;
      const number = this.lastNumber === undefined ? this.options.numberAt(timing.presentationSeconds) : this.lastNumber + 1;
      if (!Number.isSafeInteger(number) || number < 0) return new CmafStreamError("bad-number", `numberAt(${timing.presentationSeconds}) returned ${number}`);
      segment = { number, programDateTime: this.options.programDateTimeAt(timing.presentationSeconds), parts: [], durationSeconds: 0, bytes: 0 };
      this.segment = segment;
    }
    const part: CmafPart = {
      segment: segment.number,
      index: segment.parts.length,
      independent: timing.independent,
      durationSeconds: timing.durationSeconds,
      startSeconds: timing.decodeSeconds,
      videoFrames: timing.videoFrames,
      data,
    };
    segment.parts.push(part);
    segment.durationSeconds += part.durationSeconds;
    segment.bytes += data.length;
    if (segment.durationSeconds > this.maxSegmentSeconds || segment.bytes > this.maxSegmentBytes) {
      return new CmafStreamError("segment-too-long", `segment ${segment.number} reached ${segment.durationSeconds.toFixed(3)} s / ${segment.bytes} bytes without a keyframe to cut at`);
    }
    events.push({ type: "part", part });
    // A fragment cut short by the keyframe after it (see fragmentSeconds): the segment is complete.
    const cutShort = this.options.fragmentSeconds !== undefined && part.durationSeconds < this.options.fragmentSeconds - 0.001;
    if (cutShort && segment.durationSeconds >= this.cutAtSeconds) this.closeSegment(events);
    return undefined;
  }

  private closeSegment(events: CmafEvent[]): void {
    const s = this.segment;
    if (!s) return;
    this.segment = undefined;
    this.lastNumber = s.number;
    events.push({ type: "segment", segment: { number: s.number, durationSeconds: s.durationSeconds, parts: s.parts, programDateTime: s.programDateTime } });
  }

  /**
   * A fragment's place and length, from the lead track's traf; a fragment without one (FFmpeg ends
   * a stream with the audio left after the last video frame) is timed by its longest traf and is
   * never independent.
   */
  private timing(fragments: readonly TrackFragment[]): { decodeSeconds: number; presentationSeconds: number; durationSeconds: number; independent: boolean; videoFrames: number } | undefined {
    const timescaleOf = (f: TrackFragment): number => this.parsed!.tracks.find((t) => t.id === f.trackId)!.timescale;
    const withSamples = fragments.filter((f) => f.sampleCount > 0);
    const lead = withSamples.find((f) => f.trackId === this.lead!.id);
    const timed = lead ?? withSamples.sort((a, b) => b.duration / timescaleOf(b) - a.duration / timescaleOf(a))[0];
    if (!timed) return undefined;
    const timescale = timescaleOf(timed);
    return {
      decodeSeconds: timed.baseMediaDecodeTime / timescale,
      presentationSeconds: (timed.baseMediaDecodeTime + timed.firstCompositionOffset) / timescale,
      durationSeconds: timed.duration / timescale,
      independent: lead !== undefined && lead.firstSampleIsSync,
      videoFrames: lead !== undefined && this.lead!.handler === "vide" ? lead.sampleCount : 0,
    };
  }
}
