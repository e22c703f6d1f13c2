/**
 * `live360 vod-worker --job`, as the operator's Kubernetes Job runs it: a real process against a
 * real S3-compatible server (versitygw) and real FFmpeg, its exit code read by the Job's failure
 * policy and its result file by the operator (the pod's termination message).
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "@jest/globals";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { S3Storage, parseJobResult, recordingToMetadata } from "@live360/core";
import { inspectVodAsset, makeTestClip, startS3Server, tempDir, type S3Server } from "@live360/testkit";
import { JOB_EXIT } from "./commands/vod-worker.js";
import { killRunningClis, runCli } from "./test-cli.js";

afterEach(killRunningClis);

describe("live360 vod-worker --job", () => {
  let s3: S3Server;
  let storage: S3Storage;
  let dir: string;

  beforeAll(async () => {
    s3 = await startS3Server({ buckets: ["ingest", "egress"] });
    storage = new S3Storage({ endpoint: s3.endpoint, region: s3.region, credentials: s3.credentials });
    dir = await tempDir("vod-job");
  }, 120_000);

  afterAll(async () => {
    await s3?.stop();
  }, 60_000);

  function runJob(source: string, resultFile: string) {
    return runCli(
      ["vod-worker", "--job", source, "--egress-bucket", "egress", "--s3-endpoint", s3.endpoint, "--region", s3.region,
        "--ladder", "source,320x160:300k", "--work-dir", path.join(dir, "work"), "--result-file", resultFile],
      { env: { ...process.env, AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey } },
    );
  }

  test("transcodes one recording, exits 0 and writes the asset's master playlist URL to the result file", async () => {
    const clip = await makeTestClip(dir, { seconds: 4, container: "mp4" });
    const recording = { stream: "jobmode", startedAt: new Date("2026-06-24T18:00:00Z"), durationSeconds: 4, projection: "equirectangular" as const };
    await storage.putFile("ingest", "recordings/jobmode/20260624T180000Z.mp4", clip, { contentType: "video/mp4", metadata: recordingToMetadata(recording) });
    const resultFile = path.join(dir, "completed.json");
    const job = runJob("s3://ingest/recordings/jobmode/20260624T180000Z.mp4", resultFile);
    const { code } = await job.exited;
    expect({ code, output: code === 0 ? "" : job.output() }).toEqual({ code: JOB_EXIT.completed, output: "" });
    const result = parseJobResult(await readFile(resultFile, "utf8"));
    expect(result).toEqual({ outcome: "completed", masterPlaylist: "s3://egress/vod/jobmode/20260624T180000Z/master.m3u8" });
    const asset = await inspectVodAsset(storage, "egress", "vod/jobmode/20260624T180000Z/");
    expect(asset.variants.map((v) => v.ended)).toEqual([true, true]);

    // A second run of the same job (a retried pod) finds the asset complete and reports the same URL.
    const again = runJob("s3://ingest/recordings/jobmode/20260624T180000Z.mp4", resultFile);
    expect((await again.exited).code).toBe(JOB_EXIT.completed);
    expect(parseJobResult(await readFile(resultFile, "utf8"))).toEqual({ outcome: "already-done", masterPlaylist: "s3://egress/vod/jobmode/20260624T180000Z/master.m3u8" });
  }, 180_000);

  test("a source that is not a video exits 3 (never retried) with the reason in the result file", async () => {
    const recording = { stream: "junk", startedAt: new Date("2026-06-24T19:00:00Z"), durationSeconds: 4, projection: "equirectangular" as const };
    await storage.putBody("ingest", "recordings/junk/20260624T190000Z.mp4", "not a video at all", { metadata: recordingToMetadata(recording) });
    const resultFile = path.join(dir, "refused.json");
    const { code } = await runJob("s3://ingest/recordings/junk/20260624T190000Z.mp4", resultFile).exited;
    expect(code).toBe(JOB_EXIT.rejected);
    expect(parseJobResult(await readFile(resultFile, "utf8"))).toEqual({ outcome: "refused", error: expect.stringContaining("not-a-video") });
  }, 120_000);
});
