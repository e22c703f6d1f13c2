import { createWriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { Command } from "commander";
import { ConfigError, FileQueue, LocalDirectoryStorage, createLogger, type JobQueue, type Logger, type ObjectStorage } from "@live360/core";
import { UploadingRecordingSink, createOriginMetrics, startOrigin, type Origin } from "@live360/origin";
import { parseSize, startTestSource, type TestSource } from "@live360/test-source";
import { resolveVodWorkerConfig, runVodWorker, vodRoutes } from "@live360/vod-worker";
import { addOriginOptions, originConfigFromFlags, s3StorageFromFlags, sqsQueueFromFlags, type OriginFlags } from "./origin-options.js";
import { closeOnSignal } from "./lifecycle.js";

interface LocalFlags extends OriginFlags {
  testSource: boolean;
  testSourceSize: string;
  egressBucket?: string;
}

/** Local mode's buckets (directories below <data-dir>/buckets) when no real S3 is given. */
const LOCAL_INGEST_BUCKET = "ingest";
const LOCAL_EGRESS_BUCKET = "egress";
/** Local mode's dead-letter threshold: a bad recording is tried this often, then set aside. */
const LOCAL_MAX_RECEIVE_COUNT = 5;
/** The local file queue's long-poll wait (see VodServices.waitTimeSeconds). */
const LOCAL_QUEUE_WAIT_SECONDS = 1;

interface VodServices {
  storage: ObjectStorage;
  queue: JobQueue;
  ingestBucket: string;
  egressBucket: string;
  /** For the banner: where recordings, assets and jobs live. */
  description: string;
  /**
   * The worker's long-poll wait. A stopping worker lets its open poll return (an abandoned SQS
   * poll would hide the next message); the file queue polls the directory itself, so a short
   * wait costs nothing there and keeps Ctrl-C prompt.
   */
  waitTimeSeconds: number | undefined;
}

/**
 * The VOD pipeline's storage and queue: by default directories below the data directory (no
 * cloud); with any of the S3/SQS flags, real services, which then need all three of
 * --ingest-bucket, --egress-bucket and --queue-url.
 */
async function vodServices(flags: LocalFlags, dataDir: string): Promise<VodServices> {
  const serviceFlags = [flags.ingestBucket, flags.egressBucket, flags.queueUrl, flags.s3Endpoint, flags.sqsEndpoint];
  if (serviceFlags.every((value) => value === undefined)) {
    const storage = new LocalDirectoryStorage(path.join(dataDir, "buckets"));
    await storage.createBucket(LOCAL_INGEST_BUCKET);
    await storage.createBucket(LOCAL_EGRESS_BUCKET);
    const queueDir = path.join(dataDir, "queue");
    const queue = await FileQueue.open({ dir: queueDir, deadLetter: { dir: path.join(queueDir, "dead-letter"), maxReceiveCount: LOCAL_MAX_RECEIVE_COUNT } });
    return {
      storage,
      queue,
      ingestBucket: LOCAL_INGEST_BUCKET,
      egressBucket: LOCAL_EGRESS_BUCKET,
      description: `${storage.root} (buckets ${LOCAL_INGEST_BUCKET}, ${LOCAL_EGRESS_BUCKET})   jobs: ${queueDir}`,
      waitTimeSeconds: LOCAL_QUEUE_WAIT_SECONDS,
    };
  }
  const fix = "with real S3/SQS give all of --ingest-bucket, --egress-bucket and --queue-url (and --s3-endpoint/--sqs-endpoint for compatible servers)";
  if (!flags.ingestBucket) throw new ConfigError("--ingest-bucket", flags.ingestBucket, fix);
  if (!flags.egressBucket) throw new ConfigError("--egress-bucket", flags.egressBucket, fix);
  if (!flags.queueUrl) throw new ConfigError("--queue-url", flags.queueUrl, fix);
  return {
    storage: s3StorageFromFlags(flags),
    queue: sqsQueueFromFlags(flags, flags.queueUrl),
    ingestBucket: flags.ingestBucket,
    egressBucket: flags.egressBucket,
    description: `s3://${flags.ingestBucket} → s3://${flags.egressBucket}   jobs: ${flags.queueUrl}`,
    waitTimeSeconds: undefined,
  };
}

const TEST_STREAM = "test";

/**
 * Everything on one machine: origin, test source, player. Full JSON logs go to a file so the
 * terminal shows the URLs and one live status line; warnings and errors still reach it.
 */
function localLogger(dataDir: string): Logger {
  const file = createWriteStream(path.join(dataDir, "live360.log"), { flags: "a" });
  return createLogger("local", {
    sink: (line) => {
      file.write(line + "\n");
      if (/"level":"(warn|error)"/.test(line)) process.stderr.write(`\n${line}\n`);
    },
  });
}

function statusLine(origin: Origin): string {
  const { streams } = origin.stat();
  if (streams.length === 0) return "waiting for a publisher…";
  return streams
    .map((s) => {
      const kbps = Math.round(s.inputBitrateBps / 1000);
      const size = s.video ? `${s.video.width}x${s.video.height}` : "?";
      return `${s.stream}: ${s.state} ${size} ${kbps} kbit/s ${s.inputFps} fps, ffmpeg ${s.ffmpeg.speed.toFixed(2)}x, ${s.variants.length} variants, ${s.ffmpeg.restarts} restarts`;
    })
    .join(" | ");
}

export function localCommand(): Command {
  return addOriginOptions(
    new Command("local").description(
      "Run live360 on this machine with no cloud and no cluster: origin, a 360 test source publishing stream \"test\", and the player",
    ),
  )
    .option("--no-test-source", "do not start the built-in test source (publish your own, e.g. from OBS)")
    .option("--test-source-size <WxH>", "test pattern size (2:1 equirectangular)", "1280x640")
    .option("--egress-bucket <bucket>", "with real S3/SQS: bucket the VOD worker writes assets to (default: a local directory)")
    .action(async (flags: LocalFlags) => {
      const config = originConfigFromFlags(flags);
      await mkdir(config.dataDir, { recursive: true });
      const logger = localLogger(config.dataDir);
      const size = parseSize("--test-source-size", flags.testSourceSize);
      const vod = await vodServices(flags, config.dataDir);
      // The VOD ladder is the live one, so what a viewer saw live is what they can watch later.
      const vodConfig = resolveVodWorkerConfig({
        egressBucket: vod.egressBucket,
        ingestBucket: vod.ingestBucket,
        ladder: config.ladder,
        workDir: path.join(config.dataDir, "vod-work"),
        httpPort: 0,
        ...(vod.waitTimeSeconds !== undefined ? { waitTimeSeconds: vod.waitTimeSeconds } : {}),
        // Encrypted live, encrypted on demand: an asset must not publish what the stream kept closed.
        hlsEncryption: config.hlsEncryption,
      });
      const metrics = createOriginMetrics();
      const recordingSink = new UploadingRecordingSink({ storage: vod.storage, queue: vod.queue, bucket: vod.ingestBucket, logger: logger.child("recordings"), metrics });
      const origin = await startOrigin(config, { logger, metrics, recordingSink, routes: vodRoutes(vod.storage, vod.egressBucket, config.hlsEncryption) });
      const worker = await runVodWorker(vodConfig, { storage: vod.storage, queue: vod.queue, logger: logger.child("vod") });
      const host = config.bindAddress === "0.0.0.0" ? "localhost" : config.bindAddress;
      const base = `http://${host}:${config.httpPort}`;
      process.stdout.write(
        [
          "live360 local is running",
          `  ingest (OBS: server, stream key = stream name): rtmp://${host}:${config.rtmpPort}/live  key: ${TEST_STREAM}`,
          `  playback (HLS):  ${base}/hls/${TEST_STREAM}/master.m3u8`,
          `  player:          ${base}/player/?url=/hls/${TEST_STREAM}/master.m3u8${config.lowLatency ? "&latency=low" : ""}`,
          `  stats:           ${base}/stat   metrics: ${base}/metrics`,
          `  on demand (VOD): ${base}/vod/   (each ended stream becomes an asset here)`,
          `  recordings:      ${vod.description}`,
          `  logs:            ${path.join(config.dataDir, "live360.log")}`,
          "  Ctrl-C stops everything and finalizes recordings.",
          "",
        ].join("\n"),
      );
      let testSource: TestSource | undefined;
      if (flags.testSource) {
        testSource = await startTestSource(
          {
            urls: [`rtmp://127.0.0.1:${config.rtmpPort}/live/${TEST_STREAM}`],
            width: size.width,
            height: size.height,
            // The encoder's keyframe interval sets the segment length: match the preset.
            keyframeIntervalSeconds: config.segmentSeconds,
          },
          { logger: logger.child("test-source") },
        );
      }
      const interactive = process.stdout.isTTY === true;
      worker.on("completed", ({ prefix, alreadyDone }) => {
        if (!alreadyDone) process.stdout.write(`\nVOD ready: ${base}/player/?url=/${prefix}master.m3u8\n`);
      });
      const ticker = setInterval(
        () => process.stdout.write(interactive ? `\r\x1b[2K${statusLine(origin)}` : `${statusLine(origin)}\n`),
        interactive ? 1000 : 10_000,
      );
      await closeOnSignal(async () => {
        clearInterval(ticker);
        process.stdout.write("\nstopping: ending streams and finalizing recordings…\n");
        await testSource?.close();
        // The origin hands its last recordings to the queue first; a job the worker has not
        // finished stays queued (durably) and is done at the next start.
        await origin.close();
        await worker.stop();
      });
    });
}
