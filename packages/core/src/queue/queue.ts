import { Live360Error } from "../errors.js";

/**
 * A work queue with SQS semantics, as the VOD pipeline relies on them: a received message is
 * hidden for a visibility timeout (extended by heartbeats while work goes on), comes back if the
 * consumer dies, counts its receives, and is moved to a dead-letter queue after too many. Two
 * implementations share this contract (and one test suite): SqsQueue and FileQueue.
 */
export interface JobQueue {
  /** A human-readable name for logs and metrics (the queue URL or directory). */
  readonly name: string;
  send(body: string, options?: SendOptions): Promise<{ id: string }>;
  /** Long-polls up to `waitTimeSeconds`, returning as soon as a message is available; [] on timeout or abort. */
  receive(options?: ReceiveOptions): Promise<QueueMessage[]>;
  /** Hides the message for `timeoutSeconds` from now (a heartbeat; 0 makes it visible at once). */
  changeVisibility(receiptHandle: string, timeoutSeconds: number): Promise<void>;
  /**
   * Gives a message back after a failed attempt: visible again after `retryAfterSeconds`. The
   * reason is kept where the queue can keep it (FileQueue shows it in the dead-letter queue;
   * SQS cannot store it, so callers also log it).
   */
  release(receiptHandle: string, options: { reason: string; retryAfterSeconds?: number }): Promise<void>;
  delete(receiptHandle: string): Promise<void>;
  /** Approximate, like SQS's ApproximateNumberOfMessages* attributes. */
  counts(): Promise<QueueCounts>;
  /** Where messages received too often go (SQS: the redrive policy's target); undefined when nowhere. */
  deadLetterQueue(): Promise<JobQueue | undefined>;
}

export interface SendOptions {
  delaySeconds?: number;
}

export interface ReceiveOptions {
  /** 1..10 (SQS's limit). Default 1. */
  maxMessages?: number;
  /** 0..20 (SQS's limit). Default 0: return at once. */
  waitTimeSeconds?: number;
  /** Overrides the queue's default visibility timeout for these messages. */
  visibilityTimeoutSeconds?: number;
  /** Aborting ends the long poll early with []. */
  signal?: AbortSignal;
}

export interface QueueMessage {
  id: string;
  /** Changes with every receive; only the latest one may heartbeat or delete. */
  receiptHandle: string;
  body: string;
  /** 1 on first delivery; compared with maxReceiveCount to dead-letter poison messages. */
  receiveCount: number;
  sentAt: Date;
  /** Set on messages read from a FileQueue dead-letter queue: why the message ended up there. */
  deadLetterReason?: string;
}

export interface QueueCounts {
  /** Waiting to be received. */
  visible: number;
  /** Received and hidden (being worked on, or released with a retry delay). */
  inFlight: number;
  /** Sent with a delay that has not passed yet. */
  delayed: number;
}

/** SQS's limits, enforced by both implementations so local mode cannot accept what SQS refuses. */
export const MAX_VISIBILITY_TIMEOUT_SECONDS = 43_200;
export const MAX_WAIT_TIME_SECONDS = 20;
export const MAX_RECEIVE_BATCH = 10;
export const MAX_DELAY_SECONDS = 900;

export class QueueError extends Live360Error {}

/** The receipt handle is not the message's latest receive: it was deleted, or received again elsewhere. */
export class ReceiptHandleInvalidError extends QueueError {
  constructor(
    readonly receiptHandle: string,
    reason: string,
    options?: ErrorOptions,
  ) {
    super(`receipt handle ${receiptHandle} is no longer valid: ${reason}`, options);
  }
}

/** An argument outside SQS's limits. */
export class QueueArgumentError extends QueueError {}

export function checkRange(what: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new QueueArgumentError(`${what} must be a whole number from ${min} to ${max}, got ${value}`);
  }
  return value;
}
