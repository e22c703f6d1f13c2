import { rm } from "node:fs/promises";
import {
  Backoff,
  formatRecordingJob,
  recordingToMetadata,
  sleep,
  type JobQueue,
  type Logger,
  type ObjectStorage,
} from "@live360/core";
import type { OriginMetrics } from "./metrics.js";
import { utcStamp, type FinishedRecording, type RecordingSink } from "./recording.js";

export interface PendingDelivery {
  stream: string;
  file: string;
  attempts: number;
  lastError: string | undefined;
  uploaded: boolean;
}

/** `recordings/<stream>/<UTC timestamp>.mp4`: deterministic, so a retried upload overwrites itself. */
export function recordingKey(recording: Pick<FinishedRecording, "stream" | "startedAt">): string {
  return `recordings/${recording.stream}/${utcStamp(recording.startedAt)}.mp4`;
}

/**
 * Hands recordings to the VOD pipeline: upload to the ingest bucket (multipart, with the
 * recording's metadata), then — only once the upload completed — send the job message, then
 * delete the local file. Any failure is retried with backoff forever while the origin runs;
 * the file stays on disk (and is picked up again at the next start) until both succeeded.
 */
export class UploadingRecordingSink implements RecordingSink {
  private readonly inFlight = new Map<string, PendingDelivery>();
  private readonly stopping = new AbortController();

  constructor(
    private readonly options: {
      storage: ObjectStorage;
      queue: JobQueue;
      bucket: string;
      logger: Logger;
      metrics: OriginMetrics;
      retry?: { initialMs: number; maxMs: number };
    },
  ) {}

  async deliver(recording: FinishedRecording): Promise<void> {
    const { storage, queue, bucket, logger, metrics } = this.options;
    const key = recordingKey(recording);
    const state: PendingDelivery = { stream: recording.stream, file: recording.file, attempts: 0, lastError: undefined, uploaded: false };
    this.inFlight.set(recording.file, state);
    metrics.recordingsPending.set(this.inFlight.size);
    const backoff = new Backoff(this.options.retry ?? { initialMs: 1000, maxMs: 60_000 });
    try {
      while (!this.stopping.signal.aborted) {
        state.attempts += 1;
        try {
          if (!state.uploaded) {
            await storage.putFile(bucket, key, recording.file, {
              contentType: "video/mp4",
              metadata: recordingToMetadata(recording),
              signal: this.stopping.signal,
            });
            state.uploaded = true;
          }
          await queue.send(formatRecordingJob({ bucket, key, recording }));
          await rm(recording.file, { force: true });
          logger.info("recording handed to the VOD pipeline", { stream: recording.stream, bucket, key, attempts: state.attempts });
          return;
        } catch (err) {
          state.lastError = (err as Error).message;
          metrics.recordingUploadFailures.inc({ step: state.uploaded ? "enqueue" : "upload" });
          const delayMs = backoff.next();
          logger.warn("recording hand-off failed; file kept, retrying", {
            stream: recording.stream,
            file: recording.file,
            step: state.uploaded ? "enqueue" : "upload",
            attempt: state.attempts,
            retryInMs: delayMs,
            error: err,
          });
          await sleep(delayMs, this.stopping.signal);
        }
      }
      throw new Error(`origin stopping: recording ${recording.file} kept for the next start`);
    } finally {
      this.inFlight.delete(recording.file);
      metrics.recordingsPending.set(this.inFlight.size);
    }
  }

  pending(): PendingDelivery[] {
    return [...this.inFlight.values()].map((p) => ({ ...p }));
  }

  /** Stops retrying; undelivered files stay on disk for the next start. */
  close(): void {
    this.stopping.abort();
  }
}
