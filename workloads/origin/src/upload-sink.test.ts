/**
 * Recording hand-off against real S3- and SQS-compatible servers (versitygw, ElasticMQ): the
 * upload completes before the job is sent, the local file goes only after both, and an S3
 * outage is retried without losing anything.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { readdir } from "node:fs/promises";
import path from "node:path";
import { S3Storage, SqsQueue, createLogger, parseJobMessage, parseLadder } from "@live360/core";
import {
  freePort,
  getText,
  makeTestClip,
  publishFile,
  recordAwsCalls,
  startS3Server,
  startSqsServer,
  startTcpSwitch,
  tempDir,
  unlistedPermissions,
  waitFor,
  type S3Server,
  type SqsServer,
  type TcpSwitch,
} from "@live360/testkit";
import { resolveOriginConfig } from "./config.js";
import { createOriginMetrics } from "./metrics.js";
import { startOrigin, type Origin } from "./origin.js";
import { UploadingRecordingSink } from "./upload-sink.js";

const BUCKET = "ingest";
const logger = createLogger("origin", { level: process.env.LIVE360_LOG_LEVEL === "debug" ? "debug" : "error" });

describe("recording hand-off to S3 + SQS", () => {
  let s3: S3Server;
  let sqs: SqsServer;
  let s3Switch: TcpSwitch;
  let dir: string;
  let clip: string;
  let origin: Origin;
  let http: string;
  let rtmp: string;
  let queue: SqsQueue;
  let storage: S3Storage;
  let awsCalls: ReturnType<typeof recordAwsCalls>;

  beforeAll(async () => {
    [s3, sqs] = await Promise.all([startS3Server({ buckets: [BUCKET] }), startSqsServer({ queues: [{ name: "vod" }] })]);
    const s3Url = new URL(s3.endpoint);
    s3Switch = await startTcpSwitch({ host: s3Url.hostname, port: Number(s3Url.port) });
    dir = await tempDir("upload");
    clip = await makeTestClip(dir, { seconds: 3 });
    storage = new S3Storage({ endpoint: s3Switch.url, region: s3.region, credentials: s3.credentials });
    queue = new SqsQueue({ queueUrl: sqs.queueUrls.vod!, endpoint: sqs.endpoint, region: sqs.region, credentials: sqs.credentials });
    const [rtmpPort, httpPort] = [await freePort(), await freePort()];
    const config = resolveOriginConfig({
      rtmpPort,
      httpPort,
      bindAddress: "127.0.0.1",
      dataDir: path.join(dir, "data"),
      ladder: parseLadder("ladder", "source"),
      reconnectGraceSeconds: 1,
    });
    const metrics = createOriginMetrics();
    // The origin's calls are told apart from the test's own by its clients' caller label.
    const sink = new UploadingRecordingSink({ storage: storage.forCaller("origin"), queue: queue.forCaller("origin"), bucket: BUCKET, logger, metrics, retry: { initialMs: 200, maxMs: 1000 } });
    awsCalls = recordAwsCalls("origin");
    origin = await startOrigin(config, { logger, recordingSink: sink, metrics });
    http = `http://127.0.0.1:${httpPort}`;
    rtmp = `rtmp://127.0.0.1:${rtmpPort}/live`;
  }, 120_000);

  afterAll(async () => {
    awsCalls?.stop();
    await origin?.close();
    await s3Switch?.close();
    await Promise.all([s3?.stop(), sqs?.stop()]);
  }, 60_000);

  test("uploads the MP4 with its metadata, then sends the job, then deletes the local file", async () => {
    const publisher = await publishFile(clip, `${rtmp}/event`);
    expect(await publisher.exited).toBe(0);
    const [message] = await waitFor("job message", async () => {
      const got = await queue.receive({ waitTimeSeconds: 1 });
      return got.length ? got : undefined;
    });
    const parsed = parseJobMessage(message!.body);
    expect(parsed.kind).toBe("job");
    if (parsed.kind !== "job") return;
    expect(parsed.job).toMatchObject({ bucket: BUCKET, source: "live360", recording: { stream: "event", projection: "equirectangular" } });
    expect(parsed.job.key).toMatch(/^recordings\/event\/\d{8}T\d{6}Z\.mp4$/);
    expect(parsed.job.recording!.durationSeconds).toBeGreaterThan(2.5);
    const info = await storage.head(BUCKET, parsed.job.key);
    expect(info.size).toBeGreaterThan(50_000);
    expect(info.metadata).toMatchObject({ stream: "event", projection: "equirectangular" });
    expect(info.contentType).toBe("video/mp4");
    // The file is removed right after the job is sent, so the test may see the message first.
    await waitFor("local recording removed after the job was sent", async () => {
      const local = await readdir(path.join(dir, "data", "recordings", ".incoming"));
      return local.some((f) => f.endsWith(".mp4") || f.endsWith(".flv")) ? undefined : true;
    });
    await queue.delete(message!.receiptHandle);
  }, 60_000);

  test("S3 down: the hand-off is retried, visible in /stat and metrics, the file kept, and delivered once S3 is back", async () => {
    s3Switch.setUp(false);
    const publisher = await publishFile(clip, `${rtmp}/outage`);
    expect(await publisher.exited).toBe(0);
    const pending = await waitFor("a failed attempt in /stat", async () => {
      const stat = JSON.parse((await getText(`${http}/stat`)).body) as { recordingsPending: Array<{ stream: string; attempts: number; lastError?: string }> };
      return stat.recordingsPending.find((p) => p.stream === "outage" && p.attempts >= 2);
    }, { timeoutMs: 30_000 });
    expect(pending.lastError).toBeTruthy();
    const metrics = (await getText(`${http}/metrics`)).body;
    expect(metrics).toMatch(/live360_origin_recording_handoff_failures_total\{step="upload"\} [1-9]/);
    expect(metrics).toMatch(/live360_origin_recordings_pending 1/);
    const kept = (await readdir(path.join(dir, "data", "recordings", ".incoming"))).filter((f) => f.startsWith("outage-") && f.endsWith(".mp4"));
    expect(kept).toHaveLength(1);
    expect(await queue.receive({ waitTimeSeconds: 1 })).toEqual([]);

    s3Switch.setUp(true);
    const [message] = await waitFor("job message after recovery", async () => {
      const got = await queue.receive({ waitTimeSeconds: 1 });
      return got.length ? got : undefined;
    }, { timeoutMs: 30_000 });
    const parsed = parseJobMessage(message!.body);
    expect(parsed.kind === "job" && parsed.job.recording?.stream).toBe("outage");
    if (parsed.kind === "job") expect((await storage.head(BUCKET, parsed.job.key)).size).toBeGreaterThan(50_000);
    await waitFor("local file removed", async () =>
      (await readdir(path.join(dir, "data", "recordings", ".incoming"))).every((f) => !f.startsWith("outage-")),
    );
  }, 90_000);

  test("every S3 and SQS call the origin made above is a permission eks-infra grants its role (eks-infra/workload-calls.json)", async () => {
    expect(awsCalls.calls.length).toBeGreaterThan(0);
    expect(await unlistedPermissions("origin", awsCalls.calls, { [BUCKET]: "ingest" })).toEqual([]);
  });
});
