/**
 * The worker in-process against real S3- and SQS-compatible servers (versitygw, ElasticMQ) and
 * real FFmpeg: upload order, duplicate delivery, S3 event wiring and cubemap re-projection.
 * Crash, SIGTERM and dead-letter behaviour run against real `live360 vod-worker` processes in
 * packages/cli/src/vod-worker-process.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { ReceiptHandleInvalidError, S3Storage, SqsQueue, formatRecordingJob, type JobQueue, type ObjectStorage, type PutOptions, type RecordingInfo } from "@live360/core";
import {
  inspectVodAsset,
  listKeys,
  makeTestClip,
  recordAwsCalls,
  startS3Server,
  startSqsServer,
  tempDir,
  unlistedPermissions,
  waitFor,
  type S3Server,
  type SqsServer,
} from "@live360/testkit";
import { DEFAULT_VOD_WORKER_CONFIG, type VodWorkerConfig } from "./config.js";
import { CLIP_SECONDS, UploadOrder, metricValue, startTestWorker, transcodingFfmpeg, uploadRecording as putRecording } from "./vod-worker.fixture.js";
import type { VodWorker } from "./worker.js";

/** Real storage whose uploads hang until aborted, like a stalled network: a stop must still get through. */
class StalledUploads extends UploadOrder {
  stalled = false;
  override putFile(_bucket: string, _key: string, _file: string, options?: PutOptions): Promise<void> {
    this.stalled = true;
    return new Promise((_resolve, reject) => {
      options?.signal?.addEventListener("abort", () => reject(Object.assign(new Error("Request aborted"), { name: "AbortError" })), { once: true });
    });
  }
}

describe("VOD worker against versitygw and ElasticMQ", () => {
  let s3: S3Server;
  let sqs: SqsServer;
  let storage: S3Storage;
  let clip: string;
  let queueCount = 0;
  let awsCalls: ReturnType<typeof recordAwsCalls>;

  beforeAll(async () => {
    [s3, sqs] = await Promise.all([
      startS3Server({ buckets: ["ingest", "egress"] }),
      startSqsServer({ queues: [1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => ({ name: `vod-${n}`, deadLetter: { name: `vod-${n}-dead`, maxReceiveCount: 3 } })) }),
    ]);
    storage = new S3Storage({ endpoint: s3.endpoint, region: s3.region, credentials: s3.credentials });
    awsCalls = recordAwsCalls("vodWorker");
    clip = await makeTestClip(await tempDir("vod-worker"), { seconds: CLIP_SECONDS, container: "mp4" });
  }, 120_000);

  afterAll(async () => {
    awsCalls?.stop();
    await Promise.all([s3?.stop(), sqs?.stop()]);
  }, 60_000);

  function nextQueue(): SqsQueue {
    queueCount += 1;
    const queueUrl = sqs.queueUrls[`vod-${queueCount}`];
    if (!queueUrl) throw new Error(`only ${queueCount - 1} queues were started for this suite: start more in beforeAll`);
    return new SqsQueue({ queueUrl, endpoint: sqs.endpoint, region: sqs.region, credentials: sqs.credentials });
  }

  async function uploadRecording(stream: string, startedAt: string): Promise<{ key: string; recording: RecordingInfo }> {
    return putRecording(storage, clip, stream, startedAt);
  }

  function startWorker(queue: SqsQueue, over: Partial<VodWorkerConfig>, workerStorage: ObjectStorage = storage): Promise<VodWorker> {
    // Labelled clients: the worker's calls are told apart from the test's own.
    const labelled = workerStorage === storage ? storage.forCaller("vodWorker") : workerStorage;
    return startTestWorker(queue.forCaller("vodWorker"), labelled, over);
  }

  test("a recording becomes an asset: every variant, decodable segments covering the recording, poster, master uploaded last, message gone", async () => {
    const queue = nextQueue();
    const { key, recording } = await uploadRecording("event", "2026-11-24T10:00:00Z");
    await queue.send(formatRecordingJob({ bucket: "ingest", key, recording }));
    const order = new UploadOrder(storage.forCaller("vodWorker"));
    const worker = await startWorker(queue, {}, order);
    const completed = new Promise<string>((resolve) => worker.on("completed", ({ prefix }) => resolve(prefix)));
    const prefix = await completed;
    await worker.stop();

    expect(prefix).toBe("vod/event/20261124T100000Z/");
    const asset = await inspectVodAsset(storage, "egress", prefix);
    expect(asset.variants.map((v) => v.uri)).toEqual(["source/index.m3u8", "240p/index.m3u8", "160p/index.m3u8"]);
    for (const variant of asset.variants) {
      expect(variant.ended).toBe(true);
      expect(Math.abs(variant.totalSeconds - CLIP_SECONDS)).toBeLessThanOrEqual(6);
      // 6 s segments on the clip's 2 s keyframes: 6 + 2.
      expect(variant.durations).toEqual([6, 2]);
    }
    expect(asset.master).toContain("#EXT-X-STREAM-INF:BANDWIDTH=");
    for (const attribute of ["AVERAGE-BANDWIDTH=", "RESOLUTION=640x320", "RESOLUTION=480x240", "RESOLUTION=320x160", "FRAME-RATE=30.000", 'CODECS="avc1.', 'X-PROJECTION="equirectangular"']) {
      expect(asset.master).toContain(attribute);
    }
    expect(asset.poster).toMatchObject({ codec: "mjpeg", width: 640, height: 320 });
    expect(asset.manifest).toMatchObject({ stream: "event", startedAt: "2026-11-24T10:00:00.000Z", projection: "equirectangular", poster: "poster.jpg", master: "master.m3u8" });
    expect(asset.manifest.variants).toHaveLength(3);

    // Every object of the asset was uploaded, and the master playlist only after all of them.
    const uploaded = order.completed.filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
    expect([...uploaded].sort()).toEqual(asset.layout);
    expect(uploaded.at(-1)).toBe("master.m3u8");
    expect(uploaded.indexOf("source/index.m3u8")).toBeGreaterThan(uploaded.indexOf("source/seg_00001.ts"));

    expect(await queue.counts()).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    expect((await storage.head("ingest", key)).size).toBeGreaterThan(0);
    // With the default deadline (max(120 s, 4 × 8 s)) nothing was killed.
    expect(worker.config).toMatchObject({ transcodeDeadlineFactor: DEFAULT_VOD_WORKER_CONFIG.transcodeDeadlineFactor, transcodeDeadlineMinSeconds: DEFAULT_VOD_WORKER_CONFIG.transcodeDeadlineMinSeconds });
    expect(await metricValue(worker, "live360_vod_transcodes_killed_total", 'reason="deadline"')).toBe(0);
  }, 180_000);

  test("the same message delivered twice, worked on at once: one asset, complete and decodable, both messages gone", async () => {
    const queue = nextQueue();
    const { key, recording } = await uploadRecording("twice", "2026-11-24T11:00:00Z");
    const body = formatRecordingJob({ bucket: "ingest", key, recording });
    await queue.send(body);
    await queue.send(body);
    const worker = await startWorker(queue, { concurrency: 2 });
    const outcomes: boolean[] = [];
    worker.on("completed", ({ alreadyDone }) => outcomes.push(alreadyDone));
    await waitFor("both messages handled", () => outcomes.length === 2, { timeoutMs: 150_000 });
    await worker.stop();

    expect((await listKeys(storage, "egress", "vod/twice/")).every((k) => k.startsWith("vod/twice/20261124T110000Z/"))).toBe(true);
    const asset = await inspectVodAsset(storage, "egress", "vod/twice/20261124T110000Z/");
    expect(asset.layout).toEqual([
      "160p/index.m3u8", "160p/seg_00000.ts", "160p/seg_00001.ts",
      "240p/index.m3u8", "240p/seg_00000.ts", "240p/seg_00001.ts",
      "asset.json", "master.m3u8", "poster.jpg",
      "source/index.m3u8", "source/seg_00000.ts", "source/seg_00001.ts",
    ]);
    for (const variant of asset.variants) expect(variant.durations).toEqual([6, 2]);
    expect(await queue.counts()).toEqual({ visible: 0, inFlight: 0, delayed: 0 });

    // Delivered once more later, the job is recognised as done (same object, same ETag) without a transcode.
    await queue.send(body);
    const again = await startWorker(queue, {});
    const alreadyDone = await new Promise<boolean>((resolve) => again.on("completed", (event) => resolve(event.alreadyDone)));
    await again.stop();
    expect(alreadyDone).toBe(true);
  }, 240_000);

  test("a heartbeat that reaches SQS just after the job's delete is not counted as a lost message", async () => {
    const sqsQueue = nextQueue();
    const { key, recording } = await uploadRecording("late-beat", "2026-11-24T12:00:00Z");
    await sqsQueue.send(formatRecordingJob({ bucket: "ingest", key, recording }));
    // The real queue; its delete waits for the next heartbeat to be sent and holds that heartbeat
    // until the delete is done, so the beat meets a deleted message every time.
    let deleteDone!: () => void;
    const deleted = new Promise<void>((resolve) => (deleteDone = resolve));
    let beatDuringDelete: (() => void) | undefined;
    let lateBeatRefused: unknown;
    const racing: JobQueue = Object.assign(Object.create(sqsQueue) as JobQueue, {
      async changeVisibility(handle: string, seconds: number): Promise<void> {
        if (!beatDuringDelete) return sqsQueue.changeVisibility(handle, seconds);
        beatDuringDelete();
        await deleted;
        try {
          await sqsQueue.changeVisibility(handle, seconds);
        } catch (error) {
          lateBeatRefused = error;
          throw error;
        }
      },
      async delete(handle: string): Promise<void> {
        await new Promise<void>((resolve) => (beatDuringDelete = resolve));
        await sqsQueue.delete(handle);
        deleteDone();
      },
    });
    const worker = await startTestWorker(racing, storage, { heartbeatSeconds: 1 });
    try {
      const completed = new Promise<boolean>((resolve) => worker.on("completed", (event) => resolve(event.alreadyDone)));
      expect(await completed).toBe(false);
      await waitFor("the late heartbeat answered", () => lateBeatRefused !== undefined, { timeoutMs: 10_000 });
    } finally {
      await worker.stop();
    }
    // SQS refused the late beat for its handle, and the worker knew why.
    expect(lateBeatRefused).toBeInstanceOf(ReceiptHandleInvalidError);
    expect(await metricValue(worker, "live360_vod_heartbeats_total", 'result="lost"')).toBe(0);
    expect(await metricValue(worker, "live360_vod_jobs_total", 'result="completed"')).toBe(1);
    expect(await sqsQueue.counts()).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
  }, 180_000);

  test("with a secret, segments are AES-128 under a key per period: unreadable as they are, decodable with their period's key and number as IV; a clear asset is made again encrypted", async () => {
    const secret = "vod-encryption-test-secret-0123456789abcdef";
    const queue = nextQueue();
    const { key, recording } = await uploadRecording("locked", "2026-11-24T12:00:00Z");
    const body = formatRecordingJob({ bucket: "ingest", key, recording });
    const prefix = "vod/locked/20261124T120000Z/";
    const transcodeWith = async (over: Partial<VodWorkerConfig>): Promise<boolean> => {
      await queue.send(body);
      const worker = await startWorker(queue, over);
      const alreadyDone = await new Promise<boolean>((resolve) => worker.on("completed", ({ alreadyDone: done }) => resolve(done)));
      await worker.stop();
      return alreadyDone;
    };
    expect(await transcodeWith({})).toBe(false);
    expect((await inspectVodAsset(storage, "egress", prefix)).manifest.encryption).toBeUndefined();
    // The same recording again, now with encryption: not "already done", made again.
    expect(await transcodeWith({ hlsEncryption: { secret, rotationSegments: 1 } })).toBe(false);
    const asset = await inspectVodAsset(storage, "egress", prefix, { secret });
    expect(asset.manifest.encryption).toEqual({ method: "AES-128", rotationSegments: 1, keys: "keys/<period>.key" });
    for (const variant of asset.variants) {
      // One key per segment: periods 0 and 1 for the clip's two segments.
      expect(variant.keyPeriods).toEqual([0, 1]);
      expect(variant.totalSeconds).toBeGreaterThan(CLIP_SECONDS - 6);
    }
    // No key is stored with the asset, and without the secret the segments do not decode.
    expect(asset.layout.filter((k) => k.includes("key"))).toEqual([]);
    await expect(inspectVodAsset(storage, "egress", prefix)).rejects.toThrow(/does not decode/);
    // A third run with the same settings finds it done.
    expect(await transcodeWith({ hlsEncryption: { secret, rotationSegments: 1 } })).toBe(true);
  }, 240_000);

  test("an S3 ObjectCreated event works as a job (details from the object's metadata); cubemap re-projects the lower rungs", async () => {
    const queue = nextQueue();
    const { key } = await uploadRecording("sphere", "2026-11-24T12:00:00Z");
    const event = { Records: [{ eventName: "ObjectCreated:Put", s3: { bucket: { name: "ingest" }, object: { key: encodeURIComponent(key), size: 1 } } }] };
    await queue.send(JSON.stringify(event));
    const worker = await startWorker(queue, { projection: "cubemap" });
    const prefix = await new Promise<string>((resolve) => worker.on("completed", (e) => resolve(e.prefix)));
    await worker.stop();

    expect(prefix).toBe("vod/sphere/20261124T120000Z/");
    const asset = await inspectVodAsset(storage, "egress", prefix);
    expect(asset.master).toMatch(/RESOLUTION=640x320,[^\n]*X-PROJECTION="equirectangular"\nsource\/index.m3u8/);
    expect(asset.master).toMatch(/RESOLUTION=360x240,[^\n]*X-PROJECTION="cubemap"\n240p\/index.m3u8/);
    expect(asset.master).toMatch(/RESOLUTION=240x160,[^\n]*X-PROJECTION="cubemap"\n160p\/index.m3u8/);
    expect(asset.manifest.variants.map((v) => [v.name, v.projection, v.width, v.height])).toEqual([
      ["source", "equirectangular", 640, 320],
      ["240p", "cubemap", 360, 240],
      ["160p", "cubemap", 240, 160],
    ]);
    expect(asset.manifest.projection).toBe("equirectangular");
  }, 180_000);

  test("a transcode that hangs (FFmpeg stopped with SIGSTOP) is killed at the stall timeout; the job is retried and completes", async () => {
    const queue = nextQueue();
    const { key, recording } = await uploadRecording("hung", "2026-11-24T14:00:00Z");
    await queue.send(formatRecordingJob({ bucket: "ingest", key, recording }));
    const worker = await startWorker(queue, { transcodeStallTimeoutSeconds: 2, retryDelaySeconds: 0 });
    const completed = new Promise<string>((resolve) => worker.on("completed", ({ prefix }) => resolve(prefix)));
    // The transcoding FFmpeg is this process's child (ffprobe runs under its own name).
    const pid = await transcodingFfmpeg();
    process.kill(pid, "SIGSTOP");
    expect(await completed).toBe("vod/hung/20261124T140000Z/");
    await worker.stop();
    expect(() => process.kill(pid, 0)).toThrow();
    const metrics = await worker.metrics.registry.metrics();
    expect(metrics).toContain('live360_vod_jobs_total{result="failed"} 1');
    expect(metrics).toContain('live360_vod_jobs_total{result="completed"} 1');
    expect(metrics).toContain('live360_vod_transcodes_killed_total{reason="stall"} 1');
    expect(metrics).toContain('live360_vod_transcodes_killed_total{reason="deadline"} 0');
    expect(await queue.counts()).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
  }, 180_000);

  test("a transcode past its deadline is killed and counted; the message is released for a retry, not deleted", async () => {
    const queue = nextQueue();
    const { key, recording } = await uploadRecording("late", "2026-11-24T15:00:00Z");
    const { id } = await queue.send(formatRecordingJob({ bucket: "ingest", key, recording }));
    // max(1 s, 8 s × 0.01) = 1 s. The stall watchdog (an hour) cannot be what kills it, and the
    // transcode is stopped (SIGSTOP) so that it cannot beat even this deadline on a fast machine.
    // The retry delay keeps the released message away from this worker until it has stopped.
    const worker = await startWorker(queue, { transcodeDeadlineMinSeconds: 1, transcodeDeadlineFactor: 0.01, transcodeStallTimeoutSeconds: 3600, retryDelaySeconds: 10 });
    let pid: number;
    try {
      pid = await transcodingFfmpeg();
      process.kill(pid, "SIGSTOP");
      await waitFor("the job released", async () => worker.status().length === 0 && (await metricValue(worker, "live360_vod_jobs_total", 'result="failed"')) === 1, { timeoutMs: 60_000 });
    } finally {
      // Also when the deadline never fired: the stop kills the stopped FFmpeg.
      await worker.stop();
    }

    // Killed (SIGTERM then SIGKILL: a stopped process takes only the latter), not waited for.
    expect(() => process.kill(pid, 0)).toThrow();
    const metrics = await worker.metrics.registry.metrics();
    expect(metrics).toContain('live360_vod_transcodes_killed_total{reason="deadline"} 1');
    expect(metrics).toContain('live360_vod_transcodes_killed_total{reason="stall"} 0');
    expect(metrics).toContain('live360_vod_jobs_total{result="completed"} 0');
    expect(await listKeys(storage, "egress", "vod/late/")).toEqual([]);
    // Released, not deleted: after the retry delay it is there again, the same message, received a
    // second time (as a stalled job's is; after maxReceiveCount receives it goes to the dead-letter queue).
    expect(await queue.counts()).toMatchObject({ visible: 0 });
    const [again] = await waitFor("the message visible again", async () => {
      const messages = await queue.receive({ waitTimeSeconds: 1, visibilityTimeoutSeconds: 60 });
      return messages.length > 0 ? messages : undefined;
    }, { timeoutMs: 60_000 });
    expect(again).toMatchObject({ id, receiveCount: 2 });
  }, 180_000);

  test("stopped while uploading: the upload is abandoned, nothing is advertised, the message is visible again at once", async () => {
    const queue = nextQueue();
    const { key, recording } = await uploadRecording("halfway", "2026-11-24T13:00:00Z");
    await queue.send(formatRecordingJob({ bucket: "ingest", key, recording }));
    const stalled = new StalledUploads(storage.forCaller("vodWorker"));
    // A long visibility timeout and retry delay: only a release makes the message visible at once.
    const worker = await startWorker(queue, { visibilityTimeoutSeconds: 120, heartbeatSeconds: 30, retryDelaySeconds: 60 }, stalled);
    await waitFor("an upload under way", () => stalled.stalled, { timeoutMs: 120_000 });
    await worker.stop();

    expect(await queue.counts()).toEqual({ visible: 1, inFlight: 0, delayed: 0 });
    expect(await listKeys(storage, "egress", "vod/halfway/")).toEqual([]);
    const metrics = await worker.metrics.registry.metrics();
    expect(metrics).toContain('live360_vod_jobs_total{result="interrupted"} 1');
    expect(metrics).toContain('live360_vod_jobs_total{result="failed"} 0');
  }, 180_000);

  test("every S3 and SQS call the worker made above is a permission eks-infra grants its role (eks-infra/workload-calls.json)", async () => {
    expect(awsCalls.calls.length).toBeGreaterThan(0);
    expect(await unlistedPermissions("vodWorker", awsCalls.calls, { ingest: "ingest", egress: "egress" })).toEqual([]);
  });
});
