import { afterEach, describe, expect, jest, test } from "@jest/globals";
import { WorkQueue, backoffDelay } from "./workqueue.js";

/** get() with a verdict instead of a hang: undefined means "nothing was handed out". */
async function poll(queue: WorkQueue): Promise<string | undefined> {
  let handedOut: string | undefined;
  void queue.get().then((key) => (handedOut = key));
  await Promise.resolve();
  return handedOut;
}

describe("WorkQueue", () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  test("a key queued many times is handed out once, in first-added order", async () => {
    const queue = new WorkQueue();
    for (const key of ["ns/a", "ns/b", "ns/a", "ns/a", "ns/b", "ns/c"]) queue.add(key);
    expect(queue.length).toBe(3);
    expect([await queue.get(), await queue.get(), await queue.get()]).toEqual(["ns/a", "ns/b", "ns/c"]);
    expect(queue.length).toBe(0);
  });

  test("a key being processed is not handed to a second worker; a re-add is queued again on done()", async () => {
    const queue = new WorkQueue();
    queue.add("ns/a");
    const first = await queue.get();
    expect(first).toBe("ns/a");

    queue.add("ns/a");
    queue.add("ns/a");
    expect(queue.length).toBe(0);
    const second = queue.get();
    let secondKey: string | undefined;
    void second.then((key) => (secondKey = key));
    await Promise.resolve();
    expect(secondKey).toBeUndefined();

    queue.done("ns/a");
    expect(await second).toBe("ns/a");
    queue.done("ns/a");
    // Nothing was re-added during the second run, so nothing comes back.
    expect(await poll(queue)).toBeUndefined();
  });

  test("done() without a re-add does not queue the key again", async () => {
    const queue = new WorkQueue();
    queue.add("ns/a");
    queue.done((await queue.get()) as string);
    expect(queue.length).toBe(0);
  });

  test("each waiting worker gets a different key", async () => {
    const queue = new WorkQueue();
    const workers = [queue.get(), queue.get()];
    queue.add("ns/a");
    queue.add("ns/a");
    queue.add("ns/b");
    expect(await Promise.all(workers)).toEqual(["ns/a", "ns/b"]);
  });

  test("backoff doubles per consecutive failure and stops at the cap", () => {
    const policy = { baseDelayMs: 100, maxDelayMs: 1000 };
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(policy, n))).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(backoffDelay(policy, 5000)).toBe(1000);
  });

  test("failures are counted per key and forget() resets only that key", () => {
    const queue = new WorkQueue({ baseDelayMs: 100, maxDelayMs: 1000 });
    expect([queue.addRateLimited("ns/a"), queue.addRateLimited("ns/a"), queue.addRateLimited("ns/a")]).toEqual([100, 200, 400]);
    expect(queue.addRateLimited("ns/b")).toBe(100);
    queue.forget("ns/a");
    expect(queue.failuresOf("ns/a")).toBe(0);
    expect(queue.failuresOf("ns/b")).toBe(1);
    expect(queue.addRateLimited("ns/a")).toBe(100);
    queue.shutDown();
  });

  test("a rate-limited key comes back only after its delay", async () => {
    jest.useFakeTimers();
    const queue = new WorkQueue({ baseDelayMs: 100, maxDelayMs: 1000 });
    queue.addRateLimited("ns/a");
    queue.addRateLimited("ns/a");
    // The second failure's delay (200 ms) does not postpone the pending 100 ms retry.
    await jest.advanceTimersByTimeAsync(99);
    expect(queue.length).toBe(0);
    await jest.advanceTimersByTimeAsync(1);
    expect(queue.length).toBe(1);
    expect(await queue.get()).toBe("ns/a");
  });

  test("shutDown wakes waiting workers, drops pending retries and refuses new keys", async () => {
    jest.useFakeTimers();
    const queue = new WorkQueue({ baseDelayMs: 100, maxDelayMs: 1000 });
    const waiting = queue.get();
    queue.addAfter("ns/later", 50);
    queue.shutDown();
    expect(await waiting).toBeUndefined();
    queue.add("ns/a");
    await jest.advanceTimersByTimeAsync(1000);
    expect(queue.length).toBe(0);
    expect(await queue.get()).toBeUndefined();
  });
});
