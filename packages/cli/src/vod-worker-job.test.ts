/**
 * `live360 vod-worker --job`, as the operator's Kubernetes Job runs it: a real process against a
 * real S3-compatible server (versitygw) and real FFmpeg, its exit code read by the Job's failure
 * policy and its result file by the operator (the pod's termination message).
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "@jest/globals";
import { readFile, writeFile } from "node:fs/promises";
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { S3Storage, parseJobResult, recordingToMetadata } from "@live360/core";
import { httpWorkerProgress } from "@live360/operator";
import { freePort, inspectVodAsset, makeTestClip, startS3Server, tempDir, waitFor, type S3Server } from "@live360/testkit";
import { JOB_EXIT } from "./commands/vod-worker.js";
import { killRunningClis, runCli } from "./test-cli.js";

afterEach(killRunningClis);

/**
 * A pass-through proxy to an S3 server that holds every upload request (PUT, POST) until opened.
 * Headers go through untouched, Host included, so the client's signatures stay valid.
 */
async function startUploadGate(target: string): Promise<{ endpoint: string; open(): void; close(): Promise<void> }> {
  const upstream = new URL(target);
  let opened = false;
  const waiting: (() => void)[] = [];
  const server = createServer((req, res) => {
    const forward = (): void => {
      const upstreamRequest = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstreamRequest.on("error", () => res.destroy());
      req.pipe(upstreamRequest);
    };
    if (opened || (req.method !== "PUT" && req.method !== "POST")) forward();
    else waiting.push(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    open() {
      opened = true;
      for (const forward of waiting.splice(0)) forward();
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

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

  function runJob(source: string, resultFile: string, options: { s3Endpoint?: string; extra?: string[] } = {}) {
    return runCli(
      ["vod-worker", "--job", source, "--egress-bucket", "egress", "--s3-endpoint", options.s3Endpoint ?? s3.endpoint, "--region", s3.region,
        "--ladder", "source,320x160:300k", "--work-dir", path.join(dir, "work"), "--result-file", resultFile, ...(options.extra ?? [])],
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

  test("--hls-encryption-secret-file: the asset's segments are AES-128 under keys from the secret in the file; a short secret is refused naming the flag", async () => {
    const clip = await makeTestClip(dir, { seconds: 4, container: "mp4" });
    const recording = { stream: "sealed", startedAt: new Date("2026-06-24T19:00:00Z"), durationSeconds: 4, projection: "equirectangular" as const };
    await storage.putFile("ingest", "recordings/sealed/20260624T190000Z.mp4", clip, { contentType: "video/mp4", metadata: recordingToMetadata(recording) });
    const secret = "cli-vod-encryption-secret-0123456789abcdef";
    const secretFile = path.join(dir, "hls-secret");
    await writeFile(secretFile, `${secret}\n`, { mode: 0o600 });
    const job = runJob("s3://ingest/recordings/sealed/20260624T190000Z.mp4", path.join(dir, "sealed.json"), { extra: ["--hls-encryption-secret-file", secretFile, "--hls-key-rotation", "5"] });
    const { code } = await job.exited;
    expect({ code, output: code === 0 ? "" : job.output() }).toEqual({ code: JOB_EXIT.completed, output: "" });
    const asset = await inspectVodAsset(storage, "egress", "vod/sealed/20260624T190000Z/", { secret });
    expect(asset.manifest.encryption).toEqual({ method: "AES-128", rotationSegments: 5, keys: "keys/<period>.key" });
    expect(asset.variants.every((v) => v.keyPeriods.length > 0 && v.keyPeriods.every((p) => p === 0))).toBe(true);

    await writeFile(secretFile, "too-short\n");
    const refused = runJob("s3://ingest/recordings/sealed/20260624T190000Z.mp4", path.join(dir, "refused.json"), { extra: ["--hls-encryption-secret-file", secretFile] });
    expect((await refused.exited).code).not.toBe(0);
    expect(refused.output()).toMatch(/hlsEncryption\.secret \(--hls-encryption-secret-file\).*at least 32 random characters/s);
  }, 180_000);

  test("with --http-port the running job's progress is on /metrics, where the operator reads it for VodJob.status", async () => {
    const clip = await makeTestClip(dir, { seconds: 4, container: "mp4" });
    const recording = { stream: "progress", startedAt: new Date("2026-06-24T20:00:00Z"), durationSeconds: 4, projection: "equirectangular" as const };
    await storage.putFile("ingest", "recordings/progress/20260624T200000Z.mp4", clip, { contentType: "video/mp4", metadata: recordingToMetadata(recording) });
    // Uploads wait at this proxy, so the job stays alive at the end of its transcode until released.
    const uploads = await startUploadGate(s3.endpoint);
    try {
      const port = await freePort();
      const job = runJob("s3://ingest/recordings/progress/20260624T200000Z.mp4", path.join(dir, "progress.json"), {
        s3Endpoint: uploads.endpoint,
        extra: ["--http-port", String(port), "--bind", "127.0.0.1"],
      });
      const read = httpWorkerProgress(port);
      await waitFor("the transcode to report 100 %", async () => (await read({ status: { podIP: "127.0.0.1" } })) === 100, { timeoutMs: 120_000 });
      uploads.open();
      expect((await job.exited).code).toBe(JOB_EXIT.completed);
    } finally {
      await uploads.close();
    }
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
