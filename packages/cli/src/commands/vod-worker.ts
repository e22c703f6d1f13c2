import { Command, Option } from "commander";
import { writeFile } from "node:fs/promises";
import {
  ConfigError,
  MissingDependencyError,
  createLogger,
  formatJobResult,
  parseLadder,
  parseNumberFlag,
  type JobResult,
  type Logger,
  type ObjectStorage,
} from "@live360/core";
import {
  DEFAULT_VOD_WORKER_CONFIG,
  MASTER_PLAYLIST,
  JobAbortedError,
  JobRejectedError,
  OUTPUT_PROJECTIONS,
  createVodMetrics,
  startVodHttpServer,
  resolveVodWorkerConfig,
  runVodJob,
  runVodWorker,
  type OutputProjection,
  type VodWorkerConfig,
} from "@live360/vod-worker";
import { closeOnSignal } from "./lifecycle.js";
import { addHlsEncryptionOptions, hlsEncryptionFromFlags, type HlsEncryptionFlags } from "./hls-encryption-options.js";
import { addServiceEndpointOptions, s3StorageFromFlags, sqsQueueFromFlags, type ServiceEndpointFlags } from "./origin-options.js";

interface VodWorkerFlags extends ServiceEndpointFlags, HlsEncryptionFlags {
  egressBucket?: string;
  ingestBucket?: string;
  queueUrl?: string;
  job?: string;
  resultFile?: string;
  concurrency: string;
  visibilityTimeout: string;
  heartbeat: string;
  retryDelay: string;
  ladder?: string;
  segmentSeconds: string;
  preset: string;
  projection: string;
  workDir: string;
  httpPort: string;
  bind: string;
  transcodeStallTimeout: string;
  transcodeDeadlineFactor: string;
  transcodeDeadlineMin: string;
}

/**
 * Exit codes of `--job` mode, so a Kubernetes Job can tell "retry elsewhere" from "never
 * retry" (podFailurePolicy on exit codes): 0 asset complete, 1 failed (worth a retry),
 * 3 refused (the recording or URL can never work), 143 interrupted by SIGTERM.
 */
export const JOB_EXIT = { completed: 0, failed: 1, rejected: 3, interrupted: 143 } as const;

function configFromFlags(flags: VodWorkerFlags): VodWorkerConfig {
  if (!flags.egressBucket) throw new ConfigError("--egress-bucket", flags.egressBucket, "give the bucket assets are written to");
  return resolveVodWorkerConfig({
    egressBucket: flags.egressBucket,
    ingestBucket: flags.ingestBucket,
    concurrency: parseNumberFlag("--concurrency", flags.concurrency),
    visibilityTimeoutSeconds: parseNumberFlag("--visibility-timeout", flags.visibilityTimeout),
    heartbeatSeconds: parseNumberFlag("--heartbeat", flags.heartbeat),
    retryDelaySeconds: parseNumberFlag("--retry-delay", flags.retryDelay),
    ladder: flags.ladder ? parseLadder("--ladder", flags.ladder) : undefined,
    segmentSeconds: parseNumberFlag("--segment-seconds", flags.segmentSeconds),
    x264Preset: flags.preset,
    projection: flags.projection as OutputProjection,
    workDir: flags.workDir,
    httpPort: parseNumberFlag("--http-port", flags.httpPort),
    bindAddress: flags.bind,
    transcodeStallTimeoutSeconds: parseNumberFlag("--transcode-stall-timeout", flags.transcodeStallTimeout),
    transcodeDeadlineFactor: parseNumberFlag("--transcode-deadline-factor", flags.transcodeDeadlineFactor),
    transcodeDeadlineMinSeconds: parseNumberFlag("--transcode-deadline-min", flags.transcodeDeadlineMin),
    hlsEncryption: hlsEncryptionFromFlags(flags),
  });
}

export function vodWorkerCommand(): Command {
  const d = DEFAULT_VOD_WORKER_CONFIG;
  const command = new Command("vod-worker")
    .description(
      "Turn recordings into on-demand ABR HLS: long-poll the queue, transcode each recording with one FFmpeg, upload the asset to s3://<egress>/vod/<stream>/<UTC time>/ (master playlist last), then delete the message. Refused messages go to the dead-letter queue, never away.",
    )
    .option("--egress-bucket <bucket>", "bucket assets are written to (required)")
    .option("--queue-url <url>", "SQS queue with recording jobs (live360's own messages or S3 ObjectCreated events); required unless --job")
    .option("--job <s3-url>", "one-shot: transcode s3://<bucket>/<key> and exit (0 done, 1 failed, 3 refused, 143 SIGTERM); no queue")
    .option("--result-file <file>", "with --job: write the outcome there as JSON (the asset's master playlist URL, or the error); a Kubernetes Job points it at the termination message")
    .option("--ingest-bucket <bucket>", "refuse jobs for any other bucket (reason unknown-bucket)");
  addServiceEndpointOptions(command)
    .option("--concurrency <n>", "jobs worked on at the same time, each with its own FFmpeg", String(d.concurrency))
    .option("--visibility-timeout <seconds>", "how long a received message stays hidden; the heartbeat extends it, so this bounds how soon a dead worker's job is retried", String(d.visibilityTimeoutSeconds))
    .option("--heartbeat <seconds>", "how often a running job extends its message's visibility (at most half the visibility timeout)", String(d.heartbeatSeconds))
    .option("--retry-delay <seconds>", "a refused or failed job is retried after this, doubled per receive (max 900)", String(d.retryDelaySeconds))
    .option("--ladder <rungs>", 'VOD ladder: "source" (pass-through) and WIDTHxHEIGHT:KBPSk rungs (default: source,1920x960:5000k,1080x540:2200k,960x480:1600k; only rungs smaller than the recording are used)')
    .option("--segment-seconds <seconds>", "HLS segment length (segments start on the recording's keyframes)", String(d.segmentSeconds))
    .option("--preset <name>", "x264 preset of the transcoded rungs", d.x264Preset)
    .addOption(
      new Option("--projection <kind>", "lower rungs of equirectangular recordings: keep equirect, or re-project to an equi-angular cubemap (needs FFmpeg's v360)")
        .choices(OUTPUT_PROJECTIONS)
        .default(d.projection),
    )
    .option("--work-dir <dir>", "downloads and FFmpeg output, one directory per job", d.workDir);
  return addHlsEncryptionOptions(command, "the assets it writes (whoever serves their keys needs the same secret)")
    .option("--transcode-stall-timeout <seconds>", "a transcode reporting no progress this long is killed and its job retried", String(d.transcodeStallTimeoutSeconds))
    .option("--transcode-deadline-factor <n>", "a transcode still running after the recording's duration times this (at least --transcode-deadline-min) is killed and its job retried", String(d.transcodeDeadlineFactor))
    .option("--transcode-deadline-min <seconds>", "the least time a transcode gets before its deadline, however short the recording", String(d.transcodeDeadlineMinSeconds))
    .option("--http-port <port>", "port for /metrics (with the running job's progress), /healthz and /status (0: none; with --job only when given)", String(d.httpPort))
    .option("--bind <address>", "address the HTTP port listens on", d.bindAddress)
    .action(async (flags: VodWorkerFlags, self: Command) => {
      const config = configFromFlags(flags);
      const logger = createLogger("vod-worker");
      const storage = s3StorageFromFlags(flags);
      if (flags.job !== undefined) {
        // One-shot jobs run side by side on a machine: they serve HTTP only when asked to.
        const serveHttp = self.getOptionValueSource("httpPort") !== "default" && config.httpPort !== 0;
        process.exitCode = await runOneJob({ ...config, httpPort: serveHttp ? config.httpPort : 0 }, flags.job, storage, logger, flags.resultFile);
        return;
      }
      if (!flags.queueUrl) throw new ConfigError("--queue-url", flags.queueUrl, "give the SQS queue URL to take jobs from (or --job s3://bucket/key for one job)");
      const worker = await runVodWorker(config, { storage, queue: sqsQueueFromFlags(flags, flags.queueUrl), logger });
      await closeOnSignal(() => worker.stop());
    });
}

async function runOneJob(config: VodWorkerConfig, url: string, storage: ObjectStorage, logger: Logger, resultFile: string | undefined): Promise<number> {
  const interrupt = new AbortController();
  const onSignal = (): void => interrupt.abort("shutdown");
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);
  const report = async (result: JobResult): Promise<void> => {
    if (resultFile !== undefined) await writeFile(resultFile, formatJobResult(result));
  };
  const metrics = createVodMetrics();
  // The operator reads the job's progress from /metrics (live360_vod_job_progress_ratio) for VodJob.status.
  const http =
    config.httpPort === 0 ? undefined : await startVodHttpServer(config, { metrics, isStopping: () => interrupt.signal.aborted, status: () => [] });
  try {
    const outcome = await runVodJob(config, { storage, logger, metrics }, url, interrupt.signal);
    await report({ outcome: outcome.kind, masterPlaylist: `s3://${config.egressBucket}/${outcome.prefix}${MASTER_PLAYLIST}` });
    return JOB_EXIT.completed;
  } catch (error) {
    // A missing FFmpeg or v360 is the installation's problem: main prints it and exits 2.
    if (error instanceof MissingDependencyError) {
      await report({ outcome: "failed", error: error.message });
      throw error;
    }
    if (error instanceof JobAbortedError) {
      logger.warn("job interrupted; run it again to finish", { source: url });
      await report({ outcome: "interrupted", error: error.message });
      return JOB_EXIT.interrupted;
    }
    if (error instanceof JobRejectedError) {
      logger.error("job refused", { source: url, reason: error.reason, detail: error.detail });
      await report({ outcome: "refused", error: error.message });
      return JOB_EXIT.rejected;
    }
    logger.error("job failed", { source: url, error });
    await report({ outcome: "failed", error: (error as Error).message });
    return JOB_EXIT.failed;
  } finally {
    http?.closeAllConnections();
    http?.close();
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
  }
}
