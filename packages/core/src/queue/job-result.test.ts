import { describe, expect, test } from "@jest/globals";
import { MAX_JOB_RESULT_BYTES, formatJobResult, parseJobResult } from "./job-result.js";

describe("job result (the one-shot worker's termination message)", () => {
  test("round-trips both kinds of result", () => {
    const done = { outcome: "completed", masterPlaylist: "s3://egress/vod/a/20260101T000000Z/master.m3u8" } as const;
    const refused = { outcome: "refused", error: "job refused (not-a-video): s3://ingest/x has no video stream" } as const;
    expect(parseJobResult(formatJobResult(done))).toEqual(done);
    expect(parseJobResult(formatJobResult(refused))).toEqual(refused);
  });

  test("a long error is cut to fit the kubelet's 4096 bytes and stays parseable", () => {
    const text = formatJobResult({ outcome: "failed", error: `FFmpeg said: ${"é\"\n".repeat(5000)}` });
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(MAX_JOB_RESULT_BYTES);
    expect(parseJobResult(text)).toEqual({ outcome: "failed", error: expect.stringMatching(/^FFmpeg said: é"\n/) });
  });

  test("anything else (a crash's log tail, an unknown outcome) is no result", () => {
    expect(parseJobResult(undefined)).toBeUndefined();
    expect(parseJobResult("Error: boom\n    at main.js:1")).toBeUndefined();
    expect(parseJobResult('{"outcome":"exploded","error":"x"}')).toBeUndefined();
    expect(parseJobResult('{"outcome":"completed"}')).toBeUndefined();
  });
});
