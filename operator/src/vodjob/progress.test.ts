import { describe, expect, test } from "@jest/globals";
import { httpWorkerProgress, parseWorkerProgress } from "./progress.js";

describe("worker progress from its /metrics", () => {
  test("the progress gauge becomes a whole percent, rounded down so only a finished transcode is 100", () => {
    const text = [
      "# HELP live360_vod_job_progress_ratio Transcode progress of each running job, 0..1 of the recording's duration",
      "# TYPE live360_vod_job_progress_ratio gauge",
      'live360_vod_job_progress_ratio{asset="vod/cam1/20260624T180000Z/"} 0.999',
      "live360_vod_jobs_running 1",
    ].join("\n");
    expect(parseWorkerProgress(text)).toBe(99);
    expect(parseWorkerProgress('live360_vod_job_progress_ratio{asset="a"} 1')).toBe(100);
    expect(parseWorkerProgress("live360_vod_jobs_running 1")).toBeUndefined();
  });

  test("a pod without an IP, or one that does not answer, has no progress (and no error)", async () => {
    const read = httpWorkerProgress(1);
    expect(await read({ status: {} })).toBeUndefined();
    expect(await read({ status: { podIP: "127.0.0.1" } })).toBeUndefined();
  });
});
