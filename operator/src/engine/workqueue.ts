/**
 * A de-duplicating work queue of object keys with client-go's semantics, which is what makes a
 * controller level-triggered and safe with several workers:
 * - a key is queued at most once however many events arrive for it (they all mean "look again");
 * - a key being processed is never handed to a second worker; re-adding it meanwhile marks it
 *   dirty, and it is queued again when the worker calls done();
 * - failures are retried per key with capped exponential backoff, and one key's failures never
 *   slow down another key.
 */

export interface BackoffPolicy {
  /** Delay after the first failure. */
  baseDelayMs: number;
  /** The delay doubles per consecutive failure of the same key, up to this cap. */
  maxDelayMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseDelayMs: 500, maxDelayMs: 5 * 60_000 };

/** The delay before retrying a key that has failed `failures` times in a row (1 = first failure). */
export function backoffDelay(policy: BackoffPolicy, failures: number): number {
  const exponent = Math.max(0, failures - 1);
  // 2^exponent overflows to Infinity for huge counts; the cap still applies.
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** exponent);
}

export class WorkQueue {
  private readonly queue: string[] = [];
  /** Keys that need processing: queued, or re-added while being processed. */
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly delayed = new Map<string, { timer: NodeJS.Timeout; due: number }>();
  private readonly waiters: ((key: string | undefined) => void)[] = [];
  private shuttingDown = false;

  constructor(private readonly backoff: BackoffPolicy = DEFAULT_BACKOFF) {}

  /** Queues `key` unless it is already waiting; a key being processed is queued again after done(). */
  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    this.push(key);
  }

  /**
   * Adds `key` after `delayMs`. A key already waiting for a delayed add keeps the earlier of the
   * two times, so a storm of requeues never postpones work.
   */
  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) return this.add(key);
    const due = Date.now() + delayMs;
    const pending = this.delayed.get(key);
    if (pending && pending.due <= due) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, delayMs);
    // A pending retry must not keep a stopping process alive.
    timer.unref();
    this.delayed.set(key, { timer, due });
  }

  /** Retries `key` after its next backoff delay and counts the failure. Returns the delay. */
  addRateLimited(key: string): number {
    const failures = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, failures);
    const delay = backoffDelay(this.backoff, failures);
    this.addAfter(key, delay);
    return delay;
  }

  /** The key succeeded: its next failure starts again at the base delay. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  failuresOf(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** The next key to process, waiting for one; undefined once the queue is shut down. */
  get(): Promise<string | undefined> {
    const key = this.queue.shift();
    if (key !== undefined) return Promise.resolve(this.take(key));
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** The worker finished `key` (whatever the outcome); a re-add that arrived meanwhile is queued now. */
  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key) && !this.shuttingDown) this.push(key);
  }

  /** Keys waiting to be processed (the queue-depth metric). */
  get length(): number {
    return this.queue.length;
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** Stops handing out keys: waiting get() calls resolve undefined, delayed adds are dropped. */
  shutDown(): void {
    this.shuttingDown = true;
    for (const { timer } of this.delayed.values()) clearTimeout(timer);
    this.delayed.clear();
    this.queue.length = 0;
    for (const waiter of this.waiters.splice(0)) waiter(undefined);
  }

  private push(key: string): void {
    const waiter = this.waiters.shift();
    if (waiter) waiter(this.take(key));
    else this.queue.push(key);
  }

  private take(key: string): string {
    this.dirty.delete(key);
    this.processing.add(key);
    return key;
  }
}
