import { afterEach, beforeEach, describe, expect, jest, test } from "@jest/globals";
import { createLogger } from "@live360/core";
import { LeaderElector, type LeaseRecord, type LeaseStore } from "./leader-election.js";

/**
 * The election rules on an in-memory Lease with the API server's optimistic concurrency (a write
 * with a stale resourceVersion fails), under fake timers so lease expiry is exact, not raced.
 * Two operator processes against the real API server are tested with the reconciler.
 */
class MemoryLeaseStore implements LeaseStore {
  lease: { record: LeaseRecord; version: string } | undefined;
  private counter = 0;
  failing = false;

  async get() {
    if (this.failing) throw new Error("API server unreachable");
    return this.lease && { record: { ...this.lease.record }, version: this.lease.version };
  }
  async create(record: LeaseRecord) {
    if (this.failing) throw new Error("API server unreachable");
    if (this.lease) throw Object.assign(new Error("AlreadyExists"), { code: 409 });
    return this.write(record);
  }
  async update(record: LeaseRecord, version: string) {
    if (this.failing) throw new Error("API server unreachable");
    if (this.lease?.version !== version) throw Object.assign(new Error("Conflict"), { code: 409 });
    return this.write(record);
  }
  private write(record: LeaseRecord): string {
    this.counter += 1;
    this.lease = { record: { ...record }, version: String(this.counter) };
    return this.lease.version;
  }
}

const TIMING = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };
const quiet = createLogger("test", { sink: () => {} });

function candidate(identity: string, store: LeaseStore) {
  const events: string[] = [];
  let stoppedAt: number | undefined;
  const stop = new AbortController();
  let leadership: AbortSignal | undefined;
  const elector = new LeaderElector({
    identity,
    store,
    logger: quiet,
    ...TIMING,
    onStartedLeading: (signal) => {
      leadership = signal;
      events.push("started");
    },
    onStoppedLeading: () => {
      stoppedAt = Date.now();
      events.push("stopped");
    },
  });
  const done = elector.run(stop.signal);
  return { elector, events, stop, done, leadership: () => leadership, stoppedAt: () => stoppedAt };
}

describe("LeaderElector", () => {
  beforeEach(() => {
    jest.useFakeTimers();
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  test("of two candidates exactly one leads, and keeps leading while it renews", async () => {
    const store = new MemoryLeaseStore();
    const a = candidate("a", store);
    const b = candidate("b", store);
    await jest.advanceTimersByTimeAsync(60_000);
    expect(a.elector.isLeader).toBe(true);
    expect(b.elector.isLeader).toBe(false);
    expect(store.lease?.record.holderIdentity).toBe("a");
    expect(store.lease?.record.leaseTransitions).toBe(0);
    expect(b.events).toEqual([]);
    a.stop.abort();
    b.stop.abort();
    await jest.advanceTimersByTimeAsync(5_000);
    await Promise.all([a.done, b.done]);
  });

  test("when the leader dies without releasing, the follower takes over only after the lease duration", async () => {
    const store = new MemoryLeaseStore();
    // The dead leader's last renewal, seen by the follower when it starts.
    store.lease = {
      record: { holderIdentity: "dead", leaseDurationSeconds: 15, acquireTime: new Date(), renewTime: new Date(), leaseTransitions: 3 },
      version: "100",
    };
    const b = candidate("b", store);
    await jest.advanceTimersByTimeAsync(14_000);
    expect(b.elector.isLeader).toBe(false);
    await jest.advanceTimersByTimeAsync(4_000);
    expect(b.elector.isLeader).toBe(true);
    expect(store.lease?.record.holderIdentity).toBe("b");
    expect(store.lease?.record.leaseTransitions).toBe(4);
    b.stop.abort();
    await jest.advanceTimersByTimeAsync(5_000);
    await b.done;
  });

  test("a leader that shuts down releases the lease, and the follower takes over at its next attempt", async () => {
    const store = new MemoryLeaseStore();
    const a = candidate("a", store);
    await jest.advanceTimersByTimeAsync(1);
    const b = candidate("b", store);
    await jest.advanceTimersByTimeAsync(10_000);
    expect(a.elector.isLeader).toBe(true);

    a.stop.abort();
    await jest.advanceTimersByTimeAsync(1);
    await a.done;
    expect(a.events).toEqual(["started", "stopped"]);
    expect(a.leadership()?.aborted).toBe(true);
    expect(store.lease?.record.holderIdentity).toBe("");

    await jest.advanceTimersByTimeAsync(TIMING.retryPeriodMs);
    expect(b.elector.isLeader).toBe(true);
    b.stop.abort();
    await jest.advanceTimersByTimeAsync(5_000);
    await b.done;
  });

  test("a leader that cannot renew steps down before its lease could expire for others", async () => {
    const store = new MemoryLeaseStore();
    const a = candidate("a", store);
    await jest.advanceTimersByTimeAsync(1);
    expect(a.elector.isLeader).toBe(true);

    store.failing = true;
    const cutOffAt = Date.now();
    await jest.advanceTimersByTimeAsync(TIMING.renewDeadlineMs - TIMING.retryPeriodMs);
    expect(a.elector.isLeader).toBe(true);
    await jest.advanceTimersByTimeAsync(TIMING.retryPeriodMs * 2);
    await a.done;
    expect(a.events).toEqual(["started", "stopped"]);
    expect(a.leadership()?.aborted).toBe(true);
    // It stopped acting before anyone else could take the lease over.
    expect((a.stoppedAt() ?? Infinity) - cutOffAt).toBeLessThan(TIMING.leaseDurationMs);
  });

  test("refuses timings where a leader could still act after its lease expired", () => {
    expect(
      () =>
        new LeaderElector({
          identity: "a",
          store: new MemoryLeaseStore(),
          logger: quiet,
          leaseDurationMs: 10_000,
          renewDeadlineMs: 10_000,
          retryPeriodMs: 2_000,
          onStartedLeading: () => {},
          onStoppedLeading: () => {},
        }),
    ).toThrow(/renewDeadline < leaseDuration/);
  });
});
