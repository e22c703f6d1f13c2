/**
 * Recording hand-off against real S3- and SQS-compatible servers (versitygw, ElasticMQ): the
 * upload completes before the job is sent, the local file goes only after both, and an S3
 * outage, a hung S3 and a hung SQS are retried without losing anything — each a case of the
 * fault matrix (test/kit/src/fault-matrix.ts), beside a healthy live stream on the same origin.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { readdir } from "node:fs/promises";
import path from "node:path";
import { stat } from "node:fs/promises";
import { S3Storage, SqsQueue, createLogger, parseJobMessage, parseLadder, probe, type RecordingJob, type ServiceTimeouts } from "@live360/core";
import {
  loopbackOrigin,
  getText,
  makeTestClip,
  publishFile,
  recordAwsCalls,
  runFaultCase,
  startS3Server,
  startSqsServer,
  startTcpSwitch,
  tempDir,
  unlistedPermissions,
  waitFor,
  type FaultOutcome,
  type Publisher,
  type S3Server,
  type SqsServer,
  type TcpSwitch,
} from "@live360/testkit";
import { resolveOriginConfig } from "./config.js";
import { createOriginMetrics } from "./metrics.js";
import { startOrigin, type Origin, type OriginStat } from "./origin.js";
import { UploadingRecordingSink } from "./upload-sink.js";

const BUCKET = "ingest";
const ADMIN_TOKEN = "upload-sink-test-admin-token";
const asAdmin = { headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } };
/**
 * The origin's own S3 and SQS clients: a hung host ends each attempt after 3 s without a byte,
 * two attempts a call, so the sink's retries show within seconds while the host is still hung
 * (the CLI's defaults, 30 s idle and 3 attempts, are the same code: hung-services.test.ts).
 */
const ORIGIN_TIMEOUTS: ServiceTimeouts = { connectMs: 1000, idleMs: 3000, attempts: 2 };
interface PendingStat {
  stream: string;
  attempts: number;
  uploaded: boolean;
  lastError?: string;
}

const logger = createLogger("origin", { level: process.env.LIVE360_LOG_LEVEL === "debug" ? "debug" : "error" });

describe("recording hand-off to S3 + SQS", () => {
  let s3: S3Server;
  let sqs: SqsServer;
  let s3Switch: TcpSwitch;
  let sqsSwitch: TcpSwitch;
  let dir: string;
  let clip: string;
  let origin: Origin;
  let http: string;
  let rtmp: string;
  let queue: SqsQueue;
  let storage: S3Storage;
  let awsCalls: ReturnType<typeof recordAwsCalls>;
  let healthy: Publisher;
  let clipSeconds: number;
  /** A new origin process's worth of state (sink, metrics) on the same data directory and ports. */
  let startTestOrigin: () => Promise<Origin>;

  beforeAll(async () => {
    [s3, sqs] = await Promise.all([startS3Server({ buckets: [BUCKET] }), startSqsServer({ queues: [{ name: "vod" }] })]);
    const s3Url = new URL(s3.endpoint);
    const sqsUrl = new URL(sqs.endpoint);
    s3Switch = await startTcpSwitch({ host: s3Url.hostname, port: Number(s3Url.port) });
    sqsSwitch = await startTcpSwitch({ host: sqsUrl.hostname, port: Number(sqsUrl.port) });
    dir = await tempDir("upload");
    clip = await makeTestClip(dir, { seconds: 3 });
    clipSeconds = Number((await probe(clip)).format.duration);
    storage = new S3Storage({ endpoint: s3Switch.url, region: s3.region, credentials: s3.credentials });
    // The test's own queue client goes straight to ElasticMQ: it reads the jobs while the origin's is cut off.
    queue = new SqsQueue({ queueUrl: sqs.queueUrls.vod!, endpoint: sqs.endpoint, region: sqs.region, credentials: sqs.credentials });
    const originStorage = new S3Storage({ endpoint: s3Switch.url, region: s3.region, credentials: s3.credentials, timeouts: ORIGIN_TIMEOUTS });
    // The queue URL names the switch too: the SDK may send to the queue URL's host.
    const originQueue = new SqsQueue({ queueUrl: sqs.queueUrls.vod!.replace(sqs.endpoint, sqsSwitch.url), endpoint: sqsSwitch.url, region: sqs.region, credentials: sqs.credentials, timeouts: ORIGIN_TIMEOUTS });
    const local = await loopbackOrigin(dir);
    const config = resolveOriginConfig({
      ...local.settings,
      ladder: parseLadder("ladder", "source"),
      reconnectGraceSeconds: 1,
      // Shutdown waits this long for hand-offs S3 cannot take; the test restarts with S3 down.
      shutdownGraceSeconds: 2,
      // /stat's pending hand-offs carry their last error only for the admin.
      adminToken: ADMIN_TOKEN,
    });
    startTestOrigin = () => {
      const metrics = createOriginMetrics();
      // The origin's calls are told apart from the test's own by its clients' caller label.
      const sink = new UploadingRecordingSink({ storage: originStorage.forCaller("origin"), queue: originQueue.forCaller("origin"), bucket: BUCKET, logger, metrics, retry: { initialMs: 200, maxMs: 1000 } });
      return startOrigin(config, { logger, recordingSink: sink, metrics });
    };
    awsCalls = recordAwsCalls("origin");
    origin = await startTestOrigin();
    ({ http, rtmp } = local);
    // Live beside every hand-off: a stuck upload must not touch another stream's HLS.
    healthy = await publishFile(clip, `${rtmp}/healthy`, { loop: true });
    await waitFor("the healthy stream's playlist", async () => (await newestHealthySegment()) !== undefined, { timeoutMs: 45_000, intervalMs: 250 });
  }, 120_000);

  afterAll(async () => {
    awsCalls?.stop();
    await healthy?.stop();
    await origin?.close();
    await Promise.all([s3Switch?.close(), sqsSwitch?.close()]);
    await Promise.all([s3?.stop(), sqs?.stop()]);
  }, 60_000);

  async function newestHealthySegment(): Promise<string | undefined> {
    return (await getText(`${http}/hls/healthy/source/index.m3u8`)).body.split("\n").filter((l) => l.endsWith(".ts")).at(-1);
  }

  /** A fault case of the matrix beside the healthy stream (runFaultCase). */
  function faultCase(id: string, fault: string, run: () => Promise<FaultOutcome>): Promise<void> {
    return runFaultCase(id, fault, {
      playlist: `${http}/hls/healthy/source/index.m3u8`,
      expectHealthy: async () => {
        const before = await newestHealthySegment();
        await waitFor("the healthy stream's next segment", async () => (await newestHealthySegment()) !== before, { timeoutMs: 20_000, intervalMs: 250 });
      },
      alive: async () => (await getText(`${http}/healthz`)).status === 200,
    }, run);
  }

  /** The pending hand-off of `stream`'s recording in /stat, once `ready` holds for it. */
  async function pendingHandoff(stream: string, ready: (p: PendingStat) => boolean, timeoutMs: number): Promise<PendingStat> {
    return waitFor(`${stream}'s pending hand-off`, async () => {
      const stat = JSON.parse((await getText(`${http}/stat`, asAdmin)).body) as { recordingsPending: PendingStat[] };
      return stat.recordingsPending.find((p) => p.stream === stream && ready(p));
    }, { timeoutMs, intervalMs: 250 });
  }

  /** The next job message for `stream` (deleted once read); any other stream's job fails the test. */
  async function nextJob(stream: string): Promise<RecordingJob> {
    const [message] = await waitFor(`${stream}'s job message`, async () => {
      const got = await queue.receive({ waitTimeSeconds: 1 });
      return got.length ? got : undefined;
    }, { timeoutMs: 30_000 });
    const parsed = parseJobMessage(message!.body);
    expect(parsed.kind === "job" && parsed.job.recording?.stream).toBe(stream);
    await queue.delete(message!.receiptHandle);
    if (parsed.kind !== "job") throw new Error("not a job message");
    return parsed.job;
  }

  /** What a delivery after a fault kept of the recording: its length and bytes, against the file kept while it waited. */
  async function delivered(job: RecordingJob, keptBytes: number): Promise<FaultOutcome> {
    const uploadedBytes = (await storage.head(BUCKET, job.key)).size;
    expect(uploadedBytes).toBe(keptBytes);
    const seconds = job.recording!.durationSeconds;
    // Only the job message, once: nothing duplicated by the retries.
    expect(await queue.receive({ waitTimeSeconds: 1 })).toEqual([]);
    return {
      lost: `nothing: the ${seconds.toFixed(1)} s recording (${clipSeconds.toFixed(1)} s published) delivered once, ${uploadedBytes} bytes as kept on disk while it waited`,
      measured: { publishedSeconds: Number(clipSeconds.toFixed(2)), deliveredSeconds: seconds, bytes: uploadedBytes },
    };
  }

  const keptFile = async (stream: string): Promise<{ name: string; bytes: number }[]> => {
    const incoming = path.join(dir, "data", "recordings", ".incoming");
    const names = (await readdir(incoming)).filter((f) => f.startsWith(`${stream}-`) && f.endsWith(".mp4"));
    return Promise.all(names.map(async (name) => ({ name, bytes: (await stat(path.join(incoming, name))).size })));
  };

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
      // This stream's files only: the healthy stream's raw recording is being written beside them.
      return local.some((f) => f.startsWith("event-") && (f.endsWith(".mp4") || f.endsWith(".flv"))) ? undefined : true;
    });
    await queue.delete(message!.receiptHandle);
  }, 60_000);

  test("S3 down: the hand-off is retried, visible in /stat and metrics, the file kept, and delivered once S3 is back", async () => {
    await faultCase("s3-down", "S3 down (connections refused) while a finished recording is handed off", async () => {
      s3Switch.setUp(false);
      let kept: { name: string; bytes: number }[];
      try {
        const publisher = await publishFile(clip, `${rtmp}/outage`);
        expect(await publisher.exited).toBe(0);
        const pending = await pendingHandoff("outage", (p) => p.attempts >= 2, 30_000);
        expect(pending.lastError).toBeTruthy();
        const metrics = (await getText(`${http}/metrics`)).body;
        expect(metrics).toMatch(/live360_origin_recording_handoff_failures_total\{step="upload"\} [1-9]/);
        expect(metrics).toMatch(/live360_origin_recordings_pending 1/);
        kept = await keptFile("outage");
        expect(kept).toHaveLength(1);
        expect(await queue.receive({ waitTimeSeconds: 1 })).toEqual([]);
      } finally {
        s3Switch.setUp(true);
      }
      const job = await nextJob("outage");
      await waitFor("local file removed", async () => (await keptFile("outage")).length === 0);
      return { ...(await delivered(job, kept[0]!.bytes)), recovery: "retried until S3 answered again" };
    });
  }, 90_000);

  test("S3 hung: each upload attempt ends at the origin's own timeouts and is retried while S3 stays hung; delivered once it answers", async () => {
    await faultCase("s3-hung", "S3 hung (connections accepted, nothing ever answered) while a finished recording is handed off", async () => {
      s3Switch.freeze();
      let kept: { name: string; bytes: number }[];
      try {
        const publisher = await publishFile(clip, `${rtmp}/s3-hung`);
        expect(await publisher.exited).toBe(0);
        // A second attempt while S3 is still hung: the first one ended on its own. A call without
        // timeouts would wait forever and this would time out.
        const pending = await pendingHandoff("s3-hung", (p) => p.attempts >= 2, 60_000);
        expect(pending.uploaded).toBe(false);
        expect(pending.lastError).toBeTruthy();
        kept = await keptFile("s3-hung");
        expect(kept).toHaveLength(1);
        expect(await queue.receive({ waitTimeSeconds: 1 })).toEqual([]);
      } finally {
        // S3 back, having forgotten the hung connections (they are cut).
        s3Switch.setUp(true);
      }
      const job = await nextJob("s3-hung");
      await waitFor("local file removed", async () => (await keptFile("s3-hung")).length === 0);
      return { ...(await delivered(job, kept[0]!.bytes)), recovery: "each hung attempt timed out and was retried until S3 answered" };
    });
  }, 120_000);

  test("SQS hung after the upload: the job is retried, not sent twice, and the file kept until it is sent", async () => {
    await faultCase("sqs-hung", "SQS hung (connections accepted, nothing ever answered) when the uploaded recording's job is sent", async () => {
      sqsSwitch.freeze();
      let kept: { name: string; bytes: number }[];
      try {
        const publisher = await publishFile(clip, `${rtmp}/sqs-hung`);
        expect(await publisher.exited).toBe(0);
        // Uploaded, then stuck at the job: the second attempt only re-sends the job.
        const pending = await pendingHandoff("sqs-hung", (p) => p.uploaded && p.attempts >= 2, 60_000);
        expect(pending.lastError).toBeTruthy();
        expect((await getText(`${http}/metrics`)).body).toMatch(/live360_origin_recording_handoff_failures_total\{step="enqueue"\} [1-9]/);
        kept = await keptFile("sqs-hung");
        expect(kept).toHaveLength(1);
      } finally {
        sqsSwitch.setUp(true);
      }
      const job = await nextJob("sqs-hung");
      await waitFor("local file removed", async () => (await keptFile("sqs-hung")).length === 0);
      return { ...(await delivered(job, kept[0]!.bytes)), recovery: "the job was re-sent until SQS answered; the upload was not repeated" };
    });
  }, 120_000);

  async function originStat(): Promise<OriginStat> {
    return JSON.parse((await getText(`${http}/stat`, asAdmin)).body) as OriginStat;
  }

  // Last but the permissions check: it restarts the origin, which ends the healthy stream.
  test("an ended stream expires while its upload waits for S3; after a restart every recording left behind is retried side by side, then delivered", async () => {
    s3Switch.setUp(false);
    try {
      const first = await publishFile(clip, `${rtmp}/expiring`);
      expect(await first.exited).toBe(0);
      await pendingHandoff("expiring", (p) => p.attempts >= 2, 30_000);
      // Its reconnect grace (1 s) is over: no longer served, while its upload still waits.
      await waitFor("the ended stream to expire", async () => !(await originStat()).streams.some((s) => s.stream === "expiring"), { timeoutMs: 15_000 });
      expect((await getText(`${http}/hls/expiring/master.m3u8`)).status).toBe(404);
      expect((await originStat()).recordingsPending.map((p) => p.stream)).toContain("expiring");

      // A second recording, then the origin restarts (an evicted pod coming back with its volume).
      const second = await publishFile(clip, `${rtmp}/expiring-two`);
      expect(await second.exited).toBe(0);
      await pendingHandoff("expiring-two", (p) => p.attempts >= 1, 30_000);
      await origin.close();
      origin = await startTestOrigin();
      // Neither waits behind the other: both are retried while S3 is still down.
      await waitFor("both recordings retried at once after the restart", async () => {
        const retried = (await originStat()).recordingsPending.filter((p) => p.attempts >= 2).map((p) => p.stream);
        return retried.includes("expiring") && retried.includes("expiring-two");
      }, { timeoutMs: 30_000 });
    } finally {
      s3Switch.setUp(true);
    }
    const jobs = new Set<string>();
    await waitFor("both job messages", async () => {
      for (const message of await queue.receive({ waitTimeSeconds: 1 })) {
        const parsed = parseJobMessage(message.body);
        if (parsed.kind === "job") jobs.add(parsed.job.recording!.stream);
        await queue.delete(message.receiptHandle);
      }
      return jobs.has("expiring") && jobs.has("expiring-two");
    }, { timeoutMs: 30_000 });
    await waitFor("local files removed", async () => (await keptFile("expiring")).length === 0);
  }, 120_000);

  test("every S3 and SQS call the origin made above is a permission eks-infra grants its role (eks-infra/workload-calls.json)", async () => {
    expect(awsCalls.calls.length).toBeGreaterThan(0);
    expect(await unlistedPermissions("origin", awsCalls.calls, { [BUCKET]: "ingest" })).toEqual([]);
  });
});
