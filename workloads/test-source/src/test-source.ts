import { access, constants } from "node:fs/promises";
import {
  FfmpegSupervisor,
  Live360Error,
  MissingDependencyError,
  TypedEmitter,
  createLogger,
  requireFilter,
  resolveBinary,
  runOnce,
  type FfmpegProgress,
  type Logger,
  type ResolvedBinary,
} from "@live360/core";
import { publishUrl, resolveTestSourceConfig, type TestSourceConfig, type TestSourceInput } from "./config.js";
import { buildTestSourceArgs, type TextOverlay } from "./pattern.js";

export type TestSourceOutcome =
  | { reason: "duration" }
  | { reason: "closed" }
  | { reason: "failed"; error: Error };

/**
 * The events follow FFmpeg. With one URL, FFmpeg connects before it reports progress and exits
 * when the receiver goes away, so they tell about the receiver. With several, every URL has a
 * fifo that connects and reconnects it within FFmpeg (not seen here) while FFmpeg encodes
 * whether any receiver is reachable or none, so they tell about the encoder only.
 */
export interface TestSourceEvents {
  /**
   * FFmpeg is sending (first start or after a restart): to the receiver, with one URL; to
   * each receiver that is reachable, with several.
   */
  publishing: [pid: number];
  progress: [FfmpegProgress];
  /** FFmpeg stopped or could not start (one URL: the receiver went away or is unreachable); a restart follows. */
  disconnected: [error: Error];
  reconnecting: [attempt: number, delayMs: number];
  /** Emitted once, with the same outcome `done` resolves to. */
  ended: [TestSourceOutcome];
}

export interface TestSourceOptions {
  logger?: Logger;
}

/** What the log says of FFmpeg's events; TestSourceEvents tells why several URLs differ. */
const LOG_MESSAGES = {
  one: { started: "publishing", died: "lost the receiver", startupfailure: "cannot reach the receiver", restarting: "reconnecting" },
  several: {
    started: "publishing to each url while it is reachable",
    died: "ffmpeg died",
    startupfailure: "ffmpeg failed to start",
    restarting: "restarting ffmpeg",
  },
} as const;

/** FFmpeg needs a moment after `-t` runs out to flush its encoders and say goodbye. */
const DURATION_FLUSH_MS = 5000;

/** A publishing test pattern; stop it with close(), or wait for `done` when it has a duration. */
export class TestSource extends TypedEmitter<TestSourceEvents> {
  /** Resolves when the duration is over, close() was called, or publishing gave up. */
  readonly done: Promise<TestSourceOutcome>;
  private resolveDone!: (outcome: TestSourceOutcome) => void;
  private readonly supervisor: FfmpegSupervisor;
  private readonly deadline: number | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private outcome: TestSourceOutcome | undefined;
  private closePromise: Promise<void> | undefined;
  private framesBeforeThisConnection = 0;
  private framesThisConnection = 0;
  private readonly messages: (typeof LOG_MESSAGES)[keyof typeof LOG_MESSAGES];
  /** Where it publishes, as log fields: `url` alone as ever, `urls` when there are several. */
  private readonly destination: { url: string } | { urls: string[] };

  constructor(
    readonly config: TestSourceConfig,
    ffmpeg: ResolvedBinary,
    private readonly overlayFont: string | undefined,
    private readonly log: Logger,
  ) {
    super();
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    this.deadline = config.durationSeconds === undefined ? undefined : Date.now() + config.durationSeconds * 1000;
    this.messages = config.urls.length === 1 ? LOG_MESSAGES.one : LOG_MESSAGES.several;
    this.destination = destinationFields(config);
    this.supervisor = new FfmpegSupervisor({
      name: "test-source",
      binary: ffmpeg,
      logger: log,
      args: () => this.args(),
      restart: {
        initialDelayMs: config.reconnectInitialDelayMs,
        maxDelayMs: config.reconnectMaxDelayMs,
        // The arguments were checked before the first start, so a failing start means the
        // receiver is unreachable: an encoder keeps trying until someone stops it.
        maxStartupFailures: Number.POSITIVE_INFINITY,
        stableAfterMs: 10_000,
      },
    });
    this.wire();
  }

  /**
   * Frames sent so far, over every FFmpeg run; with several URLs, frames encoded, each sent to
   * the URLs that were connected at the time.
   */
  get framesSent(): number {
    return this.framesBeforeThisConnection + this.framesThisConnection;
  }

  get reconnects(): number {
    return this.supervisor.restarts;
  }

  start(): void {
    this.supervisor.start();
    if (this.deadline !== undefined) {
      // Normally FFmpeg stops itself at `-t`; this covers a deadline passing while disconnected.
      this.deadlineTimer = setTimeout(() => void this.stop({ reason: "duration" }), this.deadline - Date.now() + DURATION_FLUSH_MS);
    }
  }

  /** Stops publishing (FFmpeg ends the stream cleanly); idempotent. */
  close(): Promise<void> {
    return this.stop({ reason: "closed" });
  }

  private args(): string[] {
    const overlay: TextOverlay | undefined = this.overlayFont ? { fontFile: this.overlayFont, firstFrameNumber: this.framesSent } : undefined;
    // After a reconnect only what is left of the duration is published.
    const seconds = this.deadline === undefined ? undefined : Math.max(0.1, (this.deadline - Date.now()) / 1000);
    return buildTestSourceArgs(this.config, overlay, { kind: "rtmp", urls: this.config.urls.map((url) => publishUrl(url, this.config.publishKeys)), seconds });
  }

  private wire(): void {
    const sup = this.supervisor;
    sup.on("started", (pid) => {
      this.log.info(this.messages.started, { ...this.destination, pid, reconnects: sup.restarts });
      this.emit("publishing", pid);
    });
    sup.on("progress", (progress) => {
      this.framesThisConnection = progress.frame;
      this.emit("progress", progress);
    });
    sup.on("died", (error) => {
      hideKeysIn(error);
      this.framesBeforeThisConnection += this.framesThisConnection;
      this.framesThisConnection = 0;
      this.log.warn(this.messages.died, { ...this.destination, error });
      this.emit("disconnected", error);
    });
    sup.on("startupfailure", (error) => {
      hideKeysIn(error);
      this.log.warn(this.messages.startupfailure, { ...this.destination, error });
      this.emit("disconnected", error);
    });
    sup.on("restarting", (attempt, delayMs) => {
      this.log.info(this.messages.restarting, { ...this.destination, attempt, delayMs });
      this.emit("reconnecting", attempt, delayMs);
    });
    sup.on("exited", () => {
      if (this.deadline !== undefined) void this.stop({ reason: "duration" });
      else void this.stop({ reason: "failed", error: new Live360Error("ffmpeg stopped publishing on its own") });
    });
    sup.on("failed", (error) => void this.stop({ reason: "failed", error: hideKeysIn(error) }));
  }

  private stop(outcome: TestSourceOutcome): Promise<void> {
    if (this.closePromise) return this.closePromise;
    clearTimeout(this.deadlineTimer);
    this.outcome = outcome;
    this.closePromise = this.supervisor.close().then(() => {
      const final = this.outcome!;
      const fields = final.reason === "failed" ? { error: final.error } : {};
      this.log.info("test source stopped", { reason: final.reason, framesSent: this.framesSent, ...fields });
      this.emit("ended", final);
      this.resolveDone(final);
    });
    return this.closePromise;
  }
}

/**
 * FFmpeg's errors quote the URL it failed on ("Error opening output rtmp://…?key=…"): the key is
 * taken out before an error is logged or handed on.
 */
export function hideKeysIn<E extends Error>(error: E): E {
  // A key as published is URL-encoded (publishUrl), so it holds no ":" and ends where FFmpeg's text goes on.
  const hide = (text: string) => text.replace(/([?&]key=)[^&\s'":]*/g, "$1<hidden>");
  error.message = hide(error.message);
  if (error.stack) error.stack = hide(error.stack);
  return error;
}

function destinationFields(config: TestSourceConfig): { url: string } | { urls: string[] } {
  return config.urls.length === 1 ? { url: config.urls[0]! } : { urls: config.urls };
}

/**
 * The font for the burned-in text, or undefined when the text cannot be drawn: a test
 * pattern without a timecode is still worth publishing, so this degrades with a warning.
 */
async function overlayFont(ffmpeg: ResolvedBinary, fontFile: string, log: Logger): Promise<string | undefined> {
  try {
    await requireFilter(ffmpeg, "drawtext", "the burned-in timecode");
  } catch (err) {
    if (!(err instanceof MissingDependencyError)) throw err;
    log.warn("publishing without the timecode and labels", { reason: err.message });
    return undefined;
  }
  try {
    await access(fontFile, constants.R_OK);
    return fontFile;
  } catch {
    log.warn("publishing without the timecode and labels", {
      reason: `font ${fontFile} is missing: apt-get install fonts-dejavu-core, or pass --font`,
    });
    return undefined;
  }
}

/**
 * Validates the configuration, checks that this FFmpeg can encode the pattern (one frame,
 * to nowhere, so bad arguments fail here with FFmpeg's reason instead of looking like an
 * unreachable receiver later), then starts publishing.
 */
export async function startTestSource(input: TestSourceInput, options: TestSourceOptions = {}): Promise<TestSource> {
  const config = resolveTestSourceConfig(input);
  const log = options.logger ?? createLogger("test-source");
  const ffmpeg = await resolveBinary("ffmpeg");
  log.info("using ffmpeg", { path: ffmpeg.path, version: ffmpeg.version, source: ffmpeg.source });
  const font = await overlayFont(ffmpeg, config.fontFile, log);
  const overlay = font ? { fontFile: font, firstFrameNumber: 0 } : undefined;
  await runOnce(ffmpeg, buildTestSourceArgs(config, overlay, { kind: "null", frames: 1 }), { timeoutMs: 60_000 });
  const source = new TestSource(config, ffmpeg, font, log);
  source.start();
  log.info("test source started", {
    ...destinationFields(config),
    size: `${config.width}x${config.height}`,
    fps: config.fps,
    videoBitrateKbps: config.videoBitrateKbps,
    keyframeIntervalSeconds: config.keyframeIntervalSeconds,
    durationSeconds: config.durationSeconds ?? "until stopped",
  });
  return source;
}
