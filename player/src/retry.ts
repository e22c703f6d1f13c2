import { Backoff, type BackoffOptions, type BeaconErrorKind } from "@live360/core/browser";

/**
 * What went wrong, in the terms the player reacts to (and the viewer is told):
 * - `not-found`: the playlist is 404/410 — the stream has not started yet, or has ended;
 * - `network`: no answer, a reset, a 5xx: connectivity, worth retrying with backoff;
 * - `refused`: 401/403 for a playlist, key or segment — a signed link expired or not valid: final,
 *   asking again cannot help;
 * - `bad-playlist`: an answer that is not an HLS playlist (wrong URL, an HTML error page);
 * - `media`: the browser could not decode what it got;
 * - `fatal`: anything else hls.js cannot continue from.
 */
export type FailureKind = BeaconErrorKind;

/** The fields of an hls.js ERROR event the classification needs (kept as plain strings so
 * this module never loads hls.js). */
export interface HlsErrorInfo {
  type: string;
  details: string;
  fatal: boolean;
  httpStatus?: number;
}

const PLAYLIST_LOAD_ERRORS = new Set(["manifestLoadError", "manifestLoadTimeOut", "levelLoadError", "levelLoadTimeOut", "levelEmptyError"]);
const PLAYLIST_PARSE_ERRORS = new Set(["manifestParsingError", "levelParsingError", "manifestIncompatibleCodecsError"]);

/** Answers that mean "you may not" rather than "not now": asking again cannot help. */
const REFUSALS = new Set([401, 403]);

/** Undefined for errors hls.js recovers from by itself (non-fatal ones). */
export function classifyHlsError(error: HlsErrorInfo): FailureKind | undefined {
  if (!error.fatal) return undefined;
  if (error.type === "networkError") {
    if (REFUSALS.has(error.httpStatus ?? 0)) return "refused";
    if (PLAYLIST_LOAD_ERRORS.has(error.details) && (error.httpStatus === 404 || error.httpStatus === 410)) return "not-found";
    // An empty playlist is what a packager has before its first segment: not live yet.
    if (error.details === "levelEmptyError") return "not-found";
    return "network";
  }
  if (error.type === "mediaError") return PLAYLIST_PARSE_ERRORS.has(error.details) ? "bad-playlist" : "media";
  if (PLAYLIST_PARSE_ERRORS.has(error.details)) return "bad-playlist";
  return "fatal";
}


/**
 * How hls.js retries a failed media playlist (its `playlistLoadPolicy.errorRetry`). hls.js on
 * its own retries only a 5xx: a 404 or a dropped connection makes it switch rungs at once, and
 * when every rung fails the same way it gives up (a fatal error, and the player reloads). Behind
 * live360's edge those are the passing signs of an origin failing over or back — a restarted
 * origin has no playlist for a moment, an edge pod going away drops its connections — so a
 * playlist is asked for again at 0.5, 1, 2 and 2 s (5.5 s in all, more than the segments a live
 * player holds) before hls.js may switch or give up. A refusal (a signed link expired) is final.
 */
export const PLAYLIST_ERROR_RETRY = { maxNumRetry: 4, retryDelayMs: 500, maxRetryDelayMs: 2000 } as const;

export function shouldRetryPlaylist(retryCount: number, maxNumRetry: number, httpStatus: number | undefined): boolean {
  return retryCount < maxNumRetry && !REFUSALS.has(httpStatus ?? 0);
}

export interface RetryOptions {
  /** How often a stream that is not live yet is asked for again. */
  waitingIntervalMs: number;
  /** Backoff for connectivity problems. */
  network: BackoffOptions;
  /**
   * Fraction of each network delay that is randomised, so that thousands of viewers who lost
   * the same edge at the same moment do not all come back at the same moment.
   */
  jitter: number;
}

export const DEFAULT_RETRY_OPTIONS: RetryOptions = {
  waitingIntervalMs: 2000,
  network: { initialMs: 1000, maxMs: 16_000 },
  jitter: 0.3,
};

export interface RetryDecision {
  delayMs: number;
  /** 1 for the first retry of this run of failures. */
  attempt: number;
}

/**
 * When to try again after a failure. The player never gives up on `not-found` or `network`:
 * a viewer who opened the page early, or whose Wi-Fi dropped, should see the stream as soon as
 * it is there, without reloading. A success resets the backoff.
 */
export class RetryPolicy {
  private readonly backoff: Backoff;
  private attempts = 0;

  constructor(
    private readonly options: RetryOptions = DEFAULT_RETRY_OPTIONS,
    private readonly random: () => number = Math.random,
  ) {
    this.backoff = new Backoff(options.network);
  }

  next(kind: "not-found" | "network" | "bad-playlist"): RetryDecision {
    this.attempts += 1;
    if (kind === "not-found") return { delayMs: this.options.waitingIntervalMs, attempt: this.attempts };
    const delay = this.backoff.next();
    const jittered = delay * (1 - this.options.jitter + this.options.jitter * this.random());
    return { delayMs: Math.round(jittered), attempt: this.attempts };
  }

  succeeded(): void {
    this.attempts = 0;
    this.backoff.reset();
  }
}

export type MediaRecoveryAction = "recover" | "swap-audio-and-recover" | "reload";

/**
 * hls.js's documented escalation for decode errors: recoverMediaError(), then the same after
 * swapping the audio codec, then a full reload. Errors more than `windowMs` apart start over,
 * so a long session with rare glitches never reaches the reload.
 */
export class MediaRecovery {
  private count = 0;
  private lastAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly windowMs = 10_000) {}

  next(nowMs: number): MediaRecoveryAction {
    if (nowMs - this.lastAt > this.windowMs) this.count = 0;
    this.lastAt = nowMs;
    this.count += 1;
    if (this.count === 1) return "recover";
    if (this.count === 2) return "swap-audio-and-recover";
    this.count = 0;
    return "reload";
  }
}
