import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import {
  BucketNotFoundError,
  FfmpegDiedError,
  FfmpegRunError,
  FfmpegStartupError,
  FfmpegSupervisor,
  InvalidJobMessageError,
  ObjectNotFoundError,
  VARIANT_PLAYLIST,
  describeVariant,
  encryptVariant,
  parseMediaPlaylist,
  probe,
  recordingFromMetadata,
  renderMasterPlaylist,
  transcodeDeadlineSeconds,
  vodContentId,
  type FfmpegProgress,
  type Logger,
  type ObjectInfo,
  type ObjectStorage,
  type ProbeResult,
  type RecordingInfo,
  type ResolvedBinary,
  type VariantEntry,
} from "@live360/core";
import {
  ASSET_MANIFEST,
  ASSET_MANIFEST_VERSION,
  MASTER_PLAYLIST,
  assetPrefix,
  hasMasterPlaylist,
  readAssetManifest,
  type AssetManifest,
  type AssetVariant,
} from "./asset.js";
import { transcodeDeadline, type VodWorkerConfig } from "./config.js";
import { JobAbortedError, JobRejectedError, TranscodeDeadlineError, abortCause, throwIfAborted } from "./errors.js";
import type { TranscodeKillReason } from "./metrics.js";
import { POSTER_FILE, buildVodArgs, planRenditions, posterPlan, type VodPlan, type VodRendition, type VodSource } from "./plan.js";
import { ProgressTracker, type JobProgress } from "./progress.js";
import type { RetriedCall } from "./retry.js";
import { uploadAsset } from "./upload.js";

/** What to transcode: an object, and the recording's details when the message carried them. */
export interface JobSpec {
  bucket: string;
  key: string;
  recording?: RecordingInfo;
}

export interface JobContext {
  config: VodWorkerConfig;
  storage: ObjectStorage;
  ffmpeg: ResolvedBinary;
  logger: Logger;
  /** Aborted on shutdown or when the message was lost to another worker. */
  signal: AbortSignal;
  /** Called once the asset is known, before the download. */
  onAsset?(prefix: string, recording: RecordingInfo): void;
  onProgress?(progress: JobProgress): void;
  onPhase?(phase: "download" | "transcode" | "upload", seconds: number): void;
  /** The worker killed FFmpeg: it stopped making progress, or ran past its deadline. */
  onKilled?(reason: TranscodeKillReason): void;
  /** An upload is retried after the SDK's own attempts failed. */
  onRetry?(call: RetriedCall): void;
}

export type JobOutcome =
  | { kind: "completed"; prefix: string; manifest: AssetManifest }
  /** The asset of this very object (same ETag) is already complete: nothing to do. */
  | { kind: "already-done"; prefix: string; manifest: AssetManifest };

/**
 * One job, start to end: check the source, download it, transcode it with one FFmpeg, check
 * the result, upload it (master playlist last). Throws JobRejectedError when the job can never
 * succeed as sent, JobAbortedError when told to stop, anything else for a failure worth a retry.
 */
export async function processJob(spec: JobSpec, ctx: JobContext): Promise<JobOutcome> {
  const { config, storage, signal } = ctx;
  if (config.ingestBucket !== undefined && spec.bucket !== config.ingestBucket) {
    throw new JobRejectedError("unknown-bucket", `the job names bucket ${spec.bucket}; this worker takes recordings from ${config.ingestBucket} only`);
  }
  const source = await headSource(storage, spec);
  const recording = spec.recording ?? recordingFromObject(spec, source);
  const prefix = assetPrefix(recording.stream, recording.startedAt);
  if (recording.encrypted && !config.hlsEncryption) {
    throw new JobRejectedError(
      "needs-encryption",
      `stream ${recording.stream} was encrypted live, and a clear asset would publish it unencrypted: give the worker the event's HLS secret (--hls-encryption-secret-file; VodJob spec.hls.encryption)`,
    );
  }
  ctx.onAsset?.(prefix, recording);

  const existing = await readAssetManifest(storage, config.egressBucket, prefix).catch(() => undefined);
  const encryption = assetEncryption(config);
  // An asset made clear (or with other key periods) is made again when encryption is asked for now.
  const sameEncryption = (existing?.encryption?.rotationSegments ?? 0) === (encryption?.rotationSegments ?? 0);
  if (existing && sameSource(existing, spec, source) && sameEncryption && (await hasMasterPlaylist(storage, config.egressBucket, prefix))) {
    return { kind: "already-done", prefix, manifest: existing };
  }

  throwIfAborted(signal);
  await mkdir(config.workDir, { recursive: true });
  const workDir = await mkdtemp(path.join(config.workDir, `job-${process.pid}-`));
  try {
    const input = path.join(workDir, `source${sourceExtension(spec.key)}`);
    let started = Date.now();
    try {
      await storage.getToFile(spec.bucket, spec.key, input, { signal });
    } catch (error) {
      throwIfAborted(signal);
      if (error instanceof ObjectNotFoundError) throw new JobRejectedError("object-missing", `s3://${spec.bucket}/${spec.key} disappeared before it was downloaded`);
      throw error;
    }
    ctx.onPhase?.("download", (Date.now() - started) / 1000);

    const probed = await probeSource(input, spec);
    const outputDir = path.join(workDir, "asset");
    const plan: VodPlan = {
      input,
      outputDir,
      source: { ...probed, projection: recording.projection },
      renditions: [],
      segmentSeconds: config.segmentSeconds,
      x264Preset: config.x264Preset,
      audioBitrateKbps: config.audioBitrateKbps,
      poster: posterPlan(outputDir, probed.durationSeconds),
    };
    plan.renditions = planRenditions(config.ladder, plan.source, config.projection);
    if (config.projection === "cubemap" && recording.projection !== "equirectangular") {
      ctx.logger.warn("not re-projecting: the recording is not equirectangular", { projection: recording.projection });
    }

    started = Date.now();
    await transcode(plan, ctx);
    ctx.onPhase?.("transcode", (Date.now() - started) / 1000);

    const manifest = await describeAsset(plan, spec, source, recording);
    if (config.hlsEncryption) {
      // After describing the variants, which probes their clear segments.
      for (const rendition of plan.renditions) await encryptVariant(path.join(outputDir, rendition.name), vodContentId(prefix), config.hlsEncryption);
      manifest.asset.encryption = encryption;
    }
    await writeFile(path.join(outputDir, MASTER_PLAYLIST), renderMasterPlaylist(manifest.entries));
    await writeFile(path.join(outputDir, ASSET_MANIFEST), JSON.stringify(manifest.asset, null, 2) + "\n");

    started = Date.now();
    const uploaded = await uploadAsset(storage, config.egressBucket, prefix, outputDir, plan.renditions.map((r) => r.name), {
      signal,
      logger: ctx.logger,
      ...(ctx.onRetry ? { onRetry: ctx.onRetry } : {}),
    });
    ctx.onPhase?.("upload", (Date.now() - started) / 1000);
    ctx.logger.info("asset uploaded", { prefix, objects: uploaded.objects, bytes: uploaded.bytes });
    return { kind: "completed", prefix, manifest: manifest.asset };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

async function headSource(storage: ObjectStorage, spec: JobSpec): Promise<ObjectInfo> {
  try {
    return await storage.head(spec.bucket, spec.key);
  } catch (error) {
    if (error instanceof BucketNotFoundError) throw new JobRejectedError("unknown-bucket", `bucket ${spec.bucket} does not exist`);
    if (error instanceof ObjectNotFoundError) throw new JobRejectedError("object-missing", `s3://${spec.bucket}/${spec.key} does not exist`);
    throw error;
  }
}

/** An S3 event names only the object: the recording's details are its metadata. */
function recordingFromObject(spec: JobSpec, source: ObjectInfo): RecordingInfo {
  try {
    return recordingFromMetadata(source.metadata, `s3://${spec.bucket}/${spec.key}`);
  } catch (error) {
    if (error instanceof InvalidJobMessageError) throw new JobRejectedError("invalid-message", error.message);
    throw error;
  }
}

/** What asset.json says of the encryption this worker applies (the secret never leaves it). */
function assetEncryption(config: VodWorkerConfig): AssetManifest["encryption"] {
  return config.hlsEncryption && { method: "AES-128", rotationSegments: config.hlsEncryption.rotationSegments, keys: "keys/<period>.key" };
}

function sameSource(manifest: AssetManifest, spec: JobSpec, source: ObjectInfo): boolean {
  return (
    manifest.source.bucket === spec.bucket &&
    manifest.source.key === spec.key &&
    manifest.source.sizeBytes === source.size &&
    manifest.source.etag !== undefined &&
    manifest.source.etag === source.etag
  );
}

/** The key's extension helps FFmpeg's format guess; anything odd is replaced rather than trusted. */
function sourceExtension(key: string): string {
  const ext = path.extname(key);
  return /^\.[A-Za-z0-9]{1,5}$/.test(ext) ? ext.toLowerCase() : ".bin";
}

type ProbedSource = Omit<VodSource, "projection">;

async function probeSource(file: string, spec: JobSpec): Promise<ProbedSource> {
  const where = `s3://${spec.bucket}/${spec.key}`;
  let info: ProbeResult;
  try {
    info = await probe(file);
  } catch (error) {
    if (error instanceof FfmpegRunError) throw new JobRejectedError("not-a-video", `${where}: ffprobe cannot read it: ${error.details.stderrTail || error.message}`);
    throw error;
  }
  const video = info.streams.find((s) => s.codec_type === "video");
  const audio = info.streams.find((s) => s.codec_type === "audio");
  const durationSeconds = Number(info.format.duration ?? video?.duration ?? 0);
  if (!video || !video.width || !video.height) {
    throw new JobRejectedError("not-a-video", `${where} has no video stream (format ${info.format.format_name ?? "unknown"})`);
  }
  // A still image probes as a one-frame "video" without a duration.
  if (!(durationSeconds > 0.5)) throw new JobRejectedError("not-a-video", `${where} lasts ${durationSeconds} s; not a recording`);
  return {
    width: video.width,
    height: video.height,
    durationSeconds,
    isH264: video.codec_name === "h264",
    hasAudio: audio !== undefined,
    audioIsAac: audio?.codec_name === "aac",
  };
}

/** Node's timers take at most 2^31 − 1 ms (24.8 days); a longer deadline is as good as none. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Runs the plan's FFmpeg once (a failed transcode is the job's failure, not a restart), within
 * its deadline: the recording's duration (as probed: what FFmpeg will read, whatever the message
 * said) times --transcode-deadline-factor, at least --transcode-deadline-min.
 */
async function transcode(plan: VodPlan, ctx: JobContext): Promise<void> {
  const { signal, logger } = ctx;
  throwIfAborted(signal);
  const durationSeconds = plan.source.durationSeconds;
  const deadlineSeconds = transcodeDeadlineSeconds(durationSeconds, transcodeDeadline(ctx.config));
  const supervisor = new FfmpegSupervisor({
    name: `vod/${path.basename(path.dirname(plan.outputDir))}`,
    binary: ctx.ffmpeg,
    args: () => buildVodArgs(plan),
    logger,
    restart: false,
    // Shutdown must finish inside Kubernetes' grace period; a transcode has nothing to save.
    stopTimeoutMs: 2000,
    stallTimeoutMs: ctx.config.transcodeStallTimeoutSeconds * 1000,
  });
  const tracker = new ProgressTracker(durationSeconds);
  let progress: JobProgress | undefined;
  supervisor.on("progress", (p: FfmpegProgress) => {
    progress = tracker.update(p.outTimeSeconds);
    ctx.onProgress?.(progress);
  });
  supervisor.on("spawn", (pid) => logger.info("transcode started", { pid, renditions: plan.renditions.map((r) => r.name), durationSeconds, deadlineSeconds }));
  supervisor.on("stalled", (pid, reason) => {
    ctx.onKilled?.("stall");
    logger.warn("transcode hung; killing it, the job will be retried", { pid, reason });
  });
  const settled = new AbortController();
  let deadline: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      supervisor.once("exited", resolve);
      supervisor.once("failed", reject);
      // A closed supervisor reports nothing more, so the abort itself ends the wait, once FFmpeg is gone.
      const abort = (): void => void supervisor.close().then(() => reject(new JobAbortedError(abortCause(signal))));
      signal.addEventListener("abort", abort, { once: true, signal: settled.signal });
      deadline = setTimeout(() => {
        if (settled.signal.aborted || signal.aborted) return;
        ctx.onKilled?.("deadline");
        logger.warn("transcode past its deadline; killing it, the job will be retried", {
          pid: supervisor.pid,
          durationSeconds,
          deadlineSeconds,
          percent: progress === undefined ? undefined : Math.round(progress.ratio * 1000) / 10,
        });
        void supervisor.close().then(() => reject(new TranscodeDeadlineError(durationSeconds, deadlineSeconds)));
      }, Math.min(MAX_TIMER_MS, deadlineSeconds * 1000));
      supervisor.start();
    });
  } catch (error) {
    if (signal.aborted) throw new JobAbortedError(abortCause(signal));
    // Killed by a signal (the OOM killer, an operator, the stall watchdog), whether before its
    // first progress or after: no verdict on the recording, worth another try.
    if ((error instanceof FfmpegDiedError || error instanceof FfmpegStartupError) && error.details.signal !== null) throw error;
    if (error instanceof FfmpegDiedError || error instanceof FfmpegStartupError) {
      throw new JobRejectedError("undecodable", `FFmpeg failed on the recording: ${error.details.stderrTail || error.message}`, { cause: error });
    }
    // A TranscodeDeadlineError among them: a failure worth a retry, as a stall is.
    throw error;
  } finally {
    clearTimeout(deadline);
    settled.abort();
    await supervisor.close();
  }
  throwIfAborted(signal);
}

/**
 * Checks the output (every variant complete and covering the recording, poster written) and
 * describes it for the master playlist and asset.json. FFmpeg reads a truncated or damaged
 * file to wherever it can and still exits 0, so coverage is what tells a bad recording apart.
 */
async function describeAsset(
  plan: VodPlan,
  spec: JobSpec,
  source: ObjectInfo,
  recording: RecordingInfo,
): Promise<{ entries: VariantEntry[]; asset: AssetManifest }> {
  const entries: VariantEntry[] = [];
  const variants: AssetVariant[] = [];
  for (const rendition of plan.renditions) {
    const playlist = await readFile(path.join(plan.outputDir, rendition.name, VARIANT_PLAYLIST), "utf8").catch(() => "");
    const { segments, ended } = parseMediaPlaylist(playlist);
    const covered = segments.reduce((sum, s) => sum + s.duration, 0);
    const missing = plan.source.durationSeconds - covered;
    if (!ended || segments.length === 0 || missing > plan.segmentSeconds) {
      throw new JobRejectedError(
        "undecodable",
        `variant ${rendition.name} covers ${covered.toFixed(2)} s of the recording's ${plan.source.durationSeconds.toFixed(2)} s: the recording is damaged or truncated`,
      );
    }
    const entry = await describeVariant(plan.outputDir, rendition, plan.audioBitrateKbps, { bandwidth: "all-segments" });
    if (!entry) throw new JobRejectedError("undecodable", `variant ${rendition.name} has no decodable video`);
    entries.push({ ...entry, extra: { "X-PROJECTION": rendition.projection } });
    variants.push(assetVariant(rendition, entry, segments.length, covered));
  }
  const poster = await stat(plan.poster.file).catch(() => undefined);
  if (!poster || poster.size === 0) throw new JobRejectedError("undecodable", "FFmpeg wrote no poster frame");
  const asset: AssetManifest = {
    version: ASSET_MANIFEST_VERSION,
    stream: recording.stream,
    startedAt: recording.startedAt.toISOString(),
    created: new Date().toISOString(),
    durationSeconds: round(plan.source.durationSeconds),
    projection: recording.projection,
    master: MASTER_PLAYLIST,
    poster: POSTER_FILE,
    segmentSeconds: plan.segmentSeconds,
    variants,
    source: { bucket: spec.bucket, key: spec.key, etag: source.etag, sizeBytes: source.size },
  };
  return { entries, asset };
}

function assetVariant(rendition: VodRendition, entry: VariantEntry, segments: number, durationSeconds: number): AssetVariant {
  return {
    name: rendition.name,
    playlist: entry.uri,
    width: entry.width,
    height: entry.height,
    frameRate: round(entry.frameRate),
    bandwidth: Math.round(entry.bandwidth),
    averageBandwidth: Math.round(entry.averageBandwidth),
    codecs: [...entry.codecs],
    projection: rendition.projection,
    segments,
    durationSeconds: round(durationSeconds),
  };
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
