import { mkdir, readdir, rename, rm } from "node:fs/promises";
import type { Server } from "node:http";
import path from "node:path";
import { ListenError, createLogger, probe, resolveBinary, sleep, type Logger, type ResolvedBinary } from "@live360/core";
import { REFUSAL_EXPLANATIONS, decidePublish } from "./auth.js";
import type { OriginConfig } from "./config.js";
import { createOriginHttpServer, type OriginRoute } from "./http.js";
import { createOriginMetrics, type OriginMetrics } from "./metrics.js";
import { RtmpIngest, type Publisher } from "./nms.js";
import { StreamPipeline, type StreamStats } from "./pipeline.js";
import { STREAM_ERROR_EXPLANATIONS, type StreamRefusal } from "./stream-errors.js";
import {
  LocalDirectorySink,
  SourceRecorder,
  finalizeRecording,
  parseRecordingFileName,
  type FinishedRecording,
  type RecordingSink,
} from "./recording.js";

export interface OriginOptions {
  logger?: Logger;
  /** Defaults to `<data-dir>/recordings` (local mode). */
  recordingSink?: RecordingSink;
  /** Shared with a sink that reports into the same registry. */
  metrics?: OriginMetrics;
  /** Extra HTTP routes on the origin's port (local mode serves `/vod/` this way). */
  routes?: readonly OriginRoute[];
}

interface StreamEntry {
  pipeline: StreamPipeline;
  /** Set while the stream has ended and waits for its encoder to reconnect. */
  graceTimer: NodeJS.Timeout | undefined;
  /** Ending the pipeline and delivering its recording; shared by unpublish and shutdown. */
  ending: Promise<void> | undefined;
}

/**
 * A running origin: RTMP ingest, one pipeline per live stream, HLS over HTTP. Streams stay
 * addressable through the reconnect grace after their publisher leaves, then disappear.
 */
export class Origin {
  private readonly streams = new Map<string, StreamEntry>();
  /** Streams being set up (that awaits the file system): an unpublish first waits for its setup. */
  private readonly settingUp = new Map<Publisher, Promise<void>>();
  private draining = false;
  private closePromise: Promise<void> | undefined;
  /** Recording parts being finalized and handed off while their stream goes on. */
  private readonly deliveries = new Set<Promise<void>>();
  private readonly ingest: RtmpIngest;
  private readonly http: Server;
  readonly metrics: OriginMetrics;
  private readonly startedAt = Date.now();
  private readonly sink: RecordingSink;

  private constructor(
    readonly config: OriginConfig,
    private readonly ffmpeg: ResolvedBinary,
    private readonly log: Logger,
    sink: RecordingSink | undefined,
    metrics: OriginMetrics | undefined,
    routes: readonly OriginRoute[] | undefined,
  ) {
    this.metrics = metrics ?? createOriginMetrics();
    this.sink = sink ?? new LocalDirectorySink(this.recordingsDir);
    this.ingest = new RtmpIngest(
      { port: config.rtmpPort, bindAddress: config.bindAddress, storeDir: path.join(config.dataDir, "ingest-state"), logger: log, limits: config.limits, tls: config.rtmps },
      (request) => {
        const decision = decidePublish(request, config, {
          draining: this.draining,
          isLive: (stream) => this.isLive(stream),
          atStreamLimit: !this.streams.has(request.stream) && this.liveStreamCount() >= config.limits.maxStreams,
        });
        if (!decision.accept) {
          const reason = decision.reason ?? "invalid-app";
          this.metrics.publishRefused.inc({ reason });
          this.log.warn("publish refused", {
            reason,
            why: REFUSAL_EXPLANATIONS[reason],
            app: request.app,
            stream: request.stream,
            remoteAddress: request.remoteAddress,
          });
        }
        return decision;
      },
    );
    this.ingest.on("publish", (publisher) => this.setUp(publisher));
    this.ingest.on("limit", ({ limit, remoteAddress, detail }) => {
      this.metrics.ingestLimits.inc({ limit });
      this.log.warn("RTMP connection closed at a limit", { limit, remoteAddress, detail });
    });
    this.ingest.on("protocolerror", ({ remoteAddress, stream, error }) => {
      this.metrics.streamErrors.inc({ reason: "protocol-error" });
      this.log.warn("RTMP connection closed: its bytes could not be parsed; other streams are unaffected", { remoteAddress, stream, error });
    });
    this.ingest.on("unpublish", (publisher) => void this.onUnpublish(publisher));
    this.http = createOriginHttpServer({
      config,
      metrics: this.metrics,
      hasStream: (stream) => this.streams.has(stream),
      isProducing: (stream, withinMs) => this.streams.get(stream)?.pipeline.isProducing(withinMs) ?? false,
      isDraining: () => this.draining,
      stat: (full) => (full ? this.stat() : redactStat(this.stat())),
      dropPublisher: (stream) => this.dropPublisher(stream),
      cmaf: (stream) => this.streams.get(stream)?.pipeline.cmaf,
      routes,
    });
  }

  static async start(config: OriginConfig, options: OriginOptions = {}): Promise<Origin> {
    const log = options.logger ?? createLogger("origin");
    const ffmpeg = await resolveBinary("ffmpeg");
    log.info("using ffmpeg", { path: ffmpeg.path, version: ffmpeg.version, source: ffmpeg.source });
    await mkdir(path.join(config.dataDir, "hls"), { recursive: true });
    const origin = new Origin(config, ffmpeg, log, options.recordingSink, options.metrics, options.routes);
    await origin.listen();
    void origin.recoverRecordings();
    log.info("origin ready", {
      rtmp: `rtmp://${config.bindAddress}:${config.rtmpPort}/live/<stream>`,
      ...(config.rtmps ? { rtmps: `rtmps://${config.bindAddress}:${config.rtmps.port}/live/<stream>` } : {}),
      http: `http://${config.bindAddress}:${config.httpPort}/hls/<stream>/master.m3u8`,
      segmentSeconds: config.segmentSeconds,
      publishAuth: config.publishKeys ? "keys" : "open",
      allowedStreams: config.allowedStreams ?? "any",
    });
    return origin;
  }

  private get recordingsDir(): string {
    return path.join(this.config.dataDir, "recordings");
  }

  private async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.http.once("error", (err) => reject(new ListenError("HTTP server", this.config.httpPort, err)));
      this.http.listen(this.config.httpPort, this.config.bindAddress, resolve);
    });
    try {
      await this.ingest.start();
    } catch (err) {
      this.http.close();
      throw err;
    }
  }

  /** Streams with a publisher, being set up or running (not those ended and in their grace). */
  private liveStreamCount(): number {
    const settingUpNew = [...this.settingUp.keys()].filter((p) => !this.streams.has(p.stream)).length;
    return [...this.streams.values()].filter((e) => e.graceTimer === undefined).length + settingUpNew;
  }

  private isLive(stream: string): boolean {
    const entry = this.streams.get(stream);
    return entry !== undefined && entry.graceTimer === undefined;
  }

  private setUp(publisher: Publisher): void {
    const setup = this.onPublish(publisher).catch((err: unknown) => {
      this.log.error("stream setup failed; publisher disconnected", { stream: publisher.stream, error: err });
      publisher.disconnect();
    });
    this.settingUp.set(publisher, setup);
    void setup.finally(() => this.settingUp.delete(publisher));
  }

  private async onPublish(publisher: Publisher): Promise<void> {
    const existing = this.streams.get(publisher.stream);
    const continuing = existing !== undefined;
    if (existing) clearTimeout(existing.graceTimer);
    else await rm(this.streamDir(publisher.stream), { recursive: true, force: true });
    const recorder = await SourceRecorder.open(this.incomingDir, publisher.stream, (error) => {
      // Counted now, while the stream goes on (HLS does not depend on the recording).
      this.metrics.recordings.inc({ result: "failed" });
      this.log.error("recording failed; live HLS goes on, the partial raw file will be kept aside (not delivered)", { stream: publisher.stream, error });
    });
    const pipeline = new StreamPipeline(
      publisher,
      recorder,
      {
        config: this.config,
        ffmpeg: this.ffmpeg,
        logger: this.log,
        metrics: this.metrics,
        onRefused: (refusal) => {
          const why = STREAM_ERROR_EXPLANATIONS[refusal.reason];
          this.metrics.streamErrors.inc({ reason: refusal.reason });
          this.log.warn("stream refused: its media cannot make a ladder; publisher told why and disconnected", {
            reason: refusal.reason,
            why,
            detail: refusal.detail,
            stream: publisher.stream,
            remoteAddress: publisher.remoteAddress,
          });
          publisher.reject(`${why} (${refusal.detail})`);
        },
        onRecordingPart: (part) => this.track(this.deliverRecording(publisher.stream, part, undefined)),
        continuedCmaf: existing?.pipeline.cmaf?.ladder,
      },
      continuing,
    );
    this.streams.set(publisher.stream, { pipeline, graceTimer: undefined, ending: undefined });
    this.metrics.publishAccepted.inc();
    this.metrics.streamsLive.inc();
    this.log.info("publish started", { stream: publisher.stream, remoteAddress: publisher.remoteAddress, continuing });
  }

  private async onUnpublish(publisher: Publisher): Promise<void> {
    // A publisher that leaves during its own setup (an encoder that connects and gives up, a
    // short file sent flat out) would find no stream to end: the name would stay live for good
    // and its recording would never be finalized.
    await this.settingUp.get(publisher);
    const entry = this.streams.get(publisher.stream);
    if (!entry || entry.pipeline.publisher !== publisher) return;
    this.metrics.streamsLive.dec();
    this.log.info("publish ended", { stream: publisher.stream, graceSeconds: this.config.reconnectGraceSeconds });
    // Even while draining, so the stream counts as ended (not live) for /stat and isLive().
    entry.graceTimer = setTimeout(() => void this.expire(publisher.stream, entry), this.config.reconnectGraceSeconds * 1000);
    entry.graceTimer.unref();
    await this.endStream(entry);
  }

  private endStream(entry: StreamEntry): Promise<void> {
    entry.ending ??= this.endPipeline(entry.pipeline);
    return entry.ending;
  }

  /**
   * Ends playlists, then finalizes and hands off the recording in the background: the hand-off
   * waits for S3 as long as S3 is down, and the ended stream must still expire after its grace
   * meanwhile. Shutdown waits for every delivery (within its grace); a failure keeps the file.
   */
  private async endPipeline(pipeline: StreamPipeline): Promise<void> {
    await pipeline.stop();
    this.track(this.deliverRecording(pipeline.stream, pipeline.recording, pipeline.refusal));
  }

  /** Closes a recording, then finalizes and hands it off; a failure keeps the raw file. */
  private async deliverRecording(stream: string, recording: SourceRecorder, refusal: StreamRefusal | undefined): Promise<void> {
    await recording.close().catch(() => undefined);
    if (recording.failure) {
      // Never handed on as good, not even by the recovery at the next start (it takes *.flv only).
      const keptAs = `${recording.rawFile}.failed`;
      await rename(recording.rawFile, keptAs).catch(() => undefined);
      this.log.error("failed recording kept aside, not delivered", { stream, file: keptAs, error: recording.failure });
      return;
    }
    // Media the ladder refused would only fail again in the VOD pipeline (and its dead-letter
    // queue); a publisher that sent no media left only a file header.
    const discardBecause = refusal ? `refused: ${refusal.reason}` : recording.tagsWritten === 0 ? "no media was published" : undefined;
    if (discardBecause) {
      await rm(recording.rawFile, { force: true });
      this.metrics.recordings.inc({ result: "discarded" });
      this.log.info("recording discarded", { stream, because: discardBecause });
      return;
    }
    let finished: FinishedRecording;
    try {
      finished = await finalizeRecording(recording.rawFile, this.incomingDir, { stream, startedAt: recording.startedAt, projection: this.config.projection }, this.log);
    } catch (err) {
      this.metrics.recordings.inc({ result: "failed" });
      this.log.error("recording not finalized; raw file kept", { stream, error: err });
      return;
    }
    await this.handOff(finished, "recording not delivered; file kept");
  }

  /** Keeps a background delivery until it settles, so ending a stream can wait for it. */
  private track(delivery: Promise<void>): void {
    this.deliveries.add(delivery);
    void delivery.finally(() => this.deliveries.delete(delivery));
  }

  private get incomingDir(): string {
    return path.join(this.recordingsDir, ".incoming");
  }

  /**
   * Recordings a previous run left behind (a crash, S3 down at shutdown, an origin rescheduled
   * with its volume) are finalized if still raw and handed to the sink again: no recording is
   * lost to a restart. Finalizing runs one FFmpeg at a time; the hand-offs run side by side, so
   * one that waits for S3 holds up no other, and /stat lists them all.
   */
  private async recoverRecordings(): Promise<void> {
    const files = await readdir(this.incomingDir).catch(() => [] as string[]);
    const finalized = new Set(files.filter((f) => f.endsWith(".mp4")).map((f) => f.replace(/\.mp4$/, "")));
    for (const file of files) {
      const parsed = parseRecordingFileName(file);
      if (!parsed || (parsed.ext === "flv" && finalized.has(file.replace(/\.flv$/, "")))) continue;
      const full = path.join(this.incomingDir, file);
      try {
        const recording: FinishedRecording =
          parsed.ext === "mp4"
            ? { stream: parsed.stream, file: full, startedAt: parsed.startedAt, projection: this.config.projection, durationSeconds: Number((await probe(full)).format.duration ?? 0) }
            : await finalizeRecording(full, this.incomingDir, { ...parsed, projection: this.config.projection }, this.log);
        this.log.info("recovering a recording left by an earlier run", { file });
        this.track(this.handOff(recording, "recording left by an earlier run not delivered; kept"));
      } catch (err) {
        this.log.error("recording left by an earlier run not finalized; kept", { file, error: err });
      }
    }
  }

  private async handOff(recording: FinishedRecording, failure: string): Promise<void> {
    try {
      // An encrypted stream's recording says so: its VOD asset must not be published clear.
      await this.sink.deliver(this.config.hlsEncryption ? { ...recording, encrypted: true } : recording);
      this.metrics.recordings.inc({ result: "delivered" });
    } catch (err) {
      this.metrics.recordings.inc({ result: "failed" });
      this.log.error(failure, { stream: recording.stream, file: recording.file, error: err });
    }
  }

  private async expire(stream: string, entry: StreamEntry): Promise<void> {
    // FFmpeg may still be writing the last segments of a backlog (a stream sent faster than real
    // time): the files go once it has exited, or the removal races its writes.
    await entry.ending;
    // A reconnecting encoder may have taken the stream over meanwhile.
    if (this.streams.get(stream) !== entry) return;
    this.streams.delete(stream);
    entry.pipeline.cmaf?.ladder.close();
    try {
      await rm(this.streamDir(stream), { recursive: true, force: true });
      this.log.info("stream removed after reconnect grace", { stream });
    } catch (err) {
      this.log.warn("stream files not removed after reconnect grace", { stream, error: err });
    }
  }

  private streamDir(stream: string): string {
    return path.join(this.config.dataDir, "hls", stream);
  }

  private dropPublisher(stream: string): boolean {
    const entry = this.streams.get(stream);
    if (!entry || entry.graceTimer !== undefined) return false;
    this.log.warn("publisher dropped by the control API", { stream });
    entry.pipeline.publisher.disconnect();
    return true;
  }

  stat(): OriginStat {
    return {
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
      draining: this.draining,
      ffmpeg: { path: this.ffmpeg.path, version: this.ffmpeg.version, source: this.ffmpeg.source },
      streams: [...this.streams.values()].map((e) => e.pipeline.stats()),
      recordingsPending: this.sink.pending?.() ?? [],
    };
  }

  /**
   * Graceful shutdown (SIGTERM, preStop): refuse new publishers and fail readiness first,
   * then end every stream (end lists written), finalize and hand off recordings, and stop
   * listening — all within the shutdown grace. Idempotent.
   */
  close(): Promise<void> {
    if (this.closePromise) return this.closePromise;
    this.draining = true;
    this.log.info("shutting down", { graceSeconds: this.config.shutdownGraceSeconds });
    this.closePromise = (async () => {
      const entries = [...this.streams.values()];
      for (const entry of entries) entry.pipeline.publisher.disconnect();
      const work = (async () => {
        await Promise.all(entries.map((entry) => this.endStream(entry)));
        // Ending a stream starts its hand-off; recovered recordings may still be on their way too.
        await Promise.all(this.deliveries);
      })();
      const deadline = new AbortController();
      await Promise.race([work, sleep(this.config.shutdownGraceSeconds * 1000, deadline.signal)]);
      deadline.abort();
      this.sink.close?.();
      for (const entry of this.streams.values()) {
        clearTimeout(entry.graceTimer);
        // Held LL-HLS requests are answered (503) rather than cut off.
        entry.pipeline.cmaf?.ladder.close();
      }
      await this.ingest.stop();
      await new Promise<void>((resolve) => {
        this.http.close(() => resolve());
        this.http.closeAllConnections();
      });
      this.log.info("shut down");
    })();
    return this.closePromise;
  }
}

/** /stat with the admin token. What is not for everyone is taken out by redactStat. */
export interface OriginStat {
  uptimeSeconds: number;
  draining: boolean;
  ffmpeg: { path: string; version: string; source: string };
  streams: StreamStats[];
  /** Recordings whose hand-off to the VOD pipeline is being retried (e.g. S3 unreachable). */
  recordingsPending: ReadonlyArray<{ stream: string; file: string; attempts: number; lastError: string | undefined }>;
}

/** /stat without the admin token: no publisher addresses, no local file paths, no error text. */
export interface RedactedOriginStat extends Omit<OriginStat, "ffmpeg" | "streams" | "recordingsPending"> {
  ffmpeg: Omit<OriginStat["ffmpeg"], "path">;
  streams: Array<Omit<StreamStats, "publisher"> & { publisher: Omit<StreamStats["publisher"], "address"> }>;
  recordingsPending: ReadonlyArray<Pick<OriginStat["recordingsPending"][number], "stream" | "attempts">>;
}

/**
 * What anyone who reaches the HTTP port may see: the operator, the peer origin and the edge read
 * stream names, states, numbering and counts without a token. A field added to StreamStats is
 * public unless it is taken out here.
 */
export function redactStat(stat: OriginStat): RedactedOriginStat {
  return {
    ...stat,
    ffmpeg: { version: stat.ffmpeg.version, source: stat.ffmpeg.source },
    streams: stat.streams.map(({ publisher, ...stream }) => ({ ...stream, publisher: { sessionId: publisher.sessionId } })),
    recordingsPending: stat.recordingsPending.map(({ stream, attempts }) => ({ stream, attempts })),
  };
}

export function startOrigin(config: OriginConfig, options?: OriginOptions): Promise<Origin> {
  return Origin.start(config, options);
}
