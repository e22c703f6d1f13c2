import { describe, expect, test } from "@jest/globals";
import { MediaRecovery, PLAYLIST_ERROR_RETRY, RetryPolicy, classifyHlsError, shouldRetryPlaylist } from "./retry.js";

describe("classifyHlsError", () => {
  test("a playlist 404 or 410 means the stream is not (or no longer) live", () => {
    expect(classifyHlsError({ type: "networkError", details: "manifestLoadError", fatal: true, httpStatus: 404 })).toBe("not-found");
    expect(classifyHlsError({ type: "networkError", details: "levelLoadError", fatal: true, httpStatus: 410 })).toBe("not-found");
    expect(classifyHlsError({ type: "networkError", details: "levelEmptyError", fatal: true })).toBe("not-found");
  });

  test("no answer or a server error is a network problem", () => {
    expect(classifyHlsError({ type: "networkError", details: "manifestLoadError", fatal: true, httpStatus: 0 })).toBe("network");
    expect(classifyHlsError({ type: "networkError", details: "fragLoadError", fatal: true, httpStatus: 404 })).toBe("network");
    expect(classifyHlsError({ type: "networkError", details: "levelLoadError", fatal: true, httpStatus: 503 })).toBe("network");
  });

  test("401 or 403 for a playlist, a key or a segment is a refusal (an expired or bad signed link): final", () => {
    expect(classifyHlsError({ type: "networkError", details: "manifestLoadError", fatal: true, httpStatus: 403 })).toBe("refused");
    expect(classifyHlsError({ type: "networkError", details: "keyLoadError", fatal: true, httpStatus: 403 })).toBe("refused");
    expect(classifyHlsError({ type: "networkError", details: "fragLoadError", fatal: true, httpStatus: 401 })).toBe("refused");
  });

  test("something that is not a playlist, decode failures, and the rest", () => {
    expect(classifyHlsError({ type: "networkError", details: "manifestParsingError", fatal: true })).toBe("network");
    expect(classifyHlsError({ type: "otherError", details: "manifestParsingError", fatal: true })).toBe("bad-playlist");
    expect(classifyHlsError({ type: "mediaError", details: "bufferAppendError", fatal: true })).toBe("media");
    expect(classifyHlsError({ type: "muxError", details: "fragParsingError", fatal: true })).toBe("fatal");
  });

  test("non-fatal errors are left to hls.js", () => {
    expect(classifyHlsError({ type: "networkError", details: "fragLoadError", fatal: false })).toBeUndefined();
  });
});

describe("shouldRetryPlaylist", () => {
  const max = PLAYLIST_ERROR_RETRY.maxNumRetry;

  test("a 404, a dropped connection and a 5xx are asked for again, up to the limit", () => {
    for (const status of [404, 410, 0, undefined, 502, 503]) {
      expect(shouldRetryPlaylist(0, max, status)).toBe(true);
      expect(shouldRetryPlaylist(max - 1, max, status)).toBe(true);
      expect(shouldRetryPlaylist(max, max, status)).toBe(false);
    }
  });

  test("a refusal is final", () => {
    expect(shouldRetryPlaylist(0, max, 401)).toBe(false);
    expect(shouldRetryPlaylist(0, max, 403)).toBe(false);
  });

  test("the retries outlast a live player's buffer of three 1-s segments", () => {
    let total = 0;
    for (let count = 0; count < max; count += 1) total += Math.min(PLAYLIST_ERROR_RETRY.retryDelayMs * 2 ** count, PLAYLIST_ERROR_RETRY.maxRetryDelayMs);
    expect(total).toBeGreaterThan(3000);
  });
});

describe("RetryPolicy", () => {
  test("waits for a stream that is not live at a steady pace, forever", () => {
    const policy = new RetryPolicy(undefined, () => 0.5);
    const delays = Array.from({ length: 20 }, () => policy.next("not-found").delayMs);
    expect(new Set(delays)).toEqual(new Set([2000]));
  });

  test("backs off on network loss up to a cap, with jitter, and starts over after a success", () => {
    const noJitter = new RetryPolicy({ waitingIntervalMs: 2000, network: { initialMs: 1000, maxMs: 8000 }, jitter: 0 });
    expect(Array.from({ length: 6 }, () => noJitter.next("network").delayMs)).toEqual([1000, 2000, 4000, 8000, 8000, 8000]);
    noJitter.succeeded();
    expect(noJitter.next("network")).toEqual({ delayMs: 1000, attempt: 1 });

    const low = new RetryPolicy(undefined, () => 0).next("network").delayMs;
    const high = new RetryPolicy(undefined, () => 0.999).next("network").delayMs;
    expect(low).toBe(700);
    expect(high).toBeGreaterThan(990);
    expect(high).toBeLessThanOrEqual(1000);
  });
});

describe("MediaRecovery", () => {
  test("escalates recover → swap audio → reload, and forgets errors outside the window", () => {
    const recovery = new MediaRecovery(10_000);
    expect([recovery.next(0), recovery.next(1000), recovery.next(2000)]).toEqual(["recover", "swap-audio-and-recover", "reload"]);
    expect(recovery.next(3000)).toBe("recover");
    expect(recovery.next(60_000)).toBe("recover");
  });
});
