import { createWriteStream, type WriteStream } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { Live360Error, probe, resolveBinary, runOnce, utcStamp, type Logger, type Projection } from "@live360/core";
import { FLV_FILE_HEADER } from "./flv.js";

/** A finished, validated recording ready to hand to the VOD pipeline. */
export interface FinishedRecording {
  stream: string;
  /** Path of the MP4 (faststart) on local disk. */
  file: string;
  startedAt: Date;
  durationSeconds: number;
  projection: Projection;
  /** The stream was served encrypted (RecordingInfo.encrypted). */
  encrypted?: true;
}

/**
 * Where finished recordings go. This sink is a local directory; the VOD pipeline adds
 * S3 + SQS behind the same interface. A sink owns the file once deliver() resolves.
 */
export interface RecordingSink {
  deliver(recording: FinishedRecording): Promise<void>;
  /** Deliveries still being retried, for /stat; a sink that cannot fail has none. */
  pending?(): ReadonlyArray<{ stream: string; file: string; attempts: number; lastError: string | undefined }>;
  /** Stops retrying at shutdown; undelivered files stay on disk. */
  close?(): void;
}

/** The recording could not be turned into a valid MP4; the raw FLV is kept beside it. */
export class RecordingFinalizeError extends Live360Error {
  constructor(
    readonly rawFile: string,
    reason: string,
  ) {
    super(`recording ${rawFile} could not be finalized (raw file kept): ${reason}`);
  }
}

// Recordings and their VOD assets share the stamp format, so it lives in core.
export { utcStamp };

/** Reads back `<stream>-<utcStamp>.<ext>`, as written by SourceRecorder and finalizeRecording. */
export function parseRecordingFileName(file: string): { stream: string; startedAt: Date; ext: string } | undefined {
  const m = /^([a-z0-9][a-z0-9-]{0,62})-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z\.(flv|mp4)$/.exec(path.basename(file));
  if (!m) return undefined;
  const [, stream, y, mo, d, h, mi, sec, ext] = m as unknown as string[];
  return { stream: stream!, startedAt: new Date(`${y}-${mo}-${d}T${h}:${mi}:${sec}Z`), ext: ext! };
}

/** Recording data waiting for the disk beyond this fails the recording (memory stays bounded). */
const MAX_RECORDING_BACKLOG_BYTES = 64 * 1024 * 1024;

/**
 * Writes the source exactly as received (FLV tags) for the whole publish. Recording in Node
 * rather than in the ladder's FFmpeg keeps the master copy intact when that FFmpeg restarts.
 */
export class SourceRecorder {
  private readonly out: WriteStream;
  /** Set once writing failed (disk full, or too slow to keep up); nothing more is written. */
  failure: Error | undefined;
  /** Tags written: a publisher that sent no media leaves nothing worth finalizing. */
  tagsWritten = 0;

  /** `onFailure` is told the moment writing fails, not at close: the stream goes on meanwhile. */
  static async open(dir: string, stream: string, onFailure: (error: Error) => void): Promise<SourceRecorder> {
    await mkdir(dir, { recursive: true });
    const startedAt = new Date();
    return new SourceRecorder(path.join(dir, `${stream}-${utcStamp(startedAt)}.flv`), stream, startedAt, onFailure);
  }

  /**
   * The next part of the same stream's recording, starting now (its codec parameters changed:
   * one MP4 holds one set of them). Recordings are named, and VOD assets addressed, by the
   * second they start, so a part never takes its predecessor's second.
   */
  successor(): SourceRecorder {
    const startedAt = new Date(Math.max(Date.now(), Math.floor(this.startedAt.getTime() / 1000) * 1000 + 1000));
    return new SourceRecorder(path.join(path.dirname(this.rawFile), `${this.stream}-${utcStamp(startedAt)}.flv`), this.stream, startedAt, this.onFailure);
  }

  private constructor(
    readonly rawFile: string,
    readonly stream: string,
    readonly startedAt: Date,
    private readonly onFailure: (error: Error) => void,
  ) {
    this.out = createWriteStream(rawFile);
    this.out.on("error", (err) => this.fail(err));
    this.out.write(FLV_FILE_HEADER);
  }

  /**
   * Appends whole FLV tags, in one write. A disk that does not keep up fails the recording
   * loudly rather than growing memory or leaving a gap nobody sees.
   */
  write(...tags: Buffer[]): void {
    if (this.failure) return;
    if (this.out.writableLength > MAX_RECORDING_BACKLOG_BYTES) {
      return this.fail(new Error(`the disk does not keep up: ${this.out.writableLength} bytes waiting to be written`));
    }
    this.tagsWritten += tags.length;
    this.out.cork();
    for (const tag of tags) this.out.write(tag);
    this.out.uncork();
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    this.onFailure(error);
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.out.end(resolve));
    if (this.failure) throw new RecordingFinalizeError(this.rawFile, this.failure.message);
  }
}

/**
 * Remuxes the raw FLV into an MP4 with the index up front (playable while downloading) and
 * validates it with ffprobe. The raw file is deleted only when the MP4 is valid.
 */
export async function finalizeRecording(
  raw: string,
  outputDir: string,
  meta: { stream: string; startedAt: Date; projection: Projection },
  logger: Logger,
): Promise<FinishedRecording> {
  const ffmpeg = await resolveBinary("ffmpeg");
  await mkdir(outputDir, { recursive: true });
  const file = path.join(outputDir, `${meta.stream}-${utcStamp(meta.startedAt)}.mp4`);
  const partial = `${file}.partial`;
  try {
    await runOnce(
      ffmpeg,
      ["-hide_banner", "-loglevel", "error", "-y", "-i", raw, "-map", "0:v", "-map", "0:a?", "-c", "copy", "-movflags", "+faststart", "-f", "mp4", partial],
      { timeoutMs: 10 * 60_000 },
    );
    const info = await probe(partial);
    const duration = Number(info.format.duration ?? 0);
    if (!info.streams.some((s) => s.codec_type === "video")) throw new Error("no video stream");
    if (!(duration > 0)) throw new Error(`duration ${info.format.duration ?? "unknown"}`);
    await rename(partial, file);
    await rm(raw, { force: true });
    logger.info("recording finalized", { stream: meta.stream, file, durationSeconds: duration });
    return { stream: meta.stream, file, startedAt: meta.startedAt, durationSeconds: duration, projection: meta.projection };
  } catch (err) {
    await rm(partial, { force: true });
    const size = await stat(raw).then((s) => s.size, () => 0);
    throw new RecordingFinalizeError(raw, `${(err as Error).message} (raw size ${size} bytes)`);
  }
}

/** Keeps finished recordings in a directory: the local-mode sink. */
export class LocalDirectorySink implements RecordingSink {
  constructor(readonly directory: string) {}

  async deliver(recording: FinishedRecording): Promise<void> {
    const target = path.join(this.directory, path.basename(recording.file));
    if (target === recording.file) return;
    await mkdir(this.directory, { recursive: true });
    await rename(recording.file, target);
  }
}
