/**
 * Test fixture shared by the VOD worker's suites (worker.test.ts, recovery.test.ts): a test
 * recording in the ingest bucket, a worker in this process with the tests' settings, the
 * transcoding FFmpeg's pid, and storage that notes which uploads completed or failed.
 */
import { execFile } from "node:child_process";
import type { Readable } from "node:stream";
import { promisify } from "node:util";
import {
  createLogger,
  formatRecordingJob,
  parseLadder,
  recordingToMetadata,
  type JobQueue,
  type ObjectInfo,
  type ObjectStorage,
  type ObjectSummary,
  type PutOptions,
  type RecordingInfo,
  type SignalOption,
} from "@live360/core";
import { tempDir, waitFor } from "@live360/testkit";
import { resolveVodWorkerConfig, type VodWorkerConfig } from "./config.js";
import { runVodWorker, type VodWorker } from "./worker.js";

const execFileAsync = promisify(execFile);

export const logger = createLogger("vod-test", { level: process.env.LIVE360_LOG_LEVEL === "debug" ? "debug" : "error" });
export const LADDER = parseLadder("ladder", "source,480x240:500k,320x160:300k");
/** The test clip's length (makeTestClip with `seconds: CLIP_SECONDS`). */
export const CLIP_SECONDS = 8;

/** Real storage underneath; it only notes the order in which uploads completed, and the ones that failed. */
export class UploadOrder implements ObjectStorage {
  readonly completed: string[] = [];
  /** Keys whose upload threw (a retried key can be here and in `completed`). */
  readonly failed: string[] = [];
  constructor(private readonly inner: ObjectStorage) {}
  async putFile(bucket: string, key: string, file: string, options?: PutOptions): Promise<void> {
    await this.noted(key, this.inner.putFile(bucket, key, file, options));
  }
  async putBody(bucket: string, key: string, body: string | Uint8Array, options?: PutOptions): Promise<void> {
    await this.noted(key, this.inner.putBody(bucket, key, body, options));
  }
  getToFile(bucket: string, key: string, file: string, options?: SignalOption): Promise<ObjectInfo> {
    return this.inner.getToFile(bucket, key, file, options);
  }
  getStream(bucket: string, key: string, options?: SignalOption): Promise<{ info: ObjectInfo; body: Readable }> {
    return this.inner.getStream(bucket, key, options);
  }
  head(bucket: string, key: string): Promise<ObjectInfo> {
    return this.inner.head(bucket, key);
  }
  list(bucket: string, prefix?: string): AsyncIterable<ObjectSummary> {
    return this.inner.list(bucket, prefix);
  }
  delete(bucket: string, key: string): Promise<void> {
    return this.inner.delete(bucket, key);
  }
  private async noted(key: string, upload: Promise<void>): Promise<void> {
    try {
      await upload;
    } catch (error) {
      this.failed.push(key);
      throw error;
    }
    this.completed.push(key);
  }
}

/** Puts `clip` into the ingest bucket as stream `stream`'s recording; `job` is the message announcing it. */
export async function uploadRecording(
  storage: ObjectStorage,
  clip: string,
  stream: string,
  startedAt: string,
): Promise<{ key: string; recording: RecordingInfo; job: string }> {
  const recording: RecordingInfo = { stream, startedAt: new Date(startedAt), durationSeconds: CLIP_SECONDS, projection: "equirectangular" };
  const key = `recordings/${stream}/${startedAt.replace(/[-:]/g, "")}.mp4`;
  await storage.putFile("ingest", key, clip, { contentType: "video/mp4", metadata: recordingToMetadata(recording) });
  return { key, recording, job: formatRecordingJob({ bucket: "ingest", key, recording }) };
}

/** A worker in this process: ingest → egress, the test ladder, no HTTP server, 1 s long polls. */
export async function startTestWorker(queue: JobQueue, storage: ObjectStorage, over: Partial<VodWorkerConfig> = {}): Promise<VodWorker> {
  const config = resolveVodWorkerConfig({
    egressBucket: "egress",
    ingestBucket: "ingest",
    ladder: LADDER,
    httpPort: 0,
    waitTimeSeconds: 1,
    workDir: await tempDir("vod-work"),
    ...over,
  });
  return runVodWorker(config, { storage, queue, logger });
}

/**
 * The pid of the transcoding FFmpeg, a child of this process (ffprobe runs under its own name).
 * Tests stop it with SIGSTOP to hold a job in its transcode for as long as they need, whatever
 * the machine's speed.
 */
export function transcodingFfmpeg(): Promise<number> {
  return waitFor(
    "the transcode's FFmpeg",
    async () => {
      const { stdout } = await execFileAsync("pgrep", ["-P", String(process.pid), "-x", "ffmpeg"]).catch(() => ({ stdout: "" }));
      return Number(stdout.trim().split("\n")[0]) || undefined;
    },
    { timeoutMs: 60_000, intervalMs: 50 },
  );
}

/** One series of the worker's metrics, e.g. `metricValue(worker, "live360_vod_jobs_total", 'result="failed"')`; 0 when absent. */
export async function metricValue(worker: VodWorker, name: string, labels = ""): Promise<number> {
  const text = await worker.metrics.registry.metrics();
  const line = text.split("\n").find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ""} `));
  return line ? Number(line.split(" ").pop()) : 0;
}
