import { readdir, rm } from "node:fs/promises";
import type { Server } from "node:http";
import path from "node:path";
import {
  Backoff,
  InvalidJobMessageError,
  ReceiptHandleInvalidError,
  TypedEmitter,
  parseJobMessage,
  requireFilter,
  resolveBinary,
  sleep,
  type JobQueue,
  type Logger,
  type ObjectStorage,
  type QueueMessage,
  type ResolvedBinary,
} from "@live360/core";
import type { AssetManifest } from "./asset.js";
import type { VodWorkerConfig } from "./config.js";
import { JobAbortedError, JobRejectedError, abortCause, type AbortCause } from "./errors.js";
import { startVodHttpServer } from "./http.js";
import { processJob, type JobOutcome, type JobSpec } from "./job.js";
import { createVodMetrics, type JobResult, type VodMetrics } from "./metrics.js";
import type { JobProgress } from "./progress.js";
import { retryTransient } from "./retry.js";

export interface VodWorkerDeps {
  storage: ObjectStorage;
  queue: JobQueue;
  logger: Logger;
  metrics?: VodMetrics;
}

/** A job being worked on, as /status shows it. */
export interface RunningJobStatus {
  messageId: string;
  receiveCount: number;
  source: string;
  /** `vod/<stream>/<timestamp>/`, once known. */
  asset: string | undefined;
  phase: "preparing" | "transcoding" | "uploading";
  progress: JobProgress | undefined;
  startedAt: string;
}

export interface VodWorkerEvents {
  /** An asset was completed (or found complete) and its message deleted. */
  completed: [{ prefix: string; manifest: AssetManifest; alreadyDone: boolean }];
  /** A message was released towards the dead-letter queue with a reason. */
  rejected: [{ messageId: string; reason: string; detail: string; receiveCount: number }];
}

/** Retries double per receive from the configured delay, up to SQS's maximum message delay. */
const MAX_RETRY_DELAY_SECONDS = 900;
/** How often progress is logged; metrics follow every FFmpeg report. */
const PROGRESS_LOG_INTERVAL_MS = 5000;

class RunningJob {
  readonly controller = new AbortController();
  readonly status: RunningJobStatus;
  /**
   * Set once the message's delete is under way: a heartbeat still in flight may then reach SQS
   * after the delete and be refused for its handle, which is the job ending, not the message lost.
   */
  deleting = false;

  constructor(readonly message: QueueMessage) {
    this.status = {
      messageId: message.id,
      receiveCount: message.receiveCount,
      source: "",
      asset: undefined,
      phase: "preparing",
      progress: undefined,
      startedAt: new Date().toISOString(),
    };
  }

  abort(cause: AbortCause): void {
    if (!this.controller.signal.aborted) this.controller.abort(cause);
  }
}

/**
 * A VOD worker: long-polls the queue, and for each message transcodes the recording it names
 * into an ABR HLS asset in the egress bucket. A message is deleted only after the asset's
 * master playlist is uploaded; while the job runs, a heartbeat keeps the message hidden from
 * other workers; if the worker dies, the message reappears after one visibility timeout.
 */
export class VodWorker extends TypedEmitter<VodWorkerEvents> {
  readonly metrics: VodMetrics;
  /** Resolves when every poll loop has ended (after stop()). */
  readonly done: Promise<void>;
  private readonly running = new Set<RunningJob>();
  /** Aborted on stop: no loop starts another receive. */
  private readonly polling = new AbortController();
  /**
   * Aborted when pending receives may be abandoned. An abandoned long poll still takes a message
   * on the server (SQS and ElasticMQ alike) and hides it for a visibility timeout, so receives
   * stay open while this worker releases interrupted jobs: a released message one of them takes
   * comes back to this worker, which gives it back at once.
   */
  private readonly abandonReceives = new AbortController();
  private stopping: Promise<void> | undefined;
  private http: Server | undefined;

  private constructor(
    readonly config: VodWorkerConfig,
    private readonly deps: VodWorkerDeps,
    private readonly ffmpeg: ResolvedBinary,
  ) {
    super();
    this.metrics = deps.metrics ?? createVodMetrics();
    const loops = Array.from({ length: config.concurrency }, (_, i) => this.pollLoop(i));
    this.done = Promise.all(loops).then(() => undefined);
  }

  static async start(config: VodWorkerConfig, deps: VodWorkerDeps): Promise<VodWorker> {
    const ffmpeg = await prepare(config, deps.logger);
    const worker = new VodWorker(config, deps, ffmpeg);
    if (config.httpPort !== 0) {
      worker.http = await startVodHttpServer(config, {
        metrics: worker.metrics,
        isStopping: () => worker.stopping !== undefined,
        status: () => worker.status(),
      });
    }
    deps.logger.info("vod worker ready", {
      queue: deps.queue.name,
      egressBucket: config.egressBucket,
      concurrency: config.concurrency,
      visibilityTimeoutSeconds: config.visibilityTimeoutSeconds,
      heartbeatSeconds: config.heartbeatSeconds,
      projection: config.projection,
      transcodeDeadline: `max(${config.transcodeDeadlineMinSeconds} s, duration × ${config.transcodeDeadlineFactor})`,
      ...(config.httpPort !== 0 ? { http: `http://${config.bindAddress}:${config.httpPort}/metrics` } : {}),
    });
    return worker;
  }

  status(): RunningJobStatus[] {
    return [...this.running].map((job) => ({ ...job.status }));
  }

  /**
   * SIGTERM: take no more jobs, abort the running ones (FFmpeg is killed), make their messages
   * visible at once so another worker picks them up, and return within the shutdown timeout.
   */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.deps.logger.info("vod worker stopping", { running: this.running.size });
      this.polling.abort();
      for (const job of this.running) job.abort("shutdown");
      // Open long polls are never abandoned early, not even by an idle worker: the server would
      // keep them and hand the next message to nobody for a visibility timeout. Each poll started
      // before the stop, so it returns within waitTimeSeconds (≤ 20 s) and what it brings goes back.
      const deadlineSeconds = Math.max(this.config.shutdownTimeoutSeconds, this.config.waitTimeSeconds);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), deadlineSeconds * 1000)));
      let result = await Promise.race([this.done, timedOut]);
      if (result === "timeout") {
        this.abandonReceives.abort();
        result = await Promise.race([this.done, new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), 2000)))]);
      }
      clearTimeout(timer);
      if (result === "timeout") this.deps.logger.warn("vod worker stop timed out; messages not released become visible after their timeout");
      await new Promise<void>((resolve) => (this.http ? this.http.close(() => resolve()) : resolve()));
      this.http?.closeAllConnections();
      this.deps.logger.info("vod worker stopped");
    })();
    return this.stopping;
  }

  private async pollLoop(index: number): Promise<void> {
    const { queue, logger } = this.deps;
    const backoff = new Backoff({ initialMs: 1000, maxMs: 30_000 });
    while (!this.polling.signal.aborted) {
      let messages: QueueMessage[];
      try {
        messages = await queue.receive({
          maxMessages: 1,
          waitTimeSeconds: this.config.waitTimeSeconds,
          visibilityTimeoutSeconds: this.config.visibilityTimeoutSeconds,
          signal: this.abandonReceives.signal,
        });
        backoff.reset();
      } catch (error) {
        this.metrics.receiveFailures.inc();
        const delayMs = backoff.next();
        logger.warn("queue receive failed; retrying", { loop: index, retryInMs: delayMs, error });
        await sleep(delayMs, this.polling.signal);
        continue;
      }
      for (const message of messages) await (this.stopping ? this.giveBack(message, logger) : this.handle(message));
    }
  }

  /** A message received while stopping (possibly one this worker just released) goes straight back. */
  private async giveBack(message: QueueMessage, logger: Logger): Promise<void> {
    try {
      await this.deps.queue.changeVisibility(message.receiptHandle, 0);
      logger.info("message received while stopping; visible again for another worker", { messageId: message.id });
    } catch (error) {
      logger.warn("could not give back a message received while stopping; it becomes visible after its timeout", { messageId: message.id, error });
    }
  }

  private async handle(message: QueueMessage): Promise<void> {
    const job = new RunningJob(message);
    // A message received just as the worker stops goes straight back.
    if (this.stopping) job.abort("shutdown");
    const logger = this.deps.logger.child("job", { messageId: message.id, receiveCount: message.receiveCount });
    this.running.add(job);
    this.metrics.running.set(this.running.size);
    const heartbeat = this.startHeartbeat(job, logger);
    try {
      const spec = this.parse(message);
      if (spec === undefined) {
        await this.deps.queue.delete(message.receiptHandle);
        logger.info("deleted S3's test event (it names no recording)");
        return;
      }
      job.status.source = `s3://${spec.bucket}/${spec.key}`;
      logger.info("job received", { source: job.status.source });
      const outcome = await this.run(job, spec, logger);
      await this.finish(job, outcome, logger);
    } catch (error) {
      await this.fail(job, error, logger);
    } finally {
      clearInterval(heartbeat);
      if (job.status.asset) {
        for (const gauge of [this.metrics.progress, this.metrics.eta, this.metrics.speed]) gauge.remove({ asset: job.status.asset });
      }
      this.running.delete(job);
      this.metrics.running.set(this.running.size);
    }
  }

  /** The job the message names; undefined for S3's harmless test event. */
  private parse(message: QueueMessage): JobSpec | undefined {
    try {
      const parsed = parseJobMessage(message.body);
      if (parsed.kind === "s3-test-event") return undefined;
      return { bucket: parsed.job.bucket, key: parsed.job.key, ...(parsed.job.recording ? { recording: parsed.job.recording } : {}) };
    } catch (error) {
      if (error instanceof InvalidJobMessageError) throw new JobRejectedError("invalid-message", error.message);
      throw error;
    }
  }

  private run(job: RunningJob, spec: JobSpec, logger: Logger): Promise<JobOutcome> {
    let lastLog = 0;
    return processJob(spec, {
      config: this.config,
      storage: this.deps.storage,
      ffmpeg: this.ffmpeg,
      logger,
      signal: job.controller.signal,
      onAsset: (prefix) => (job.status.asset = prefix),
      onPhase: (phase, seconds) => {
        this.metrics.phaseSeconds.observe({ phase }, seconds);
        job.status.phase = phase === "download" ? "transcoding" : "uploading";
      },
      onKilled: (reason) => this.metrics.transcodeKills.inc({ reason }),
      onRetry: (call) => this.metrics.callRetries.inc({ call }),
      onProgress: (progress) => {
        job.status.progress = progress;
        const asset = job.status.asset ?? "";
        recordProgress(this.metrics, asset, progress);
        if (Date.now() - lastLog >= PROGRESS_LOG_INTERVAL_MS || progress.ratio >= 1) {
          lastLog = Date.now();
          logger.info("transcode progress", {
            asset,
            percent: Math.round(progress.ratio * 1000) / 10,
            etaSeconds: progress.etaSeconds === undefined ? undefined : Math.round(progress.etaSeconds),
            speed: Math.round(progress.speed * 100) / 100,
          });
        }
      },
    });
  }

  private async finish(job: RunningJob, outcome: JobOutcome, logger: Logger): Promise<void> {
    try {
      // The asset is complete: an SQS outage now is waited out (the heartbeat goes on), not
      // answered by handing the message back, which would only bring it here again to be found done.
      job.deleting = true;
      await retryTransient("delete", job.message.id, () => this.deps.queue.delete(job.message.receiptHandle), {
        signal: job.controller.signal,
        logger,
        onRetry: (call) => this.metrics.callRetries.inc({ call }),
      });
    } catch (error) {
      // Received again elsewhere meanwhile: that worker will find the asset complete.
      if (!(error instanceof ReceiptHandleInvalidError)) throw error;
      logger.warn("asset complete, but the message was received again meanwhile; its next worker will find the asset done", { error });
    }
    const alreadyDone = outcome.kind === "already-done";
    this.count(alreadyDone ? "already-done" : "completed");
    if (!alreadyDone) this.metrics.mediaSeconds.inc(outcome.manifest.durationSeconds);
    logger.info(alreadyDone ? "asset already complete; message deleted" : "asset complete; message deleted", {
      prefix: outcome.prefix,
      bucket: this.config.egressBucket,
      durationSeconds: outcome.manifest.durationSeconds,
      variants: outcome.manifest.variants.map((v) => v.name),
    });
    this.emit("completed", { prefix: outcome.prefix, manifest: outcome.manifest, alreadyDone });
  }

  /**
   * Never deletes: a refused or failed job is released for a later retry, so a message that
   * keeps failing reaches the queue's maxReceiveCount and moves to the dead-letter queue.
   */
  private async fail(job: RunningJob, error: unknown, logger: Logger): Promise<void> {
    const { queue } = this.deps;
    const handle = job.message.receiptHandle;
    // A stop interrupts downloads and uploads too, and storage reports that as its own error:
    // the job is then interrupted, not failed, and must not wait out a retry delay.
    const signal = job.controller.signal;
    const interrupted = error instanceof JobAbortedError ? error : signal.aborted ? new JobAbortedError(abortCause(signal)) : undefined;
    try {
      if (interrupted) {
        this.count("interrupted");
        if (interrupted.why === "lost-message") {
          logger.warn("job abandoned: its message was received by another worker");
          return;
        }
        await queue.changeVisibility(handle, 0);
        logger.info("job interrupted by shutdown; message visible again for another worker", { asset: job.status.asset });
        return;
      }
      const retryAfterSeconds = Math.min(MAX_RETRY_DELAY_SECONDS, this.config.retryDelaySeconds * 2 ** (job.message.receiveCount - 1));
      if (error instanceof JobRejectedError) {
        this.count("rejected");
        this.metrics.rejected.inc({ reason: error.reason });
        logger.warn("job refused; message released towards the dead-letter queue", {
          reason: error.reason,
          detail: error.detail,
          source: job.status.source || undefined,
          retryAfterSeconds,
        });
        await queue.release(handle, { reason: `${error.reason}: ${error.detail}`, retryAfterSeconds });
        this.emit("rejected", { messageId: job.message.id, reason: error.reason, detail: error.detail, receiveCount: job.message.receiveCount });
        return;
      }
      this.count("failed");
      logger.error("job failed; message released for a retry", { error, source: job.status.source || undefined, retryAfterSeconds });
      await queue.release(handle, { reason: `failed: ${(error as Error).message}`, retryAfterSeconds });
    } catch (releaseError) {
      // The message comes back by itself when its visibility runs out: nothing is lost.
      logger.warn("could not release the message; it becomes visible after its timeout", { error: releaseError });
    }
  }

  private count(result: JobResult): void {
    this.metrics.jobs.inc({ result });
  }

  private startHeartbeat(job: RunningJob, logger: Logger): NodeJS.Timeout {
    let beating = false;
    return setInterval(() => {
      if (beating || job.controller.signal.aborted) return;
      beating = true;
      this.deps.queue
        .changeVisibility(job.message.receiptHandle, this.config.visibilityTimeoutSeconds)
        .then(() => this.metrics.heartbeats.inc({ result: "ok" }))
        .catch((error: unknown) => {
          if (error instanceof ReceiptHandleInvalidError) {
            // The delete path handles a message received elsewhere itself.
            if (job.deleting) return;
            this.metrics.heartbeats.inc({ result: "lost" });
            job.abort("lost-message");
          } else {
            this.metrics.heartbeats.inc({ result: "failed" });
            logger.warn("heartbeat failed; retrying at the next beat", { error });
          }
        })
        .finally(() => (beating = false));
    }, this.config.heartbeatSeconds * 1000);
  }
}

export function runVodWorker(config: VodWorkerConfig, deps: VodWorkerDeps): Promise<VodWorker> {
  return VodWorker.start(config, deps);
}

/**
 * One job without a queue (`live360 vod-worker --job s3://bucket/key`, as a Kubernetes Job
 * runs it). Rejections and failures are thrown for the caller to turn into an exit code.
 */
export async function runVodJob(
  config: VodWorkerConfig,
  deps: { storage: ObjectStorage; logger: Logger; metrics?: VodMetrics },
  source: string,
  signal: AbortSignal,
): Promise<JobOutcome> {
  const spec = parseJobUrl(source);
  const ffmpeg = await prepare(config, deps.logger);
  const metrics = deps.metrics ?? createVodMetrics();
  const logger = deps.logger.child("job", { source });
  let lastLog = 0;
  let asset = "";
  const outcome = await processJob(spec, {
    config,
    storage: deps.storage,
    ffmpeg,
    logger,
    signal,
    onAsset: (prefix) => (asset = prefix),
    onPhase: (phase, seconds) => metrics.phaseSeconds.observe({ phase }, seconds),
    onKilled: (reason) => metrics.transcodeKills.inc({ reason }),
    onRetry: (call) => metrics.callRetries.inc({ call }),
    onProgress: (progress) => {
      // The operator reads these from the pod's /metrics into VodJob.status.progress.
      recordProgress(metrics, asset, progress);
      if (Date.now() - lastLog < PROGRESS_LOG_INTERVAL_MS && progress.ratio < 1) return;
      lastLog = Date.now();
      logger.info("transcode progress", { percent: Math.round(progress.ratio * 1000) / 10, etaSeconds: progress.etaSeconds && Math.round(progress.etaSeconds) });
    },
  }).catch((error: unknown) => {
    // As in the queue worker: whatever a stop interrupted (a download, an upload) is an interruption.
    throw signal.aborted && !(error instanceof JobAbortedError) ? new JobAbortedError(abortCause(signal)) : error;
  });
  logger.info(outcome.kind === "already-done" ? "asset already complete" : "asset complete", { prefix: outcome.prefix, bucket: config.egressBucket });
  return outcome;
}

/** The progress gauges of one running job, labelled with its asset prefix. */
function recordProgress(metrics: VodMetrics, asset: string, progress: JobProgress): void {
  metrics.progress.set({ asset }, progress.ratio);
  metrics.speed.set({ asset }, progress.speed);
  if (progress.etaSeconds !== undefined) metrics.eta.set({ asset }, progress.etaSeconds);
}

/** `s3://bucket/key` → the job; anything else is refused before any work. */
export function parseJobUrl(url: string): JobSpec {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(url);
  if (!match) throw new JobRejectedError("invalid-message", `--job ${JSON.stringify(url)} is not an s3://bucket/key URL`);
  return { bucket: match[1]!, key: match[2]! };
}

/** FFmpeg (and v360 when re-projecting) up front, and the work directory cleared of dead workers' leftovers. */
async function prepare(config: VodWorkerConfig, logger: Logger): Promise<ResolvedBinary> {
  const ffmpeg = await resolveBinary("ffmpeg");
  logger.info("using ffmpeg", { path: ffmpeg.path, version: ffmpeg.version, source: ffmpeg.source });
  if (config.projection === "cubemap") await requireFilter(ffmpeg, "v360", "--projection cubemap (re-projecting lower rungs to an equi-angular cubemap)");
  await removeStaleJobDirectories(config.workDir, logger);
  return ffmpeg;
}

/**
 * A worker killed mid-job leaves its download and FFmpeg output behind (gigabytes for long
 * recordings). Job directories carry their worker's pid; those of processes that are gone are removed.
 */
async function removeStaleJobDirectories(workDir: string, logger: Logger): Promise<void> {
  const names = await readdir(workDir).catch(() => [] as string[]);
  for (const name of names) {
    const pid = Number(/^job-(\d+)-/.exec(name)?.[1]);
    if (!pid || pid === process.pid || isAlive(pid)) continue;
    await rm(path.join(workDir, name), { recursive: true, force: true });
    logger.info("removed a dead worker's job directory", { dir: path.join(workDir, name) });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
