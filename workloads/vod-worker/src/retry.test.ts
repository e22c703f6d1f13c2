import { describe, expect, test } from "@jest/globals";
import { ObjectNotFoundError, QueueError, ReceiptHandleInvalidError, StorageError, createLogger } from "@live360/core";
import { isTransient, retryTransient, type RetriedCall, type RetryOptions } from "./retry.js";

const logger = createLogger("retry-test", { level: "error" });

/** An SDK error as S3Storage / SqsQueue wrap it: the HTTP status in `$metadata`, none when nothing answered. */
function sdkError(name: string, status?: number): Error {
  return Object.assign(new Error(name), { name, $metadata: status === undefined ? {} : { httpStatusCode: status } });
}
const storageError = (name: string, status?: number): StorageError => new StorageError(`upload failed: ${name}`, { cause: sdkError(name, status) });

function options(over: Partial<RetryOptions> = {}): RetryOptions & { retried: RetriedCall[] } {
  const retried: RetriedCall[] = [];
  return { signal: new AbortController().signal, logger, onRetry: (call) => retried.push(call), backoff: { initialMs: 5, maxMs: 20 }, retried, ...over };
}

/** A call failing with `errors` in turn, then answering "done". */
function failing(...errors: Error[]): { run: () => Promise<string>; calls: () => number } {
  let calls = 0;
  return {
    run: async () => {
      const error = errors[calls++];
      if (error) throw error;
      return "done";
    },
    calls: () => calls,
  };
}

describe("retries of a finished job's S3 and SQS calls", () => {
  test.each([
    ["a timeout (no answer)", true, storageError("TimeoutError")],
    ["a reset connection", true, new QueueError("delete failed", { cause: Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }) })],
    ["a 503", true, storageError("ServiceUnavailable", 503)],
    ["a 500", true, storageError("InternalError", 500)],
    ["a throttle answered with 400", true, new QueueError("delete failed", { cause: sdkError("ThrottlingException", 400) })],
    ["S3's SlowDown", true, storageError("SlowDown", 503)],
    ["access denied", false, storageError("AccessDenied", 403)],
    ["a bad request", false, new QueueError("delete failed", { cause: sdkError("InvalidParameterValue", 400) })],
    ["a missing object", false, new ObjectNotFoundError("egress", "vod/x")],
    ["a stale receipt handle", false, new ReceiptHandleInvalidError("handle", "MessageNotInflight")],
    ["a local error", false, Object.assign(new Error("ENOENT: no such file"), { code: "ENOENT" })],
  ])("%s: transient %s", (_what, transient, error) => {
    expect(isTransient(error)).toBe(transient);
  });

  test("a transient failure is retried with backoff until the call works; each retry is reported", async () => {
    const call = failing(storageError("TimeoutError"), storageError("ServiceUnavailable", 503));
    const opts = options();
    expect(await retryTransient("upload", "s3://egress/vod/x", call.run, opts)).toBe("done");
    expect(call.calls()).toBe(3);
    expect(opts.retried).toEqual(["upload", "upload"]);
  });

  test("a failure that will be the same next time is thrown at once", async () => {
    const denied = storageError("AccessDenied", 403);
    const call = failing(denied);
    const opts = options();
    await expect(retryTransient("upload", "s3://egress/vod/x", call.run, opts)).rejects.toBe(denied);
    expect(call.calls()).toBe(1);
    expect(opts.retried).toEqual([]);
  });

  test("an endpoint that never comes back: the retries end with the window, with the last error", async () => {
    const errors = Array.from({ length: 1000 }, (_, i) => new QueueError(`delete failed ${i}`, { cause: sdkError("TimeoutError") }));
    const call = failing(...errors);
    const started = Date.now();
    const error = await retryTransient("delete", "message", call.run, options({ windowMs: 100 })).catch((e: unknown) => e);
    expect(error).toBe(errors[call.calls() - 1]);
    expect(call.calls()).toBeGreaterThan(1);
    // Bounded by the window (plus a busy machine's slack), not by the thousand errors.
    expect(call.calls()).toBeLessThan(1000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(50);
  });

  test("an abort ends the retries at once (the job is interrupted)", async () => {
    const controller = new AbortController();
    const call = failing(storageError("TimeoutError"), storageError("TimeoutError"));
    const result = retryTransient("upload", "s3://egress/vod/x", call.run, options({ signal: controller.signal, backoff: { initialMs: 60_000, maxMs: 60_000 } }));
    setTimeout(() => controller.abort("shutdown"), 20);
    await expect(result).rejects.toBeInstanceOf(StorageError);
    expect(call.calls()).toBe(1);
  });
});
