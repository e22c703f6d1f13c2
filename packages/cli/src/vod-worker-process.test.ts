/**
 * The live-to-VOD pipeline as real processes against real S3- and SQS-compatible servers
 * (versitygw, ElasticMQ with dead-letter queues) and real FFmpeg: `live360 origin` hands a
 * recording to the ingest bucket and the queue, `live360 vod-worker` turns it into an asset.
 * Then what Spot capacity does to workers (SIGKILL, SIGTERM), what bad input does (corrupt MP4,
 * not a video, not a job), and --concurrency.
 *
 * Where a test must act mid-transcode, the worker runs a real FFmpeg that reads its input at
 * real-time speed (`-readrate 1`, via FFMPEG_PATH): a 12 s clip then takes at least 12 s on any
 * machine, so "mid-transcode" never depends on how fast this machine happens to be.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "@jest/globals";
import { stat, truncate, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import {
  S3Storage,
  SqsQueue,
  formatRecordingJob,
  probe,
  recordingToMetadata,
  resolveBinary,
  runOnce,
  type JobQueue,
  type RecordingInfo,
} from "@live360/core";
import type { RunningJobStatus } from "@live360/vod-worker";
import {
  freePort,
  getText,
  inspectVodAsset,
  listKeys,
  makeTestClip,
  publishFile,
  startS3Server,
  startSqsServer,
  tempDir,
  waitFor,
  type S3Server,
  type SqsServer,
} from "@live360/testkit";
import { killRunningClis, runCli, type CliProcess } from "./test-cli.js";

afterEach(killRunningClis);

const LADDER = "source,480x240:500k,320x160:300k";
const CLIP_SECONDS = 12;
const MAX_RECEIVE_COUNT = 3;
const QUEUES = ["e2e", "crash", "term", "idle", "poison", "wide"] as const;
type QueueName = (typeof QUEUES)[number];

interface WorkerProcess extends CliProcess {
  http: string;
  status(): Promise<RunningJobStatus[]>;
  metrics(): Promise<string>;
}

describe("live360 vod-worker processes against versitygw and ElasticMQ", () => {
  let s3: S3Server;
  let sqs: SqsServer;
  let storage: S3Storage;
  let dir: string;
  let clip: string;
  let env: NodeJS.ProcessEnv;
  let realTimeEnv: NodeJS.ProcessEnv;

  beforeAll(async () => {
    [s3, sqs] = await Promise.all([
      startS3Server({ buckets: ["ingest", "egress", "reference"] }),
      startSqsServer({ queues: QUEUES.map((name) => ({ name, deadLetter: { name: `${name}-dead`, maxReceiveCount: MAX_RECEIVE_COUNT } })) }),
    ]);
    storage = new S3Storage({ endpoint: s3.endpoint, region: s3.region, credentials: s3.credentials });
    dir = await tempDir("vod-process");
    clip = await makeTestClip(dir, { seconds: CLIP_SECONDS, container: "mp4" });
    // The CLI finds credentials the way it does in a pod: the SDK's chain, here the environment.
    env = { ...process.env, AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey, AWS_REGION: s3.region };
    realTimeEnv = { ...env, FFMPEG_PATH: await realTimeFfmpeg(dir) };
  }, 180_000);

  afterAll(async () => {
    await Promise.all([s3?.stop(), sqs?.stop()]);
  }, 60_000);

  function queue(name: QueueName | `${QueueName}-dead`): JobQueue {
    return new SqsQueue({ queueUrl: sqs.queueUrls[name]!, endpoint: sqs.endpoint, region: sqs.region, credentials: sqs.credentials });
  }

  function serviceFlags(): string[] {
    return ["--s3-endpoint", s3.endpoint, "--sqs-endpoint", sqs.endpoint, "--region", s3.region];
  }

  async function startWorker(queueName: QueueName, extra: string[] = [], options: { realTime?: boolean } = {}): Promise<WorkerProcess> {
    const httpPort = await freePort();
    const proc = runCli(
      [
        "vod-worker", "--egress-bucket", "egress", "--ingest-bucket", "ingest", "--queue-url", sqs.queueUrls[queueName]!, ...serviceFlags(),
        "--ladder", LADDER, "--http-port", String(httpPort), "--bind", "127.0.0.1", "--work-dir", await tempDir("vod-work"), ...extra,
      ],
      { env: options.realTime ? realTimeEnv : env, ownProcessGroup: true },
    );
    await waitFor("vod worker ready", () => proc.output().includes('"msg":"vod worker ready"'), { timeoutMs: 30_000 }).catch((error: Error) => {
      throw new Error(`${error.message}\n${proc.output()}`);
    });
    const http = `http://127.0.0.1:${httpPort}`;
    return {
      ...proc,
      http,
      status: async () => (JSON.parse((await getText(`${http}/status`)).body) as { jobs: RunningJobStatus[] }).jobs,
      metrics: async () => (await getText(`${http}/metrics`)).body,
    };
  }

  /** Uploads the clip as a recording, as the origin would, and returns the job message for it. */
  async function uploadRecording(stream: string, startedAt: string, file = clip): Promise<{ key: string; body: string }> {
    const recording: RecordingInfo = { stream, startedAt: new Date(startedAt), durationSeconds: CLIP_SECONDS, projection: "equirectangular" };
    const key = `recordings/${stream}/${startedAt.replace(/[-:]/g, "")}.mp4`;
    await storage.putFile("ingest", key, file, { contentType: "video/mp4", metadata: recordingToMetadata(recording) });
    return { key, body: formatRecordingJob({ bucket: "ingest", key, recording }) };
  }

  /** Waits until one job runs with at least `ratio` of its transcode done, and returns its status. */
  function transcodedAtLeast(worker: WorkerProcess, ratio: number, jobs = 1): Promise<RunningJobStatus[]> {
    return waitFor(
      `${jobs} job(s) transcoding past ${ratio * 100} %`,
      async () => {
        const running = await worker.status();
        const past = running.filter((j) => j.phase === "transcoding" && (j.progress?.ratio ?? 0) >= ratio);
        return past.length >= jobs ? running : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 100 },
    );
  }

  test("end to end: a published stream's recording lands in the ingest bucket with a job; the worker makes the asset and deletes the message", async () => {
    const [rtmpPort, httpPort] = [await freePort(), await freePort()];
    const origin = runCli(
      [
        "origin", "--rtmp-port", String(rtmpPort), "--http-port", String(httpPort), "--bind", "127.0.0.1", "--data-dir", path.join(dir, "origin"),
        "--ladder", "source", "--reconnect-grace", "1", "--ingest-bucket", "ingest", "--queue-url", sqs.queueUrls.e2e!, ...serviceFlags(),
      ],
      { env },
    );
    await waitFor("origin ready", async () => (await getText(`http://127.0.0.1:${httpPort}/readyz`)).status === 200, { timeoutMs: 30_000 });
    const short = await makeTestClip(dir, { seconds: 7, container: "mp4" });
    const publisher = await publishFile(short, `rtmp://127.0.0.1:${rtmpPort}/live/e2e`);
    expect(await publisher.exited).toBe(0);

    // The recording is uploaded before its job is sent: once the job is there, so is the object.
    const jobs = queue("e2e");
    await waitFor("the job on the queue", async () => (await jobs.counts()).visible === 1, { timeoutMs: 60_000 });
    const [recordingKey] = await listKeys(storage, "ingest", "recordings/e2e/");
    expect(recordingKey).toMatch(/^recordings\/e2e\/\d{8}T\d{6}Z\.mp4$/);
    const recordingFile = path.join(dir, "e2e-recording.mp4");
    await storage.getToFile("ingest", recordingKey!, recordingFile);
    const recordedSeconds = Number((await probe(recordingFile)).format.duration);
    expect(recordedSeconds).toBeGreaterThan(6);

    const worker = await startWorker("e2e");
    await waitFor("the asset", () => worker.output().includes('"msg":"asset complete; message deleted"'), { timeoutMs: 120_000 });
    const prefix = `vod/e2e/${path.basename(recordingKey!, ".mp4")}/`;
    const asset = await inspectVodAsset(storage, "egress", prefix);
    expect(asset.variants.map((v) => v.uri)).toEqual(["source/index.m3u8", "240p/index.m3u8", "160p/index.m3u8"]);
    for (const variant of asset.variants) {
      expect(variant.ended).toBe(true);
      expect(Math.abs(variant.totalSeconds - recordedSeconds)).toBeLessThanOrEqual(6);
    }
    for (const attribute of ["AVERAGE-BANDWIDTH=", "RESOLUTION=640x320", "RESOLUTION=480x240", "RESOLUTION=320x160", "FRAME-RATE=", 'CODECS="avc1.']) {
      expect(asset.master).toContain(attribute);
    }
    expect(asset.poster).toMatchObject({ codec: "mjpeg", width: 640 });
    expect(asset.manifest).toMatchObject({ stream: "e2e", projection: "equirectangular", source: { bucket: "ingest", key: recordingKey } });
    expect(await jobs.counts()).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    expect(await queue("e2e-dead").counts()).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    // The recording is the master copy: the worker never deletes it.
    expect((await storage.head("ingest", recordingKey!)).size).toBeGreaterThan(0);

    worker.child.kill("SIGTERM");
    origin.child.kill("SIGTERM");
    expect((await worker.exited).code).toBe(0);
    expect((await origin.exited).code).toBe(0);
  }, 240_000);

  test("SIGKILL mid-transcode: the heartbeat keeps the job from a second worker while the first lives; after the visibility timeout the second completes it, same layout as an uninterrupted run", async () => {
    const { key, body } = await uploadRecording("crash", "2026-11-24T13:00:00Z");
    // The layout an uninterrupted run produces, from the one-shot mode into another bucket.
    const reference = runCli(["vod-worker", "--job", `s3://ingest/${key}`, "--egress-bucket", "reference", ...serviceFlags(), "--ladder", LADDER, "--work-dir", await tempDir("vod-ref")], { env });
    expect((await reference.exited).code).toBe(0);
    const expected = await inspectVodAsset(storage, "reference", "vod/crash/20261124T130000Z/");

    const jobs = queue("crash");
    await jobs.send(body);
    const visibilitySeconds = 6;
    const timing = ["--visibility-timeout", String(visibilitySeconds), "--heartbeat", "1"];
    const first = await startWorker("crash", timing, { realTime: true });
    await transcodedAtLeast(first, 0.05);
    const second = await startWorker("crash", timing, { realTime: true });
    // Held past its visibility timeout by the heartbeat alone; reading in real time, a 12 s clip is still being transcoded then.
    await waitFor("the first worker's job past its visibility timeout", async () => {
      const [job] = await first.status();
      return job?.phase === "transcoding" && Date.now() - Date.parse(job.startedAt) > 1.25 * visibilitySeconds * 1000;
    }, { timeoutMs: 90_000, intervalMs: 100 });
    expect(await second.status()).toEqual([]);
    expect(second.output()).not.toContain('"msg":"job received"');
    expect(await jobs.counts()).toEqual({ visible: 0, inFlight: 1, delayed: 0 });
    expect(await first.metrics()).toMatch(/live360_vod_heartbeats_total\{result="ok"\} [1-9]/);

    process.kill(-first.child.pid!, "SIGKILL");
    expect((await first.exited).signal).toBe("SIGKILL");
    await waitFor("the second worker's asset", () => second.output().includes('"msg":"asset complete; message deleted"'), { timeoutMs: 120_000 });
    const received = second.output().split("\n").filter((line) => line.includes('"msg":"job received"'));
    expect(received).toHaveLength(1);
    expect(received[0]).toContain('"receiveCount":2');

    const asset = await inspectVodAsset(storage, "egress", "vod/crash/20261124T130000Z/");
    expect(asset.layout).toEqual(expected.layout);
    expect(asset.variants.map((v) => v.durations)).toEqual(expected.variants.map((v) => v.durations));
    const shape = (m: typeof asset.manifest): unknown[] => m.variants.map((v) => [v.name, v.width, v.height, v.projection, v.segments, v.durationSeconds]);
    expect(shape(asset.manifest)).toEqual(shape(expected.manifest));
    expect(await jobs.counts()).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    expect(await queue("crash-dead").counts()).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    second.child.kill("SIGTERM");
    expect((await second.exited).code).toBe(0);
  }, 300_000);

  test("SIGTERM mid-transcode: progress was in logs and metrics; FFmpeg is stopped, the message is visible again at once, exit 0 within 20 s, nothing advertised", async () => {
    const { body } = await uploadRecording("term", "2026-11-24T14:00:00Z");
    const jobs = queue("term");
    await jobs.send(body);
    // A long visibility timeout: the message can only be back at once if the worker released it.
    // Two loops: the idle one's long poll is open when the job's message is released, and must not swallow it.
    const worker = await startWorker("term", ["--visibility-timeout", "120", "--heartbeat", "30", "--concurrency", "2"], { realTime: true });
    // Progress is logged at the first report and every 5 s; an ETA needs some progress to go by.
    const progressLine = /"msg":"transcode progress"[^\n]*"asset":"vod\/term\/20261124T140000Z\/","percent":[\d.]+,"etaSeconds":\d+/;
    await waitFor("a progress log line with an ETA", () => progressLine.test(worker.output()), { timeoutMs: 90_000 });

    const metrics = await worker.metrics();
    const ratio = Number(/live360_vod_job_progress_ratio\{asset="vod\/term\/20261124T140000Z\/"\} ([\d.e-]+)/.exec(metrics)?.[1]);
    expect(ratio).toBeGreaterThan(0);
    expect(ratio).toBeLessThan(1);
    expect(metrics).toMatch(/live360_vod_job_eta_seconds\{asset="vod\/term\/20261124T140000Z\/"\} \d/);

    const signalledAt = Date.now();
    worker.child.kill("SIGTERM");
    const exit = await worker.exited;
    expect(exit.code).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(20_000);
    expect(await jobs.counts()).toEqual({ visible: 1, inFlight: 0, delayed: 0 });
    // The worker's process group is empty: its FFmpeg went with it.
    expect(() => process.kill(-worker.child.pid!, 0)).toThrow(/ESRCH/);
    expect(worker.output()).toContain('"msg":"job interrupted by shutdown; message visible again for another worker"');
    expect(worker.output()).not.toContain("stop timed out");
    expect((await listKeys(storage, "egress", "vod/term/")).filter((k) => k.endsWith("master.m3u8"))).toEqual([]);

    const [again] = await jobs.receive({ waitTimeSeconds: 1 });
    // The idle loop's open poll may have taken the released message; then it gave it back at once (one more receive).
    const bounced = worker.output().includes('"msg":"message received while stopping; visible again for another worker"');
    expect(again).toMatchObject({ body, receiveCount: bounced ? 3 : 2 });
    await jobs.delete(again!.receiptHandle);
  }, 180_000);

  test("SIGTERM on an idle worker: its open long poll is not abandoned, so a message sent right after is given back at once, not hidden for the visibility timeout", async () => {
    const jobs = queue("idle");
    const worker = await startWorker("idle", ["--visibility-timeout", "120"]);
    const signalledAt = Date.now();
    worker.child.kill("SIGTERM");
    const { body } = await uploadRecording("idle", "2026-11-24T15:00:00Z");
    await jobs.send(body);
    const exit = await worker.exited;
    expect(exit.code).toBe(0);
    // The poll open at SIGTERM returns within its 20 s wait; nothing else holds the worker.
    expect(Date.now() - signalledAt).toBeLessThan(25_000);
    expect(worker.output()).not.toContain("stop timed out");
    // Taken by the worker's last poll and given back, or never taken: either way visible now.
    const [message] = await jobs.receive({ waitTimeSeconds: 1 });
    expect(message?.body).toBe(body);
    const gaveBack = worker.output().includes('"msg":"message received while stopping; visible again for another worker"');
    expect(message!.receiveCount).toBe(gaveBack ? 2 : 1);
    await jobs.delete(message!.receiptHandle);
  }, 120_000);

  test("a corrupt MP4, an object that is not a video, a message that is not a job, an unknown bucket, a missing object and an encrypted stream's recording at a worker without the secret each land in the dead-letter queue after maxReceiveCount, with the reason logged and counted; nothing is deleted or published", async () => {
    // A recording cut short (its disk filled up): the index says 12 s, the data stops a third of the way in.
    const faststart = path.join(dir, "faststart.mp4");
    await runOnce(await resolveBinary("ffmpeg"), ["-v", "error", "-y", "-i", clip, "-c", "copy", "-movflags", "+faststart", faststart]);
    await truncate(faststart, Math.floor((await stat(faststart)).size / 3));
    const corrupt = await uploadRecording("broken", "2026-11-24T15:00:00Z", faststart);
    const text = path.join(dir, "notes.mp4");
    await writeFile(text, "these are meeting notes, not a recording\n".repeat(100));
    const notVideo = await uploadRecording("notes", "2026-11-24T15:10:00Z", text);
    // A good recording of a stream its origin encrypted live: this worker has no secret, and a clear asset would leak it.
    const locked = await uploadRecording("locked", "2026-11-24T15:30:00Z");
    const ingestBefore = await Promise.all([corrupt.key, notVideo.key].map(async (key) => (await storage.head("ingest", key)).etag));

    const jobs = queue("poison");
    const missing = { stream: "gone", startedAt: new Date("2026-11-24T15:20:00Z"), durationSeconds: CLIP_SECONDS, projection: "equirectangular" } as const;
    const bodies = [
      corrupt.body,
      notVideo.body,
      "{ this is not json",
      formatRecordingJob({ bucket: "someone-elses", key: corrupt.key, recording: missing }),
      formatRecordingJob({ bucket: "ingest", key: "recordings/gone/20261124T152000Z.mp4", recording: missing }),
      JSON.stringify({ ...(JSON.parse(locked.body) as object), encrypted: true }),
    ];
    for (const body of bodies) await jobs.send(body);
    const worker = await startWorker("poison", ["--retry-delay", "0"]);
    const dead = queue("poison-dead");
    await waitFor("every message in the dead-letter queue", async () => (await dead.counts()).visible === bodies.length, { timeoutMs: 180_000, intervalMs: 500 });

    const metrics = await worker.metrics();
    for (const reason of ["undecodable", "not-a-video", "invalid-message", "unknown-bucket", "object-missing", "needs-encryption"]) {
      expect(metrics).toContain(`live360_vod_jobs_rejected_total{reason="${reason}"} ${MAX_RECEIVE_COUNT}`);
    }
    expect(metrics).toContain(`live360_vod_jobs_total{result="rejected"} ${bodies.length * MAX_RECEIVE_COUNT}`);
    const refusals = worker.output().split("\n").filter((line) => line.includes('"msg":"job refused; message released towards the dead-letter queue"'));
    expect(refusals.filter((line) => line.includes('"reason":"undecodable"') && line.includes("recordings/broken/"))).toHaveLength(MAX_RECEIVE_COUNT);
    expect(refusals.filter((line) => line.includes('"reason":"not-a-video"') && line.includes("recordings/notes/"))).toHaveLength(MAX_RECEIVE_COUNT);
    expect(refusals.filter((line) => line.includes('"reason":"invalid-message"'))).toHaveLength(MAX_RECEIVE_COUNT);
    expect(refusals.filter((line) => line.includes('"reason":"unknown-bucket"') && line.includes("someone-elses"))).toHaveLength(MAX_RECEIVE_COUNT);
    expect(refusals.filter((line) => line.includes('"reason":"object-missing"') && line.includes("recordings/gone/"))).toHaveLength(MAX_RECEIVE_COUNT);
    expect(refusals.filter((line) => line.includes('"reason":"needs-encryption"') && line.includes("give the worker the event's HLS secret"))).toHaveLength(MAX_RECEIVE_COUNT);

    const deadBodies: string[] = [];
    await waitFor("the dead letters", async () => {
      for (const message of await dead.receive({ maxMessages: 10, waitTimeSeconds: 1, visibilityTimeoutSeconds: 300 })) deadBodies.push(message.body);
      return deadBodies.length >= bodies.length;
    });
    expect(deadBodies.sort()).toEqual([...bodies].sort());
    expect(await jobs.counts()).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    const ingestAfter = await Promise.all([corrupt.key, notVideo.key].map(async (key) => (await storage.head("ingest", key)).etag));
    expect(ingestAfter).toEqual(ingestBefore);
    expect(await listKeys(storage, "egress", "vod/broken/")).toEqual([]);
    expect(await listKeys(storage, "egress", "vod/notes/")).toEqual([]);
    expect(await listKeys(storage, "egress", "vod/locked/")).toEqual([]);
    worker.child.kill("SIGTERM");
    expect((await worker.exited).code).toBe(0);
  }, 240_000);

  test("--concurrency 2 works on two recordings at once, each to its own complete asset", async () => {
    const jobs = queue("wide");
    for (const [stream, at] of [["wide-a", "2026-11-24T16:00:00Z"], ["wide-b", "2026-11-24T16:00:00Z"]] as const) {
      await jobs.send((await uploadRecording(stream, at)).body);
    }
    const worker = await startWorker("wide", ["--concurrency", "2"], { realTime: true });
    const running = await transcodedAtLeast(worker, 0.1, 2);
    expect(running.map((j) => j.asset).sort()).toEqual(["vod/wide-a/20261124T160000Z/", "vod/wide-b/20261124T160000Z/"]);
    await waitFor("both assets", () => worker.output().split('"msg":"asset complete; message deleted"').length === 3, { timeoutMs: 120_000 });
    for (const stream of ["wide-a", "wide-b"]) {
      const asset = await inspectVodAsset(storage, "egress", `vod/${stream}/20261124T160000Z/`);
      expect(asset.variants).toHaveLength(3);
    }
    expect(await jobs.counts()).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    worker.child.kill("SIGTERM");
    expect((await worker.exited).code).toBe(0);
  }, 180_000);

  test("--projection cubemap with an FFmpeg that lacks v360 (core's npm fallback build, from 2018) refuses to start, naming the filter and the fix", async () => {
    // Core's dependency, hoisted: a real FFmpeg older than v360 (FFmpeg 4.3).
    const { path: oldFfmpeg } = createRequire(import.meta.url)("@ffmpeg-installer/ffmpeg") as { path: string };
    const worker = runCli(
      ["vod-worker", "--projection", "cubemap", "--egress-bucket", "egress", "--queue-url", sqs.queueUrls.e2e!, ...serviceFlags(), "--http-port", "0"],
      { env: { ...env, FFMPEG_PATH: oldFfmpeg } },
    );
    expect((await worker.exited).code).toBe(2);
    expect(worker.output()).toContain('--projection cubemap (re-projecting lower rungs to an equi-angular cubemap) needs the FFmpeg filter "v360"');
    expect(worker.output()).toContain("set FFMPEG_PATH");
  }, 60_000);
});

/**
 * Real FFmpeg that reads its input no faster than real time (`-readrate 1`, an input option,
 * so it applies to the source the worker passes with `-i`).
 */
async function realTimeFfmpeg(dir: string): Promise<string> {
  const ffmpeg = await resolveBinary("ffmpeg");
  const file = path.join(dir, "ffmpeg-real-time");
  await writeFile(file, `#!/bin/sh\nexec '${ffmpeg.path}' -readrate 1 "$@"\n`, { mode: 0o755 });
  return file;
}
