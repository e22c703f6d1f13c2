/**
 * One stream's CMAF ladder as the origin serves it (issue #15): a CmafPackager per rendition for
 * each run of the ladder's FFmpeg, and per variant the window of complete segments, the open
 * segment's parts and the init segments — all in memory, rendered into LL-HLS playlists on
 * request, with the blocking requests held in one PlaylistWaiters.
 *
 * A restarted or replaced FFmpeg (a new run) writes a new init and its own timeline: its first
 * segment follows the last one of any variant, after `EXT-X-DISCONTINUITY`, so every variant
 * keeps the same number for the same media and players reset their decoders at the seam.
 */
import { VARIANT_PLAYLIST, type Logger } from "@live360/core";
import { DEFAULT_MAX_WAITING, PlaylistWaiters } from "../ll-hls/blocking.js";
import type { CmafInit, CmafSegment, LlHlsVariantState, OpenCmafSegment } from "../ll-hls/model.js";
import { initName } from "../ll-hls/names.js";
import { renditionReport, renderLlHlsMediaPlaylist, type HlsSkip } from "../ll-hls/playlist.js";
import { CmafPackager, CmafStreamError, type CmafEvent, type CmafPackagerError } from "./packager.js";
import { Mp4BoxError } from "./boxes.js";

export interface CmafLiveLadderOptions {
  /** Variant names in the order of FFmpeg's outputs (orderedRenditions). */
  variants: readonly string[];
  segmentSeconds: number;
  partTargetSeconds: number;
  /** PART-HOLD-BACK in part targets (LlHlsVariantState.partHoldBackParts). */
  partHoldBackParts?: number;
  /** Complete segments listed per variant. */
  windowSegments: number;
  logger: Logger;
  /** Blocking requests held at once (DEFAULT_MAX_WAITING). */
  maxWaiting?: number;
  /** A variant's packager gave up on this run's output (logged here): counted by the caller. */
  onPackagerError?: (variant: string, reason: string, error: CmafPackagerError) => void;
  /** A variant completed a segment. */
  onSegment?: (variant: string) => void;
}

/** Where a run of the ladder begins: its first segment's number and when its first keyframe arrived. */
export interface CmafRunStart {
  firstSegmentNumber: number;
  keyframeAtMs: number;
}

/** What the master playlist needs of a variant, measured over its window. */
export interface CmafVariantSummary {
  name: string;
  init: CmafInit;
  peakBps: number;
  averageBps: number;
  frameRate: number;
}

interface Run extends CmafRunStart {
  /** Presentation time (s) of the run's first keyframe, from the first packager that saw it. */
  firstPresentationSeconds: number | undefined;
}

class LiveVariant {
  segments: CmafSegment[] = [];
  /**
   * Segments that have left the window, still served: RFC 8216 §6.2.2 keeps a removed segment
   * available for its duration plus that of the longest playlist that listed it, because a
   * player or cache holding a playlist a moment old asks for its oldest segment after the
   * window moved on (the edge caches plain reloads for a second).
   */
  retired: CmafSegment[] = [];
  packager: CmafPackager | undefined;
  /** The current run's init, once its packager has read it. */
  init: CmafInit | undefined;
  /** The next segment of this variant begins a run after an earlier one. */
  seamPending = false;
  discontinuitySequence = 0;
  ended = false;

  constructor(readonly name: string) {}

  /** Every segment still served: the window's and the retired ones. */
  get servable(): CmafSegment[] {
    return [...this.segments, ...this.retired];
  }

  get open(): OpenCmafSegment | undefined {
    const open = this.packager?.open;
    return open && this.init ? { ...open, init: this.init, ...(this.seamPending ? { discontinuity: true } : {}) } : undefined;
  }
}

export class CmafLiveLadder {
  readonly waiters: PlaylistWaiters;
  private readonly variants: LiveVariant[];
  private ended = false;
  private lastPartAt = Date.now();

  constructor(private readonly options: CmafLiveLadderOptions) {
    this.variants = options.variants.map((name) => new LiveVariant(name));
    this.waiters = new PlaylistWaiters({ maxWaiting: options.maxWaiting ?? DEFAULT_MAX_WAITING });
  }

  /** When the newest part of any variant was cut (the ladder's creation until then). */
  get lastPartAtMs(): number {
    return this.lastPartAt;
  }

  get variantNames(): string[] {
    return this.variants.map((v) => v.name);
  }

  /**
   * A new FFmpeg run writes from here: fresh packagers. The first run numbers its first segment
   * `start.firstSegmentNumber` (the numbering primary and backup agree on); a later one numbers on
   * after the highest segment any variant has, so the variants stay aligned, after a discontinuity.
   */
  startRun(start: CmafRunStart): void {
    this.endRun();
    const highest = Math.max(-1, ...this.variants.map((v) => v.segments.at(-1)?.number ?? -1));
    const discontinuous = highest >= 0;
    // After earlier runs: on from the highest segment, or at the given number if that is later
    // (a reconnect numbered by the clock or a peer; the variants' windows then start again).
    const run: Run = { firstSegmentNumber: Math.max(start.firstSegmentNumber, highest + 1), keyframeAtMs: start.keyframeAtMs, firstPresentationSeconds: undefined };
    const { segmentSeconds, partTargetSeconds } = this.options;
    for (const variant of this.variants) {
      variant.init = undefined;
      variant.seamPending = discontinuous;
      variant.packager = new CmafPackager({
        segmentSeconds,
        partTargetSeconds,
        // Every rendition starts at the run's first keyframe, so each packager's first segment is the run's first.
        numberAt: (t) => {
          run.firstPresentationSeconds ??= t;
          return run.firstSegmentNumber;
        },
        programDateTimeAt: (t) => new Date(run.keyframeAtMs + (t - (run.firstPresentationSeconds ?? t)) * 1000),
      });
    }
  }

  /** Output `index`'s bytes from the current run's FFmpeg. */
  push(index: number, chunk: Buffer): void {
    const variant = this.variants[index];
    if (!variant?.packager) return;
    this.apply(variant, variant.packager.push(chunk));
  }

  /** The run's FFmpeg is gone: its open segments close, a part cut off is dropped. */
  endRun(): void {
    for (const variant of this.variants) {
      const packager = variant.packager;
      if (!packager) continue;
      variant.packager = undefined;
      // A killed FFmpeg leaves a fragment cut off; that is expected at a run's end, not a fault.
      const events = packager.end().filter((e) => !(e.type === "error" && e.error instanceof Mp4BoxError && e.error.reason === "truncated"));
      this.apply(variant, events);
    }
  }

  /**
   * A publish continues the stream (an encoder reconnecting within the grace): its playlists go
   * live again, and the next run follows the last segment after a discontinuity.
   */
  reopen(): void {
    this.ended = false;
    for (const variant of this.variants) variant.ended = false;
  }

  /** The stream is over: playlists end (`EXT-X-ENDLIST`), held requests are answered. */
  end(): void {
    if (this.ended) return;
    this.endRun();
    this.ended = true;
    for (const variant of this.variants) {
      variant.ended = true;
      this.waiters.advance(this.state(variant)!);
    }
  }

  /** Stops holding requests (the stream's HTTP life is over). */
  close(): void {
    this.end();
    this.waiters.close();
  }

  /** The variant's state for the renderer and the blocking rules; undefined for an unknown name. */
  state(nameOrVariant: string | LiveVariant): LlHlsVariantState | undefined {
    const variant = typeof nameOrVariant === "string" ? this.variants.find((v) => v.name === nameOrVariant) : nameOrVariant;
    if (!variant) return undefined;
    return {
      name: variant.name,
      targetDurationSeconds: Math.ceil(this.options.segmentSeconds),
      partTargetSeconds: this.options.partTargetSeconds,
      ...(this.options.partHoldBackParts === undefined ? {} : { partHoldBackParts: this.options.partHoldBackParts }),
      segments: variant.segments,
      open: variant.open,
      ended: variant.ended,
      discontinuitySequence: variant.discontinuitySequence,
    };
  }

  /** The media playlist of `state` with rendition reports of the other variants. */
  renderPlaylist(state: LlHlsVariantState, skip: HlsSkip | undefined): string {
    const others = this.variants.filter((v) => v.name !== state.name).map((v) => renditionReport(this.state(v)!, `../${v.name}/${VARIANT_PLAYLIST}`));
    const init = state.open?.init ?? state.segments.at(-1)?.init;
    return renderLlHlsMediaPlaylist(state, {
      initUri: init ? initName(init) : "init.mp4",
      skip,
      renditionReports: others.filter((r) => r !== undefined),
    });
  }

  /** An init segment a listed segment (or the open one) refers to, by its file hash. */
  initByHash(variantName: string, hash: string): CmafInit | undefined {
    const variant = this.variants.find((v) => v.name === variantName);
    if (!variant) return undefined;
    const inits = [variant.init, ...variant.servable.map((s) => s.init)];
    return inits.find((init) => init !== undefined && initName(init) === `init_${hash}.mp4`);
  }

  /** A complete segment's bytes (its parts, concatenated), while it is in the window or just retired from it. */
  segmentBytes(variantName: string, msn: number): Buffer | undefined {
    const variant = this.variants.find((v) => v.name === variantName);
    const segment = variant?.servable.find((s) => s.number === msn);
    return segment && Buffer.concat(segment.parts.map((p) => p.data));
  }

  /**
   * Every variant of the current run described, once each has a complete segment of it;
   * undefined before. Rates are measured over the run's segments in the window.
   */
  summaries(): CmafVariantSummary[] | undefined {
    const summaries: CmafVariantSummary[] = [];
    for (const variant of this.variants) {
      const init = variant.init;
      const ofRun = init ? variant.segments.filter((s) => s.init === init) : [];
      if (!init || ofRun.length === 0) return undefined;
      let bytes = 0;
      let seconds = 0;
      let frames = 0;
      // Parts without video (the audio after a stream's last frame) do not dilute the frame rate.
      let videoSeconds = 0;
      let peakBps = 0;
      for (const segment of ofRun) {
        const segmentBytes = segment.parts.reduce((sum, p) => sum + p.data.length, 0);
        bytes += segmentBytes;
        seconds += segment.durationSeconds;
        for (const part of segment.parts) {
          frames += part.videoFrames;
          if (part.videoFrames > 0) videoSeconds += part.durationSeconds;
        }
        if (segment.durationSeconds > 0) peakBps = Math.max(peakBps, (segmentBytes * 8) / segment.durationSeconds);
      }
      summaries.push({ name: variant.name, init, peakBps, averageBps: seconds > 0 ? (bytes * 8) / seconds : 0, frameRate: videoSeconds > 0 ? frames / videoSeconds : 0 });
    }
    return summaries;
  }

  private apply(variant: LiveVariant, events: readonly CmafEvent[]): void {
    for (const event of events) {
      switch (event.type) {
        case "init":
          variant.init = event.init;
          break;
        case "part":
          this.lastPartAt = Date.now();
          break;
        case "segment":
          this.addSegment(variant, event.segment);
          break;
        case "error": {
          const error = event.error;
          const reason = error instanceof CmafStreamError || error instanceof Mp4BoxError ? error.reason : "init";
          this.options.logger.warn("cmaf packager gave up on this run's output", { variant: variant.name, reason, error });
          this.options.onPackagerError?.(variant.name, reason, error);
          break;
        }
      }
    }
    if (events.length > 0) this.waiters.advance(this.state(variant)!);
  }

  private addSegment(variant: LiveVariant, segment: CmafSegment): void {
    const seam = variant.seamPending;
    variant.seamPending = false;
    // Numbers must be consecutive in a playlist: a variant that lagged when its run ended (its
    // last segment not closed) restarts its window rather than list a gap.
    const last = variant.segments.at(-1);
    if (last && segment.number !== last.number + 1) {
      variant.discontinuitySequence += variant.segments.filter((s) => s.discontinuity).length;
      this.retire(variant, variant.segments.splice(0));
    }
    variant.segments.push({ ...segment, init: variant.init, ...(seam ? { discontinuity: true } : {}) });
    this.options.onSegment?.(variant.name);
    while (variant.segments.length > this.options.windowSegments) {
      const removed = variant.segments.shift()!;
      if (removed.discontinuity) variant.discontinuitySequence += 1;
      this.retire(variant, [removed]);
    }
  }

  /** Keeps `removed` servable for about a playlist's duration plus a segment's (one more segment than the window holds). */
  private retire(variant: LiveVariant, removed: CmafSegment[]): void {
    variant.retired.push(...removed);
    variant.retired.splice(0, Math.max(0, variant.retired.length - (this.options.windowSegments + 1)));
  }
}
