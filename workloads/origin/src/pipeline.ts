import path from "node:path";
import {
  FfmpegSupervisor,
  VARIANT_PLAYLIST,
  ladderForSource,
  sleep,
  type Logger,
  type Rendition,
  type ResolvedBinary,
} from "@live360/core";
import type { OriginConfig } from "./config.js";
import { VideoHeaderError, audioIsAac, classifyTag, sameTagBody, tagTimestampMs, videoCodecOf, videoInfoFromHeader, flvFileHeader, type VideoCodecInfo } from "./flv.js";
import { CmafLiveLadder } from "./cmaf/live-ladder.js";
import type { CmafStreamView } from "./cmaf-http.js";
import { fragmentSeconds } from "./cmaf/output-args.js";
import { buildLiveCmafArgs, buildLiveHlsArgs, orderedRenditions, type LiveHlsPlan } from "./hls-command.js";
import { renderCmafMasterPlaylist } from "./ll-hls/master.js";
import { clockNumbering, decideNumbering, listedSegmentNumbers, type NumberingDecision, type SegmentNumbering } from "./numbering.js";
import { describeVariant, writeMasterPlaylist } from "./master.js";
import type { OriginMetrics } from "./metrics.js";
import type { Publisher } from "./nms.js";
import type { SourceRecorder } from "./recording.js";
import { SegmentCounter } from "./segment-counter.js";
import type { StreamRefusal } from "./stream-errors.js";

export interface PipelineDeps {
  config: OriginConfig;
  ffmpeg: ResolvedBinary;
  logger: Logger;
  metrics: OriginMetrics;
  /** The media cannot make a ladder: the origin tells the publisher why and ends the stream. */
  onRefused: (refusal: StreamRefusal) => void;
  /**
   * A finished part of the recording, split off because the codec parameters changed (one MP4
   * holds one set); the origin closes, finalizes and delivers it while the stream goes on.
   */
  onRecordingPart: (part: SourceRecorder) => void;
  /**
   * hlsFormat `cmaf`: the in-memory ladder of this stream's earlier publish (an encoder
   * reconnecting within the grace), continued after a discontinuity when its variants match.
   */
  continuedCmaf?: CmafLiveLadder;
}

/** What /stat reports for one stream (to anyone: redactStat in origin.ts takes out what is not). */
export interface StreamStats {
  stream: string;
  state: "live" | "ended";
  publisher: { address: string; sessionId: string };
  video: { codec: string; width: number; height: number } | undefined;
  audio: { codec: "aac" | "other" } | undefined;
  inputBitrateBps: number;
  inputFps: number;
  variants: string[];
  ffmpeg: { pid: number | undefined; speed: number; fps: number; restarts: number; running: boolean };
  startedAt: string;
  uptimeSeconds: number;
  /**
   * How this origin numbers the stream's segments (peers align to it) and whose numbering it
   * follows ("clock" or a peer's URL); undefined before the first keyframe.
   */
  numbering: (SegmentNumbering & { source: string }) | undefined;
}

/**
 * Input FFmpeg has not taken yet beyond this (it is falling behind, or stopped): the ladder skips
 * to the next keyframe instead of queueing without bound. ≈ 25 s of a 5 Mbit/s source.
 */
const LADDER_BACKLOG_BYTES = 16 * 1024 * 1024;

/** A GOP held for a restarting FFmpeg is bounded so a keyframe-less source can't grow memory. */
const MAX_GOP_BYTES = 32 * 1024 * 1024;
const MASTER_POLL_MS = 200;
/**
 * Tags are handed to FFmpeg and the recording in batches: one pipe write per tag woke FFmpeg
 * ~80 times a second and was the origin's largest Node cost (bench/origin profile). A keyframe
 * is passed on at once, because it is what lets FFmpeg close a segment; the frames between
 * wait at most this long, well under the time a segment waits for its closing keyframe. With
 * CMAF parts the ladder gets every tag at once (the recording still in batches): the frame after
 * a part's duration is what lets FFmpeg write that part, its muxer interleaves audio and video
 * (a video frame waits for the audio up to its time), and LL-HLS players wait for each part.
 */
const FEED_FLUSH_MS = 40;

/**
 * Media time a publish may send without what the ladder needs (video at all, a keyframe)
 * before it is refused: a few segments, so a slow first keyframe is not mistaken for none.
 */
function missingMediaLimitMs(segmentSeconds: number): number {
  return Math.max(6000, 3 * segmentSeconds * 1000);
}

/** Without H.264 there is no pass-through; a transcoded top rung gets a bitrate for its size. */
function estimateBitrateKbps(width: number, height: number): number {
  return Math.max(500, Math.round((width * height * 30 * 0.08) / 1000));
}

/**
 * One live stream: taps the publisher's FLV tags, records them, and feeds one supervised
 * FFmpeg that writes the whole HLS ladder. Codec headers and the current GOP are kept so a
 * restarted FFmpeg resumes at once from the last keyframe.
 */
export class StreamPipeline {
  private readonly log: Logger;
  private readonly streamDir: string;
  private detach: (() => void) | undefined;
  private supervisor: FfmpegSupervisor | undefined;
  private metadataTag: Buffer | undefined;
  private audioHeader: Buffer | undefined;
  private videoHeader: Buffer | undefined;
  private video: VideoCodecInfo | undefined;
  private gop: Buffer[] = [];
  private gopBytes = 0;
  /** Tags not yet written to the recording. */
  private recordingBatch: Buffer[] = [];
  /** Tags not yet written to the running FFmpeg (a respawn's preamble covers them instead). */
  private ladderBatch: Buffer[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private renditions: Rendition[] = [];
  private firstSegmentNumber = 0;
  private numbering: StreamStats["numbering"];
  /** When the keyframe that starts the held GOP arrived: a starting FFmpeg's first segment begins there. */
  private gopStartedAtMs = 0;
  /** Set while the numbering is being decided with the peers, before FFmpeg starts. */
  private decidingNumbering = false;
  /** A continued stream that starts fresh playlists at its peer's number (see launchLadder). */
  private renumbered = false;
  private framesInWindow = 0;
  private inputFps = 0;
  private inputBitrateBps = 0;
  private lastBytes = 0;
  private readonly statsTimer: NodeJS.Timeout;
  /** TS only: counts the segments FFmpeg's playlists list (the CMAF ladder counts its own). */
  private readonly segmentCounter: SegmentCounter | undefined;
  private readonly stopController = new AbortController();
  private stopPromise: Promise<void> | undefined;
  private ended = false;
  /** Set when the media cannot make a ladder; later tags are ignored until the publisher is gone. */
  refusal: StreamRefusal | undefined;
  /** Media timestamps of the first audio and first video tag, and whether a keyframe came. */
  private firstAudioMs: number | undefined;
  private firstVideoMs: number | undefined;
  private sawKeyframe = false;

  /**
   * Set when a codec header changed while the ladder runs: FFmpeg keeps the parameters it
   * started with, so it is replaced at the next keyframe, and nothing between goes to it.
   */
  private parametersChanged: string | undefined;
  /** Ends the current master playlist loop (a new one describes the media after a change). */
  private masterController: AbortController | undefined;
  private lastTagAtMs = 0;
  /** A continued stream's lowest listed segment when it continued (see plan()). */
  private lowestListedAtContinue: number | undefined;
  /** Tags withheld from a ladder that fell behind, until the keyframe it resumes at. */
  private ladderSkippedTags: number | undefined;
  /** When the ladder's current FFmpeg run began: the master playlist describes its segments only. */
  private ladderRunStartedAtMs = 0;
  /** hlsFormat `cmaf`: the ladder's parts, segments and playlists, in memory. */
  private cmafLadder: CmafLiveLadder | undefined;

  constructor(
    readonly publisher: Publisher,
    /** The part of the recording being written (a codec parameter change starts a new part). */
    public recording: SourceRecorder,
    private readonly deps: PipelineDeps,
    /** Continue playlists left by an earlier publish of this stream (encoder reconnect). */
    private readonly continuing: boolean,
  ) {
    this.log = deps.logger.child("stream", { stream: publisher.stream });
    this.streamDir = path.join(deps.config.dataDir, "hls", publisher.stream);
    // Before attaching: a publisher's buffered tags are delivered at once and may start the ladder.
    this.segmentCounter = deps.config.hlsFormat === "ts" ? new SegmentCounter(this.streamDir, publisher.stream, deps.metrics.segments) : undefined;
    this.detach = publisher.attach((tag) => this.onTag(tag));
    this.statsTimer = setInterval(() => {
      this.sampleInput();
      this.segmentCounter?.sample().catch((error: unknown) => this.log.debug("segment count not read", { error }));
    }, 1000);
  }

  get stream(): string {
    return this.publisher.stream;
  }

  /** Media still arrives and the ladder still reports progress within `withinMs`, however slowly. */
  isProducing(withinMs: number): boolean {
    const now = Date.now();
    return !this.ended && now - this.lastTagAtMs <= withinMs && this.supervisor !== undefined && now - this.supervisor.lastProgressAtMs <= withinMs;
  }

  private onTag(tag: Buffer): void {
    this.lastTagAtMs = Date.now();
    if (this.refusal) return;
    const kind = classifyTag(tag);
    const refusal = this.checkMedia(tag, kind);
    if (refusal) return this.refuse(refusal);
    const alreadyRunning = this.supervisor !== undefined;
    if (alreadyRunning && (kind === "audio-header" || kind === "video-header")) this.noticeHeader(kind, tag);
    this.recordingBatch.push(tag);
    switch (kind) {
      case "metadata":
        this.metadataTag = tag;
        break;
      case "audio-header":
        this.audioHeader = tag;
        break;
      case "video-header":
        this.videoHeader = tag;
        break;
      case "keyframe":
        this.framesInWindow += 1;
        this.gop = [tag];
        this.gopBytes = tag.length;
        this.gopStartedAtMs = Date.now();
        if (!alreadyRunning) this.startLadder();
        else if (this.parametersChanged) this.replaceLadder();
        break;
      case "video":
      case "audio":
        if (kind === "video") this.framesInWindow += 1;
        if (this.gop.length > 0 && this.gopBytes < MAX_GOP_BYTES) {
          this.gop.push(tag);
          this.gopBytes += tag.length;
        }
        break;
      default:
        break;
    }
    if (alreadyRunning && !this.parametersChanged && this.ladderTakes(kind)) this.ladderBatch.push(tag);
    if (kind === "keyframe") this.flushBatches();
    else {
      if (this.deps.config.hlsFormat === "cmaf") this.feedLadder();
      this.flushTimer ??= setTimeout(() => this.flushBatches(), FEED_FLUSH_MS);
    }
  }

  /**
   * What makes a publish unusable for the ladder, found as early as its media shows it: a
   * malformed or non-H.264 sequence header, non-H.264 frames, audio without video, video
   * without a keyframe. Records the H.264 header's codec info as a side effect.
   */
  private checkMedia(tag: Buffer, kind: ReturnType<typeof classifyTag>): StreamRefusal | undefined {
    const timestamp = tagTimestampMs(tag);
    if (kind === "video-header") {
      try {
        this.video = videoInfoFromHeader(tag);
      } catch (err) {
        if (err instanceof VideoHeaderError) return { reason: "invalid-video-header", detail: err.detail };
        throw err;
      }
      if (this.video.codec !== "h264") return { reason: "unsupported-video-codec", detail: `the source is ${this.video.codec}` };
      return undefined;
    }
    if (kind === "keyframe" || kind === "video") {
      const codec = videoCodecOf(tag);
      if (codec !== "h264") return { reason: "unsupported-video-codec", detail: `the source is ${codec ?? "unknown"}` };
      this.firstVideoMs ??= timestamp;
      if (kind === "keyframe") this.sawKeyframe = true;
      const limit = missingMediaLimitMs(this.deps.config.segmentSeconds);
      if (!this.sawKeyframe && timestamp - this.firstVideoMs > limit) return { reason: "no-keyframe", detail: `${Math.round(limit / 1000)} s of video without one` };
    }
    if (kind === "audio" || kind === "audio-header") {
      this.firstAudioMs ??= timestamp;
      const limit = missingMediaLimitMs(this.deps.config.segmentSeconds);
      if (this.firstVideoMs === undefined && this.videoHeader === undefined && timestamp - this.firstAudioMs > limit) {
        return { reason: "no-video", detail: `${Math.round(limit / 1000)} s of audio without video` };
      }
    }
    return undefined;
  }

  /**
   * A codec header on a running ladder. Encoders re-send unchanged ones (at every keyframe,
   * some of them): those change nothing. A changed one starts a new recording part at once
   * (the header opens it) and has the ladder replaced at the next keyframe.
   */
  private noticeHeader(kind: "audio-header" | "video-header", tag: Buffer): void {
    const previous = kind === "video-header" ? this.videoHeader : this.audioHeader;
    if (previous !== undefined && sameTagBody(previous, tag)) return;
    const what = kind === "video-header" ? `video ${this.video?.width}x${this.video?.height}` : "audio";
    this.log.info("codec parameters changed mid-stream; new recording part now, new ladder from the next keyframe", { header: kind, now: what });
    this.parametersChanged = what;
    this.gop = [];
    this.gopBytes = 0;
    this.ladderBatch = [];
    this.flushBatches();
    const part = this.recording;
    this.recording = part.successor();
    // The new part opens like a recording: the headers still valid, then (pushed by the caller) the new one.
    this.recording.write(...[this.metadataTag, kind === "video-header" ? this.audioHeader : this.videoHeader].filter((t) => t !== undefined));
    this.deps.onRecordingPart(part);
  }

  /**
   * Whether the running FFmpeg gets this tag. One that falls behind (its unread input over
   * LADDER_BACKLOG_BYTES) skips to the next keyframe once it has caught up: live viewers see the
   * picture jump ahead at a keyframe, the origin's memory stays bounded, and a FFmpeg that does
   * not catch up at all is left to the stall watchdog.
   */
  private ladderTakes(kind: ReturnType<typeof classifyTag>): boolean {
    // A restarting FFmpeg takes nothing anyway; its successor starts from the held GOP.
    const behind = this.supervisor!.running && this.supervisor!.inputBacklogBytes > LADDER_BACKLOG_BYTES;
    if (this.ladderSkippedTags === undefined) {
      if (!behind) return true;
      this.ladderSkippedTags = 0;
      this.deps.metrics.ladderSkips.inc();
      this.log.warn("ladder ffmpeg fell behind its input; skipping to the next keyframe it can take", { backlogBytes: this.supervisor!.inputBacklogBytes });
    }
    if (kind === "keyframe" && !behind) {
      this.log.info("ladder ffmpeg caught up; fed again from this keyframe", { skippedTags: this.ladderSkippedTags });
      this.ladderSkippedTags = undefined;
      return true;
    }
    this.ladderSkippedTags += 1;
    return false;
  }

  /** At the first keyframe after a parameter change: a fresh FFmpeg, then a master playlist describing it. */
  private replaceLadder(): void {
    this.parametersChanged = undefined;
    this.supervisor!.replace();
    this.ladderRunStartedAtMs = Date.now();
    void this.publishMasterPlaylist();
  }

  private refuse(refusal: StreamRefusal): void {
    this.refusal = refusal;
    this.recordingBatch = [];
    this.ladderBatch = [];
    this.deps.onRefused(refusal);
  }

  private flushBatches(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.recordingBatch.length > 0) this.recording.write(...this.recordingBatch);
    this.recordingBatch = [];
    this.feedLadder();
  }

  private feedLadder(): void {
    if (this.ladderBatch.length > 0) this.supervisor?.write(...this.ladderBatch);
    this.ladderBatch = [];
  }

  private plan(attempt: number): LiveHlsPlan {
    const { config } = this.deps;
    const continuePlaylists = (this.continuing && !this.renumbered) || attempt > 0;
    return {
      outputDir: this.streamDir,
      renditions: this.renditions,
      sourceIsH264: this.video?.codec === "h264",
      hasAudio: this.audioHeader !== undefined,
      sourceAudioIsAac: this.audioHeader !== undefined && audioIsAac(this.audioHeader),
      segmentSeconds: config.segmentSeconds,
      windowSegments: config.windowSegments,
      x264Preset: config.x264Preset,
      lowLatency: config.lowLatency,
      audioBitrateKbps: config.audioBitrateKbps,
      continuePlaylists,
      discontinuityFirst: this.renumbered && attempt === 0,
      // FFmpeg's append_list numbers on from max(-start_number, the playlist's media sequence)
      // plus the segments it lists: a start number past the media sequence (one past the last
      // listed) skipped a whole window at every reconnect (found by the soak). A start number at
      // or below the lowest listed lets every variant carry on from its own last segment.
      firstSegmentNumber: continuePlaylists && this.lowestListedAtContinue !== undefined ? Math.min(this.firstSegmentNumber, this.lowestListedAtContinue) : this.firstSegmentNumber,
      fragmentSeconds: fragmentSeconds(this.publisher.announcedFrameRate()),
    };
  }

  /** At the first keyframe: decides the segment numbering (with the peers, if any), then starts FFmpeg. */
  private startLadder(): void {
    const { config } = this.deps;
    if (this.ended || this.decidingNumbering) return;
    // Nothing to ask or read: start at once, at this keyframe. Tags arrive in bursts (a socket
    // chunk, or the media held while the stream was set up), and deferring even a microtask
    // would start FFmpeg at the burst's last keyframe instead.
    if (config.peers.length === 0 && !this.continuing) return this.launchLadder(clockNumbering(config.segmentSeconds), undefined);
    this.decidingNumbering = true;
    void (async () => {
      const decision =
        config.peers.length === 0
          ? clockNumbering(config.segmentSeconds)
          : await decideNumbering({
              stream: this.stream,
              segmentSeconds: config.segmentSeconds,
              peers: config.peers,
              waitMs: config.waitForPeers ? config.segmentSeconds * 1000 : 0,
              signal: this.stopController.signal,
            });
      const listed = this.continuing ? await listedSegmentNumbers(this.streamDir) : undefined;
      this.lowestListedAtContinue = listed?.lowest;
      this.decidingNumbering = false;
      this.launchLadder(decision, listed?.next);
    })();
  }

  /**
   * Starts FFmpeg with the decided numbering. A reconnecting encoder's stream continues its
   * playlists, numbered on from their last segment (`continuedFrom`); after a gap that would
   * trail the peer the edge fails over to, so a stream following a peer starts fresh playlists
   * at the peer's number instead, after a discontinuity.
   */
  private launchLadder(decision: NumberingDecision, continuedFrom: number | undefined): void {
    if (this.ended) return;
    const aligned = decision.numberAt(this.gopStartedAtMs);
    this.renumbered = continuedFrom !== undefined && decision.source !== "clock" && aligned > continuedFrom;
    this.firstSegmentNumber = continuedFrom === undefined || this.renumbered ? aligned : continuedFrom;
    if (decision.source !== "clock") this.log.info("segment numbering follows a peer", { peer: decision.source, firstSegmentNumber: this.firstSegmentNumber, renumbered: this.renumbered });
    this.numbering = { firstSegmentNumber: this.firstSegmentNumber, firstSegmentAtMs: this.gopStartedAtMs, source: decision.source };
    const source = { width: this.video?.width ?? 0, height: this.video?.height ?? 0 };
    this.renditions = ladderForSource(this.deps.config.ladder, source).map((r) =>
      r.passthrough && this.video?.codec !== "h264" ? { ...r, videoBitrateKbps: estimateBitrateKbps(r.width, r.height) } : r,
    );
    const cmaf = this.deps.config.hlsFormat === "cmaf" ? this.openCmafLadder() : undefined;
    const supervisor = new FfmpegSupervisor({
      name: `hls/${this.stream}`,
      binary: this.deps.ffmpeg,
      logger: this.log,
      pipeStdin: true,
      args: (attempt) => (cmaf ? buildLiveCmafArgs(this.plan(attempt)) : buildLiveHlsArgs(this.plan(attempt))),
      outputPipes: cmaf?.variantNames.length,
    });
    const { metrics } = this.deps;
    if (cmaf) {
      supervisor.on("output", (index, chunk, pid) => pid === supervisor.pid && cmaf.push(index, chunk));
      supervisor.on("outputsClosed", () => cmaf.endRun());
    }
    supervisor.on("spawn", (pid, attempt) => {
      const announcedFrameRate = this.publisher.announcedFrameRate();
      this.log.info("ladder ffmpeg spawned", {
        pid,
        attempt,
        variants: this.renditions.map((r) => r.name),
        ...(cmaf ? { announcedFrameRate: announcedFrameRate ?? "none", fragmentSeconds: fragmentSeconds(announcedFrameRate) } : {}),
      });
      // Every run starts at the held GOP's keyframe, which arrived at gopStartedAtMs.
      cmaf?.startRun({ firstSegmentNumber: this.firstSegmentNumber, keyframeAtMs: this.gopStartedAtMs });
      // The preamble's GOP already holds every tag since the last keyframe.
      this.ladderBatch = [];
      this.ladderSkippedTags = undefined;
      this.sendPreamble();
    });
    supervisor.on("died", (err) => {
      this.log.warn("ladder ffmpeg died; restarting", { error: err, ...err.details });
      metrics.ffmpegRestarts.inc({ stream: this.stream });
    });
    supervisor.on("stalled", (pid, reason) => {
      this.log.warn("ladder ffmpeg hung (no progress with input waiting); killing it for a restart", { pid, reason });
      metrics.ffmpegStalls.inc();
    });
    supervisor.on("startupfailure", (err) => this.log.error("ladder ffmpeg failed to start", { error: err, ...err.details }));
    supervisor.on("failed", (err) => this.log.error("ladder ffmpeg gave up; HLS stops, recording continues", { error: err }));
    // FFmpeg reports on while it flushes after the stream ended; its series is gone by then.
    supervisor.on("progress", (p) => this.ended || metrics.ffmpegSpeed.set({ stream: this.stream }, p.speed));
    this.supervisor = supervisor;
    this.segmentCounter?.watch(this.renditions.map((r) => r.name));
    this.ladderRunStartedAtMs = Date.now();
    supervisor.start();
    if (!cmaf) void this.publishMasterPlaylist();
  }

  /**
   * The CMAF ladder for this launch: the earlier publish's, when its variants are the ones this
   * source makes (the viewers' playlists go on after a discontinuity), else a new one.
   */
  private openCmafLadder(): CmafLiveLadder {
    const { config, metrics } = this.deps;
    const variants = orderedRenditions(this.plan(0)).map((r) => r.name);
    const continued = this.deps.continuedCmaf;
    const ladder =
      continued && continued.variantNames.join() === variants.join()
        ? continued
        : new CmafLiveLadder({
            variants,
            segmentSeconds: config.segmentSeconds,
            partTargetSeconds: config.partTargetSeconds,
            partHoldBackParts: config.partHoldBackParts,
            windowSegments: config.windowSegments,
            logger: this.log,
            onSegment: (variant) => metrics.segments.inc({ stream: this.stream, rendition: variant }),
            // The variant has nothing more to serve from this FFmpeg: a fresh one starts it again.
            onPackagerError: () => {
              metrics.cmafPackagerErrors.inc();
              this.supervisor?.replace();
            },
          });
    ladder.reopen();
    if (ladder !== continued) continued?.close();
    this.cmafLadder = ladder;
    return ladder;
  }

  /** hlsFormat `cmaf`: what the HTTP layer serves of this stream; undefined before the ladder starts. */
  get cmaf(): CmafStreamView | undefined {
    const ladder = this.cmafLadder;
    return ladder && { ladder, masterPlaylist: () => this.cmafMasterPlaylist(ladder) };
  }

  /** The master playlist of a CMAF ladder, measured over its current run's segments. */
  private cmafMasterPlaylist(ladder: CmafLiveLadder): string | undefined {
    const summaries = ladder.summaries();
    if (!summaries) return undefined;
    const variants = summaries.map((summary) => {
      const rendition = this.renditions.find((r) => r.name === summary.name)!;
      return {
        init: summary.init,
        entry: {
          uri: `${summary.name}/${VARIANT_PLAYLIST}`,
          // Measured on the segments' bytes, which carry the muxed audio too.
          bandwidth: summary.peakBps,
          averageBandwidth: summary.averageBps,
          width: rendition.width,
          height: rendition.height,
          frameRate: summary.frameRate,
        },
      };
    });
    return renderCmafMasterPlaylist(variants, this.deps.config.projection);
  }

  /** What a freshly spawned FFmpeg needs before live tags: FLV header, codec headers, current GOP. */
  private sendPreamble(): void {
    const headers = [this.metadataTag, this.audioHeader, this.videoHeader].filter((tag) => tag !== undefined);
    // Audio is announced only if it will be mapped (plan().hasAudio): FFmpeg waits for what is announced.
    this.supervisor!.write(flvFileHeader({ audio: this.audioHeader !== undefined }), ...headers, ...this.gop);
  }

  /**
   * Writes the master playlist for the ladder's current run (since it started, or since it was
   * replaced after a parameter change): as soon as every variant has a segment of the run,
   * described from that segment; then, once every variant lists a whole window of the run,
   * again with the window's measured rates (one segment can be far from the average, e.g. an
   * encoder ramping up its rate control).
   */
  private async publishMasterPlaylist(): Promise<void> {
    this.masterController?.abort();
    const controller = new AbortController();
    this.masterController = controller;
    const signal = AbortSignal.any([this.stopController.signal, controller.signal]);
    const { audioBitrateKbps, windowSegments, segmentSeconds } = this.deps.config;
    const runStartedAtMs = this.ladderRunStartedAtMs;
    const ordered = orderedRenditions(this.plan(0));
    const passes = [
      { bandwidth: "first-segment", minSegments: 1, pollMs: MASTER_POLL_MS },
      { bandwidth: "live-window", minSegments: windowSegments, pollMs: segmentSeconds * 1000 },
    ] as const;
    for (const { bandwidth, minSegments, pollMs } of passes) {
      while (!signal.aborted) {
        try {
          const variants = await Promise.all(ordered.map((r) => describeVariant(this.streamDir, r, audioBitrateKbps, { bandwidth, runStartedAtMs, minSegments })));
          // A run replaced while this one was being described must not get its master back.
          if (signal.aborted) return;
          if (variants.every((v) => v !== undefined)) {
            await writeMasterPlaylist(this.streamDir, variants);
            this.log.info("master playlist written", { variants: variants.length, rates: bandwidth });
            break;
          }
        } catch (err) {
          this.log.debug("master playlist not ready", { error: err });
        }
        await sleep(pollMs, signal);
      }
    }
  }

  private sampleInput(): void {
    const bytes = this.publisher.bytesReceived();
    this.inputBitrateBps = (bytes - this.lastBytes) * 8;
    this.lastBytes = bytes;
    this.inputFps = this.framesInWindow;
    this.framesInWindow = 0;
    this.deps.metrics.inputBitrate.set({ stream: this.stream }, this.inputBitrateBps);
  }

  /**
   * The publisher is gone: let FFmpeg flush and write its end lists. Idempotent. The caller
   * closes `recording` and finalizes it.
   */
  stop(): Promise<void> {
    if (this.stopPromise) return this.stopPromise;
    this.ended = true;
    this.detach?.();
    this.detach = undefined;
    this.flushBatches();
    clearInterval(this.statsTimer);
    this.segmentCounter?.close();
    this.stopController.abort();
    this.deps.metrics.inputBitrate.remove({ stream: this.stream });
    this.deps.metrics.ffmpegSpeed.remove({ stream: this.stream });
    // Stream names come from publishers: a label kept after the stream would grow without bound.
    this.deps.metrics.ffmpegRestarts.remove({ stream: this.stream });
    // A CMAF ladder's playlists end once FFmpeg has flushed its last fragments.
    this.stopPromise = (this.supervisor?.finish(5000) ?? Promise.resolve()).then(() => this.cmafLadder?.end());
    return this.stopPromise;
  }

  stats(): StreamStats {
    const progress = this.supervisor?.lastProgress;
    return {
      stream: this.stream,
      state: this.ended ? "ended" : "live",
      publisher: { address: this.publisher.remoteAddress, sessionId: this.publisher.sessionId },
      video: this.video && { codec: this.video.codec, width: this.video.width, height: this.video.height },
      audio: this.audioHeader && { codec: audioIsAac(this.audioHeader) ? "aac" : "other" },
      inputBitrateBps: this.inputBitrateBps,
      inputFps: this.inputFps,
      variants: orderedRenditions(this.plan(0)).map((r) => r.name),
      ffmpeg: {
        pid: this.supervisor?.pid,
        speed: progress?.speed ?? 0,
        fps: progress?.fps ?? 0,
        restarts: this.supervisor?.restarts ?? 0,
        running: this.supervisor?.running ?? false,
      },
      startedAt: this.recording.startedAt.toISOString(),
      uptimeSeconds: Math.round((Date.now() - this.recording.startedAt.getTime()) / 1000),
      numbering: this.numbering,
    };
  }
}
