import { isValidStreamName, STREAM_NAME_PATTERN } from "../config.js";
import { Live360Error } from "../errors.js";
import { isProjection, PROJECTIONS, type Projection } from "../projection.js";
import { InvalidObjectNameError, validateBucketName } from "../storage/storage.js";

/**
 * The messages a VOD worker accepts. Two wirings produce them:
 * - live360's own message, sent by the origin's recording sink after the upload completed:
 *     { "type": "live360.recording", "version": 1, "bucket", "key", "stream", "startedAt",
 *       "durationSeconds", "projection", "encrypted"? }
 * - an S3 event notification (`s3:ObjectCreated:*` delivered straight to SQS, as the AWS
 *   reference architecture wires it), which names only the object; the recording's details are
 *   then read from the object's metadata (recordingFromMetadata).
 * Anything else is an InvalidJobMessageError carrying the reason, so the worker can log and count
 * it and let the queue dead-letter the message instead of dropping it.
 */

export const RECORDING_JOB_TYPE = "live360.recording";
export const RECORDING_JOB_VERSION = 1;

export interface RecordingInfo {
  stream: string;
  startedAt: Date;
  durationSeconds: number;
  projection: Projection;
  /**
   * The origin served this stream AES-128 encrypted: its VOD asset must be encrypted too, and a
   * worker (or operator) without the secret refuses it rather than publish it clear. Absent: clear.
   */
  encrypted?: true;
}

export interface RecordingJob {
  bucket: string;
  key: string;
  /** Which wiring produced the message. */
  source: "live360" | "s3-event";
  /** Present in live360's own messages; for S3 events it is in the object's metadata. */
  recording?: RecordingInfo;
  /** The object's size, when an S3 event says it. */
  sizeBytes?: number;
}

export type JobMessage =
  | { kind: "job"; job: RecordingJob }
  /** S3 sends this once when a notification is configured; it names no object, so it is not a job. */
  | { kind: "s3-test-event" };

export class InvalidJobMessageError extends Live360Error {
  constructor(
    readonly reason: string,
    readonly body: string,
  ) {
    super(`not a valid job message: ${reason} (message: ${excerpt(body)})`);
  }
}

export function formatRecordingJob(job: { bucket: string; key: string; recording: RecordingInfo }): string {
  return JSON.stringify({
    type: RECORDING_JOB_TYPE,
    version: RECORDING_JOB_VERSION,
    bucket: job.bucket,
    key: job.key,
    stream: job.recording.stream,
    startedAt: job.recording.startedAt.toISOString(),
    durationSeconds: job.recording.durationSeconds,
    projection: job.recording.projection,
    ...(job.recording.encrypted ? { encrypted: true } : {}),
  });
}

export function parseJobMessage(body: string): JobMessage {
  const fail = (reason: string): never => {
    throw new InvalidJobMessageError(reason, body);
  };
  let message: unknown;
  try {
    message = JSON.parse(body);
  } catch (error) {
    return fail(`not JSON (${(error as Error).message})`);
  }
  if (!isRecord(message)) return fail("not a JSON object");
  if ("type" in message) return { kind: "job", job: parseOwnMessage(message, fail) };
  if ("Records" in message) return { kind: "job", job: parseS3Event(message, fail) };
  if (message.Event === "s3:TestEvent") return { kind: "s3-test-event" };
  return fail(`neither a live360 job (no "type") nor an S3 event notification (no "Records")`);
}

/** The object metadata the recording sink uploads with a recording (S3 `x-amz-meta-*`). */
export function recordingToMetadata(recording: RecordingInfo): Record<string, string> {
  return {
    stream: recording.stream,
    "started-at": recording.startedAt.toISOString(),
    "duration-seconds": String(recording.durationSeconds),
    projection: recording.projection,
    ...(recording.encrypted ? { encrypted: "true" } : {}),
  };
}

/** Reads what recordingToMetadata wrote; an object without it is not a live360 recording. */
export function recordingFromMetadata(metadata: Record<string, string>, description: string): RecordingInfo {
  const fail = (reason: string): never => {
    throw new InvalidJobMessageError(`object metadata: ${reason}`, description);
  };
  return checkRecording(
    {
      stream: metadata.stream,
      startedAt: metadata["started-at"],
      durationSeconds: metadata["duration-seconds"] === undefined ? undefined : Number(metadata["duration-seconds"]),
      projection: metadata.projection,
      // Metadata values are strings: "true" is what recordingToMetadata writes; anything else is shown as refused.
      encrypted: metadata.encrypted === "true" ? true : metadata.encrypted,
    },
    fail,
  );
}

type Fail = (reason: string) => never;

function parseOwnMessage(message: Record<string, unknown>, fail: Fail): RecordingJob {
  if (message.type !== RECORDING_JOB_TYPE) return fail(`unknown type ${JSON.stringify(message.type)}; expected "${RECORDING_JOB_TYPE}"`);
  if (message.version !== RECORDING_JOB_VERSION) {
    return fail(`unsupported version ${JSON.stringify(message.version)}; this worker understands version ${RECORDING_JOB_VERSION}`);
  }
  return {
    bucket: checkBucket(message.bucket, fail),
    key: checkKey(message.key, fail),
    source: "live360",
    recording: checkRecording(message, fail),
  };
}

function parseS3Event(message: Record<string, unknown>, fail: Fail): RecordingJob {
  const records = message.Records;
  if (!Array.isArray(records)) return fail(`"Records" is not an array`);
  // S3 puts one record in each notification; a message naming several objects could not be
  // acknowledged per object, so it is refused rather than half-processed.
  if (records.length !== 1) return fail(`an S3 event with ${records.length} records; expected exactly 1`);
  const record: unknown = records[0];
  if (!isRecord(record)) return fail("the S3 event record is not an object");
  const eventName = record.eventName;
  // AWS writes "ObjectCreated:Put"; some S3-compatible servers keep the "s3:" prefix.
  if (typeof eventName !== "string" || !/^(s3:)?ObjectCreated:/.test(eventName)) {
    return fail(`S3 event ${JSON.stringify(eventName)} is not an s3:ObjectCreated:* event`);
  }
  const s3 = isRecord(record.s3) ? record.s3 : {};
  const bucket = isRecord(s3.bucket) ? s3.bucket.name : undefined;
  const object = isRecord(s3.object) ? s3.object : {};
  if (typeof object.key !== "string") return fail("the S3 event has no s3.object.key");
  let key: string;
  try {
    // S3 URL-encodes keys in events, with '+' for a space (form encoding).
    key = decodeURIComponent(object.key.replace(/\+/g, " "));
  } catch {
    return fail(`the S3 event's object key ${JSON.stringify(object.key)} is not valid URL encoding`);
  }
  return {
    bucket: checkBucket(bucket, fail),
    key: checkKey(key, fail),
    source: "s3-event",
    ...(typeof object.size === "number" ? { sizeBytes: object.size } : {}),
  };
}

function checkRecording(fields: Record<string, unknown>, fail: Fail): RecordingInfo {
  const { stream, startedAt, durationSeconds, projection } = fields;
  if (typeof stream !== "string" || !isValidStreamName(stream)) return fail(`stream ${show(stream)} does not match ${STREAM_NAME_PATTERN}`);
  const started = typeof startedAt === "string" && ISO_TIME.test(startedAt) ? new Date(startedAt) : undefined;
  if (started === undefined || Number.isNaN(started.getTime())) return fail(`startedAt ${show(startedAt)} is not an ISO 8601 UTC time`);
  if (typeof durationSeconds !== "number" || !Number.isFinite(durationSeconds) || durationSeconds <= 0) {
    return fail(`durationSeconds ${show(durationSeconds)} is not a positive number`);
  }
  if (!isProjection(projection)) return fail(`projection ${show(projection)} is not one of ${PROJECTIONS.join(", ")}`);
  const { encrypted } = fields;
  if (encrypted !== undefined && encrypted !== true) return fail(`encrypted ${show(encrypted)} is not true (leave it out for a clear recording)`);
  return { stream, startedAt: started, durationSeconds, projection, ...(encrypted ? { encrypted } : {}) };
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** JSON.stringify would print NaN as null, which hides what was wrong. */
function show(value: unknown): string {
  return typeof value === "number" ? String(value) : JSON.stringify(value);
}

function checkBucket(bucket: unknown, fail: Fail): string {
  if (typeof bucket !== "string") return fail("no bucket name");
  try {
    validateBucketName(bucket);
  } catch (error) {
    if (error instanceof InvalidObjectNameError) return fail(`bucket ${JSON.stringify(bucket)}: ${error.reason}`);
    throw error;
  }
  return bucket;
}

function checkKey(key: unknown, fail: Fail): string {
  if (typeof key !== "string" || key === "") return fail("no object key");
  return key;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function excerpt(body: string): string {
  return body.length <= 200 ? JSON.stringify(body) : `${JSON.stringify(body.slice(0, 200))}... (${body.length} characters)`;
}
