/**
 * Cuts one rendition's fragmented-MP4 stream from FFmpeg (cmafOutputArgs) into what LL-HLS serves:
 * the init segment once, then parts as they complete, and segments as they close.
 *
 * - FFmpeg writes fragments of about two frames (output-args.ts); the packager gathers them into
 *   parts planned per GOP (part-plan.ts: parts close to PART-TARGET, the remainder shared by the
 *   GOP's first and last part instead of a one-frame part at the end), splits a fragment where the
 *   plan ends a part inside it, and joins each part's fragments into one moof + mdat (chunk.ts).
 *   A part is handed out the moment the fragment holding its last frame arrives, so the parts are
 *   the plan's whatever FFmpeg's fragments are. The samples' bytes are never rewritten: the copied
 *   rung's stay the encoder's.
 * - A video keyframe always begins a part. A segment begins with one once the open segment has
 *   reached the segment target, less hlsCutThreshold's margin for timestamp jitter. Each segment
 *   is measured on its own (no drift), so renditions whose keyframes are aligned (the ladder
 *   forces the source's) cut at the same instants and get the same numbers.
 * - Timing is the lead track's (the first video track, else the first track): the video decides
 *   independence and where parts end; audio goes with the part open when it arrives.
 */
import { Live360Error, hlsCutThreshold } from "@live360/core";
import type { CmafInit, CmafPart, CmafSegment, LlHlsVariantState } from "../ll-hls/model.js";
import { BoxSplitter, DEFAULT_MAX_BOX_BYTES, Mp4BoxError, readMoof, type Mp4Box, type TrackFragment } from "./boxes.js";
import { joinFragments, splitFragment, type ReceivedFragment } from "./chunk.js";
import { CmafInitError, parseInit, type InitTrack, type ParsedInit } from "./init.js";
import { maxFramesPerPart, planGopParts } from "./part-plan.js";

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
  /** PART-TARGET (seconds): no part is longer, unless one fragment from FFmpeg already is. */
  partTargetSeconds: number;
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
  /** Largest box accepted (DEFAULT_MAX_BOX_BYTES); also bounds the boxes before one mdat. */
  maxBoxBytes?: number;
  /** Longest segment held while waiting for a keyframe; default max(30 s, 3 targets). */
  maxSegmentSeconds?: number;
  /** Most bytes held in one open segment; default 128 MiB. */
  maxSegmentBytes?: number;
}

/** A fragment with the lead track's view of it (CmafPackager.timing). */
interface TimedFragment extends ReceivedFragment {
  timing: FragmentTiming;
}

interface FragmentTiming {
  decodeSeconds: number;
  presentationSeconds: number;
  durationSeconds: number;
  /** Its first lead sample is a sync sample: a keyframe of the video (any sample of audio alone). */
  independent: boolean;
  /** Lead track samples in it (0: only other tracks' samples, e.g. audio between two frames). */
  leadSamples: number;
  videoFrames: number;
}

/** The part being gathered. */
interface PendingPart {
  fragments: TimedFragment[];
  bytes: number;
  leadSamples: number;
  leadSeconds: number;
  /** Seconds of fragments without lead samples (timed by their longest track). */
  otherSeconds: number;
}

/** The parts planned for the GOP being received. */
interface GopPlan {
  /** Lead samples and seconds since the GOP's first keyframe. */
  samples: number;
  seconds: number;
  /** The sample counts (from the GOP's start) at which the parts still to come end, soonest first. */
  partEnds: number[];
  /** Samples of a full part: the parts after the planned ones, when the GOP runs longer. */
  fullPart: number;
  /** Parts ended by the plan so far. */
  partsCut: number;
  /** How long the segment was when the GOP began: whether the GOP is expected to end it. */
  segmentSecondsAtStart: number;
}

const emptyPending = (): PendingPart => ({ fragments: [], bytes: 0, leadSamples: 0, leadSeconds: 0, otherSeconds: 0 });

/** Timestamps are an encoder's milliseconds (FLV): whether a GOP is expected to reach the segment target allows for their rounding. */
const TIME_SLACK_SECONDS = 0.0015;

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
  private splitter: BoxSplitter;
  private readonly cutAtSeconds: number;
  private readonly partTargetSeconds: number;
  private readonly maxBoxBytes: number;
  private readonly maxSegmentSeconds: number;
  private readonly maxSegmentBytes: number;
  private initBoxes: Buffer[] = [];
  private initBytes = 0;
  private parsed: ParsedInit | undefined;
  private lead: InitTrack | undefined;
  /** Boxes of the fragment being received, before its mdat. */
  private group: Mp4Box[] = [];
  private groupBytes = 0;
  private pending = emptyPending();
  private gop: GopPlan | undefined;
  /** Lead samples and seconds of the last complete GOP: what the next one is expected to be. */
  private previousGop: { samples: number; seconds: number } | undefined;
  private segment: OpenSegment | undefined;
  /** The number of the last closed segment: the next one is one more. */
  private lastNumber: number | undefined;
  private failure: CmafPackagerError | undefined;
  private ended = false;

  constructor(private readonly options: CmafPackagerOptions) {
    this.maxBoxBytes = options.maxBoxBytes ?? DEFAULT_MAX_BOX_BYTES;
    this.splitter = new BoxSplitter(this.maxBoxBytes);
    this.cutAtSeconds = hlsCutThreshold(options.segmentSeconds);
    this.partTargetSeconds = options.partTargetSeconds;
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
    return this.splitter.bufferedBytes + this.initBytes + this.groupBytes + this.pending.bytes + (this.segment?.bytes ?? 0);
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
    const failed = this.flushPart(events);
    if (failed) return this.fail(events, failed);
    this.closeSegment(events);
    const truncated =
      this.splitter.end() ??
      (this.initBytes > 0 ? new Mp4BoxError("truncated", "the stream ended before its init segment's moov") : undefined) ??
      (this.group.length > 0 ? new Mp4BoxError("truncated", "the stream ended between a moof and its mdat") : undefined);
    this.initBoxes = [];
    this.initBytes = 0;
    this.group = [];
    this.groupBytes = 0;
    this.pending = emptyPending();
    if (truncated) {
      this.failure = truncated;
      events.push({ type: "error", error: truncated });
    }
    return events;
  }

  private fail(events: CmafEvent[], error: CmafPackagerError): CmafEvent[] {
    this.failure = error;
    // The rest of a box the splitter was receiving is of no use any more: released with it.
    this.splitter = new BoxSplitter(this.maxBoxBytes);
    this.initBoxes = [];
    this.initBytes = 0;
    this.group = [];
    this.groupBytes = 0;
    this.pending = emptyPending();
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
    const moofIndex = this.group.findIndex((b) => b.type === "moof");
    if (moofIndex < 0) return new CmafStreamError("unexpected-box", "an mdat without a moof before it");
    const group = this.group;
    const bytes = this.groupBytes + box.bytes.length;
    this.group = [];
    this.groupBytes = 0;
    const mdatAt = group.slice(moofIndex).reduce((sum, b) => sum + b.bytes.length, 0);
    return this.onFragment({ boxes: [...group.map((b) => b.bytes), box.bytes], bytes, moof: group[moofIndex]!, mdat: box, mdatAt }, events);
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

  private onFragment(received: Omit<ReceivedFragment, "tracks">, events: CmafEvent[]): CmafPackagerError | undefined {
    const tracks = this.parsed!.tracks;
    const fragments = readMoof(received.moof, (id) => tracks.find((t) => t.id === id));
    if (fragments instanceof Mp4BoxError) return fragments;
    return this.onPiece({ ...received, tracks: fragments }, events);
  }

  /** A fragment, or what is left of one after a part ended inside it. */
  private onPiece(received: ReceivedFragment, events: CmafEvent[]): CmafPackagerError | undefined {
    const timing = this.timing(received.tracks);
    if (!timing) return new CmafStreamError("empty-fragment", "a fragment without samples");
    const fragment: TimedFragment = { ...received, timing };

    if (timing.independent) {
      const failed = this.onIndependent(timing, events);
      if (failed) return failed;
    }
    let segment = this.segment;
    if (!segment) {
      // A segment must start with a keyframe: what precedes the first one cannot be decoded.
      if (!timing.independent) return this.holdBeforeKeyframe(fragment);
      const number = this.lastNumber === undefined ? this.options.numberAt(timing.presentationSeconds) : this.lastNumber + 1;
      if (!Number.isSafeInteger(number) || number < 0) return new CmafStreamError("bad-number", `numberAt(${timing.presentationSeconds}) returned ${number}`);
      segment = { number, programDateTime: this.options.programDateTimeAt(timing.presentationSeconds), parts: [], durationSeconds: 0, bytes: 0 };
      this.segment = segment;
      if (!this.leadIsVideo) this.startGop(timing);
    }
    // The plan ends a part inside this fragment (FFmpeg wrote it for several frames): the part
    // ends there, and the rest of the fragment begins the next one.
    const partEnd = this.gop?.partEnds[0];
    const pieces = partEnd === undefined ? undefined : splitFragment(received, this.lead!.id, partEnd - this.gop!.samples, this.timescaleOf);
    if (pieces) {
      const failed = this.addToPart(segment, { ...pieces[0], timing: this.timing(pieces[0].tracks)! }, events);
      return failed ?? this.onPiece(pieces[1], events);
    }
    return this.addToPart(segment, fragment, events);
  }

  private readonly timescaleOf = (trackId: number): number => this.parsed!.tracks.find((t) => t.id === trackId)!.timescale;

  /** Adds a fragment to the part being gathered; hands the part out where the GOP's plan ends it. */
  private addToPart(segment: OpenSegment, fragment: TimedFragment, events: CmafEvent[]): CmafPackagerError | undefined {
    const { timing } = fragment;
    if (timing.leadSamples > 0) {
      // The part would outgrow PART-TARGET with this fragment: it ends before it (floating-point slack only:
      // rfc8216bis 4.4.4.9 allows no part longer than the target).
      if (this.pending.leadSamples > 0 && this.pending.leadSeconds + timing.durationSeconds > this.partTargetSeconds + 1e-6) {
        const failed = this.flushPart(events);
        if (failed) return failed;
      }
      this.pending.leadSamples += timing.leadSamples;
      this.pending.leadSeconds += timing.durationSeconds;
    } else {
      this.pending.otherSeconds += timing.durationSeconds;
    }
    this.pending.fragments.push(fragment);
    this.pending.bytes += fragment.bytes;
    if (segment.bytes + this.pending.bytes > this.maxSegmentBytes) return this.tooLong(segment);

    const gop = this.gop;
    if (gop && timing.leadSamples > 0) {
      gop.samples += timing.leadSamples;
      gop.seconds += timing.durationSeconds;
      // The first GOP is planned from its first frame's duration, which millisecond timestamps
      // make 33 or 34 ms at 30 fps: until its first part ends it is re-planned on the average so
      // far, so every rendition converges on the same parts.
      if (!this.previousGop && gop.partsCut === 0) this.planGop(gop.seconds / gop.samples, gop.samples - timing.leadSamples);
      if (gop.partEnds.length > 0 && gop.samples >= gop.partEnds[0]!) {
        while (gop.partEnds.length > 0 && gop.partEnds[0]! <= gop.samples) gop.partEnds.shift();
        // Past the plan (a GOP longer than the last): full parts until the keyframe.
        if (gop.partEnds.length === 0) gop.partEnds.push(gop.samples + gop.fullPart);
        gop.partsCut++;
        return this.flushPart(events);
      }
    }
    // Audio a whole part ahead of the video (the video paused): the part goes out as it is.
    if (this.pending.otherSeconds - this.pending.leadSeconds >= this.partTargetSeconds) return this.flushPart(events);
    return undefined;
  }

  /**
   * Before a segment is open, what comes before the next keyframe is dropped — except the audio
   * after the last video frame, which an open segment would carry into the keyframe's part: kept,
   * an origin that joins mid-stream (a backup) makes that part byte for byte as its peer does.
   */
  private holdBeforeKeyframe(fragment: TimedFragment): undefined {
    if (fragment.timing.leadSamples > 0 || this.pending.otherSeconds + fragment.timing.durationSeconds > this.partTargetSeconds) {
      this.pending = emptyPending();
      if (fragment.timing.leadSamples > 0) return undefined;
    }
    this.pending.fragments.push(fragment);
    this.pending.bytes += fragment.bytes;
    this.pending.otherSeconds += fragment.timing.durationSeconds;
    return undefined;
  }

  private get leadIsVideo(): boolean {
    return this.lead!.handler === "vide";
  }

  /** A fragment starting with a sync sample: the segment may close here, and a video keyframe starts a part and a GOP. */
  private onIndependent(timing: FragmentTiming, events: CmafEvent[]): CmafPackagerError | undefined {
    const segment = this.segment;
    if (segment && segment.durationSeconds + this.pending.leadSeconds >= this.cutAtSeconds) {
      // The audio that came after the segment's last frame goes with the keyframe into the next
      // segment's first part, not into a tiny part of its own (holdBeforeKeyframe does the same).
      const failed = this.pending.leadSamples > 0 ? this.flushPart(events) : undefined;
      if (failed) return failed;
      this.closeSegment(events);
    } else if (this.leadIsVideo && this.pending.leadSamples > 0) {
      const failed = this.flushPart(events);
      if (failed) return failed;
    }
    if (this.leadIsVideo) this.startGop(timing);
    return undefined;
  }

  /**
   * Plans the parts of the GOP (for audio alone: of the segment) beginning with this fragment,
   * expecting it as long as the previous one — the encoder's GOP — or the segment target at first.
   */
  private startGop(timing: FragmentTiming): void {
    if (this.gop && this.gop.samples > 0) this.previousGop = { samples: this.gop.samples, seconds: this.gop.seconds };
    this.gop = { samples: 0, seconds: 0, partEnds: [], fullPart: 1, partsCut: 0, segmentSecondsAtStart: this.segment?.durationSeconds ?? 0 };
    const previous = this.previousGop;
    this.planGop(previous ? previous.seconds / previous.samples : timing.durationSeconds / Math.max(1, timing.leadSamples), 0);
  }

  /** Sets the part ends still to come of the GOP being received, for samples of `sampleSeconds`, past `passed` samples. */
  private planGop(sampleSeconds: number, passed: number): void {
    const gop = this.gop!;
    // Samples without duration (a broken stream) plan nothing: parts then end by PART-TARGET and keyframes only.
    if (!(sampleSeconds > 0)) return;
    const samples = this.previousGop?.samples ?? Math.round(this.options.segmentSeconds / sampleSeconds);
    const endsSegment = gop.segmentSecondsAtStart + samples * sampleSeconds >= this.cutAtSeconds - TIME_SLACK_SECONDS;
    const ends: number[] = [];
    for (const frames of planGopParts({ frames: samples, frameSeconds: sampleSeconds, partTargetSeconds: this.partTargetSeconds, endsSegment })) ends.push((ends.at(-1) ?? 0) + frames);
    gop.partEnds = ends.filter((end) => end > passed);
    gop.fullPart = maxFramesPerPart(sampleSeconds, this.partTargetSeconds);
  }

  /** Hands out the gathered fragments as the open segment's next part. */
  private flushPart(events: CmafEvent[]): CmafPackagerError | undefined {
    const pending = this.pending;
    const segment = this.segment;
    if (pending.fragments.length === 0 || !segment) return undefined;
    this.pending = emptyPending();
    const data = joinFragments(pending.fragments);
    if (data instanceof Mp4BoxError) return data;
    const leadFirst = pending.fragments.find((f) => f.timing.leadSamples > 0)?.timing;
    const part: CmafPart = {
      segment: segment.number,
      index: segment.parts.length,
      independent: leadFirst?.independent ?? false,
      durationSeconds: leadFirst ? pending.leadSeconds : pending.otherSeconds,
      startSeconds: (leadFirst ?? pending.fragments[0]!.timing).decodeSeconds,
      videoFrames: pending.fragments.reduce((sum, f) => sum + f.timing.videoFrames, 0),
      data,
    };
    segment.parts.push(part);
    segment.durationSeconds += part.durationSeconds;
    segment.bytes += data.length;
    if (segment.durationSeconds > this.maxSegmentSeconds || segment.bytes > this.maxSegmentBytes) return this.tooLong(segment);
    events.push({ type: "part", part });
    return undefined;
  }

  private tooLong(segment: OpenSegment): CmafStreamError {
    return new CmafStreamError("segment-too-long", `segment ${segment.number} reached ${segment.durationSeconds.toFixed(3)} s / ${segment.bytes + this.pending.bytes} bytes without a keyframe to cut at`);
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
  private timing(fragments: readonly TrackFragment[]): FragmentTiming | undefined {
    const withSamples = fragments.filter((f) => f.sampleCount > 0);
    const lead = withSamples.find((f) => f.trackId === this.lead!.id);
    const timed = lead ?? withSamples.sort((a, b) => b.duration / this.timescaleOf(b.trackId) - a.duration / this.timescaleOf(a.trackId))[0];
    if (!timed) return undefined;
    const timescale = this.timescaleOf(timed.trackId);
    return {
      decodeSeconds: timed.baseMediaDecodeTime / timescale,
      presentationSeconds: (timed.baseMediaDecodeTime + timed.firstCompositionOffset) / timescale,
      durationSeconds: timed.duration / timescale,
      independent: lead !== undefined && lead.firstSampleIsSync,
      leadSamples: lead?.sampleCount ?? 0,
      videoFrames: lead !== undefined && this.leadIsVideo ? lead.sampleCount : 0,
    };
  }
}
