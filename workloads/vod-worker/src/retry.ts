import {
  Backoff,
  BucketNotFoundError,
  ObjectNotFoundError,
  QueueError,
  ReceiptHandleInvalidError,
  StorageError,
  sleep,
  type BackoffOptions,
  type Logger,
} from "@live360/core";

/** The calls a job retries itself once the SDK's own attempts are spent (labels of live360_vod_call_retries_total). */
export const RETRIED_CALLS = ["upload", "delete"] as const;
export type RetriedCall = (typeof RETRIED_CALLS)[number];

export interface RetryOptions {
  /** Ends the retries (the job is interrupted); the last error is thrown. */
  signal: AbortSignal;
  logger: Logger;
  /** Called before each retry, e.g. to count it. */
  onRetry?(call: RetriedCall): void;
  /** How long after a call's first failure it is still retried. */
  windowMs?: number;
  backoff?: BackoffOptions;
}

/**
 * How long a finished job keeps retrying an upload or its message's delete before it gives up
 * and is released for a retry. Its work is done and kept only on this node, so an S3 or SQS
 * outage is waited out rather than paid for with a second transcode; the heartbeat keeps the
 * message hidden meanwhile. Bounded, so an endpoint that never comes back still ends the job
 * (retried, then dead-lettered) instead of holding the worker forever.
 */
export const RETRY_WINDOW_MS = 10 * 60_000;
/** As the poll loop's: 1 s, doubling, then at most one call per 30 s. */
const RETRY_BACKOFF: BackoffOptions = { initialMs: 1000, maxMs: 30_000 };

/**
 * Whether S3 or SQS may answer differently next time: no answer at all (a timeout, a refused or
 * reset connection), a 5xx, a 408 or a throttle. Other 4xx answers (access denied, a bad
 * request), a missing object or bucket and a stale receipt handle will be the same again.
 */
export function isTransient(error: unknown): boolean {
  if (error instanceof ObjectNotFoundError || error instanceof BucketNotFoundError || error instanceof ReceiptHandleInvalidError) return false;
  if (!(error instanceof StorageError || error instanceof QueueError)) return false;
  const cause = error.cause as { name?: unknown; $metadata?: { httpStatusCode?: number } } | undefined;
  const status = cause?.$metadata?.httpStatusCode;
  if (typeof cause?.name === "string" && /throttl|slowdown|toomanyrequests/i.test(cause.name)) return true;
  return status === undefined || status >= 500 || status === 408 || status === 429;
}

/**
 * Runs `call`, and while it fails with a transient error retries it with backoff, for up to the
 * window after its first failure. Anything else, the window's end or the signal ends it with the
 * last error.
 */
export async function retryTransient<T>(call: RetriedCall, what: string, run: () => Promise<T>, options: RetryOptions): Promise<T> {
  const backoff = new Backoff(options.backoff ?? RETRY_BACKOFF);
  const windowMs = options.windowMs ?? RETRY_WINDOW_MS;
  let firstFailure: number | undefined;
  while (true) {
    try {
      return await run();
    } catch (error) {
      firstFailure ??= Date.now();
      const delayMs = backoff.next();
      if (options.signal.aborted || !isTransient(error) || Date.now() + delayMs - firstFailure > windowMs) throw error;
      options.logger.warn(`${call} failed; retrying`, { what, attempt: backoff.attempts, retryInMs: delayMs, error });
      options.onRetry?.(call);
      await sleep(delayMs, options.signal);
      if (options.signal.aborted) throw error;
    }
  }
}
