/**
 * A real worker whose SQS or S3 goes black (a TCP switch in front of ElasticMQ or versitygw
 * accepts connections and answers nothing, as a hung host or a dropped route does) and comes
 * back: heartbeats, job polls and uploads fail within the clients' timeouts while it is frozen
 * and recover when it answers again, and every job still ends exactly once.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { S3Storage, SqsQueue, type ServiceTimeouts } from "@live360/core";
import {
  inspectVodAsset,
  listKeys,
  makeTestClip,
  startS3Server,
  startSqsServer,
  startTcpSwitch,
  tempDir,
  waitFor,
  type S3Server,
  type SqsServer,
  type TcpSwitch,
} from "@live360/testkit";
import { CLIP_SECONDS, UploadOrder, metricValue, startTestWorker, transcodingFfmpeg, uploadRecording } from "./vod-worker.fixture.js";
import type { VodWorker } from "./worker.js";

/**
 * The worker's clients (production: 5 s connect, 30 s idle, 3 attempts), short so that a frozen
 * call fails within seconds: two attempts of 3 s idle each. A long poll then waits at most 2 s.
 */
const TIMEOUTS: ServiceTimeouts = { connectMs: 1000, idleMs: 3000, attempts: 2 };
/**
 * Long enough that the message cannot come back while SQS is frozen: a heartbeat cannot extend it
 * then, and a message that reappeared would be received a second time (by this worker once the
 * poll recovers), which is the duplicate the test must not see for a reason of its own making. The
 * freeze lasts until a heartbeat has failed (two attempts × 3 s idle) and recovery a beat or two;
 * 60 s is the worker's default and several times that. The heartbeat is 1 s so that failures and
 * recovery show within seconds.
 */
const VISIBILITY_SECONDS = 60;
const HEARTBEAT_SECONDS = 1;

function switchFor(endpoint: string): Promise<TcpSwitch> {
  const url = new URL(endpoint);
  return startTcpSwitch({ host: url.hostname, port: Number(url.port) });
}

describe("VOD worker through a black-holed SQS or S3", () => {
  let s3: S3Server;
  let sqs: SqsServer;
  let storage: S3Storage;
  let clip: string;
  const switches: TcpSwitch[] = [];

  beforeAll(async () => {
    [s3, sqs] = await Promise.all([
      startS3Server({ buckets: ["ingest", "egress"] }),
      startSqsServer({ queues: ["sqs-frozen", "sqs-frozen-at-delete", "s3-frozen"].map((name) => ({ name, deadLetter: { name: `${name}-dead`, maxReceiveCount: 3 } })) }),
    ]);
    storage = new S3Storage({ endpoint: s3.endpoint, region: s3.region, credentials: s3.credentials });
    clip = await makeTestClip(await tempDir("vod-recovery"), { seconds: CLIP_SECONDS, container: "mp4" });
  }, 120_000);

  afterAll(async () => {
    await Promise.all(switches.map((s) => s.close()));
    await Promise.all([s3?.stop(), sqs?.stop()]);
  }, 60_000);

  /** The test's own client, straight to ElasticMQ, and the worker's, through `via` when given. */
  function queues(name: string, via?: TcpSwitch): { direct: SqsQueue; worker: SqsQueue } {
    const queueUrl = sqs.queueUrls[name]!;
    const direct = new SqsQueue({ queueUrl, endpoint: sqs.endpoint, region: sqs.region, credentials: sqs.credentials });
    if (!via) return { direct, worker: new SqsQueue({ queueUrl, endpoint: sqs.endpoint, region: sqs.region, credentials: sqs.credentials, timeouts: TIMEOUTS }) };
    // The queue URL names the switch too: the SDK may send to the queue URL's host.
    const viaUrl = queueUrl.replace(sqs.endpoint, via.url);
    return { direct, worker: new SqsQueue({ queueUrl: viaUrl, endpoint: via.url, region: sqs.region, credentials: sqs.credentials, timeouts: TIMEOUTS }) };
  }

  /** Every `completed` event of the worker, in order. */
  function completions(worker: VodWorker): { prefix: string; alreadyDone: boolean; at: number }[] {
    const seen: { prefix: string; alreadyDone: boolean; at: number }[] = [];
    worker.on("completed", ({ prefix, alreadyDone }) => seen.push({ prefix, alreadyDone, at: Date.now() }));
    return seen;
  }

  const heartbeats = (worker: VodWorker, result: "ok" | "failed" | "lost"): Promise<number> => metricValue(worker, "live360_vod_heartbeats_total", `result="${result}"`);
  const receiveFailures = (worker: VodWorker): Promise<number> => metricValue(worker, "live360_vod_receive_failures_total");
  const jobs = (worker: VodWorker, result: string): Promise<number> => metricValue(worker, "live360_vod_jobs_total", `result="${result}"`);
  const transcodes = (worker: VodWorker): Promise<number> => metricValue(worker, "live360_vod_phase_seconds_count", 'phase="transcode"');
  const retries = (worker: VodWorker, call: "upload" | "delete"): Promise<number> => metricValue(worker, "live360_vod_call_retries_total", `call="${call}"`);

  test("SQS frozen while one job transcodes and the other poll loop waits: heartbeats and polls fail, then recover; the job ends once, a job sent afterwards is taken", async () => {
    const sqsSwitch = await switchFor(sqs.endpoint);
    switches.push(sqsSwitch);
    const queue = queues("sqs-frozen", sqsSwitch);
    const first = await uploadRecording(storage, clip, "frozen-sqs", "2026-11-25T10:00:00Z");
    await queue.direct.send(first.job);
    const uploads = new UploadOrder(storage);
    // Two loops: one works on the job, the other long-polls idle, so one freeze hits both.
    const worker = await startTestWorker(queue.worker, uploads, {
      concurrency: 2,
      visibilityTimeoutSeconds: VISIBILITY_SECONDS,
      heartbeatSeconds: HEARTBEAT_SECONDS,
      // Only the test decides when the stopped FFmpeg goes on.
      transcodeStallTimeoutSeconds: 600,
    });
    const done = completions(worker);
    try {
      // Held in its transcode (SIGSTOP) for as long as the test needs, however fast the machine.
      const ffmpeg = await transcodingFfmpeg();
      process.kill(ffmpeg, "SIGSTOP");
      await waitFor("a heartbeat that worked", async () => (await heartbeats(worker, "ok")) >= 1, { timeoutMs: 30_000 });

      const okBeforeFreeze = await heartbeats(worker, "ok");
      const receiveFailuresBefore = await receiveFailures(worker);
      sqsSwitch.freeze();
      const frozenAt = Date.now();
      let okAtUnfreeze: number;
      try {
        // A call fails only after both attempts' idle timeouts: the freeze outlasts the idle timeout.
        await waitFor("a failed heartbeat and a failed poll", async () => (await heartbeats(worker, "failed")) >= 1 && (await receiveFailures(worker)) > receiveFailuresBefore, {
          timeoutMs: 45_000,
          intervalMs: 200,
        });
        expect(worker.status()).toEqual([expect.objectContaining({ phase: "transcoding", receiveCount: 1 })]);
      } finally {
        okAtUnfreeze = await heartbeats(worker, "ok");
        sqsSwitch.setUp(true);
      }
      const unfrozenAt = Date.now();
      // At most the one heartbeat whose answer was already on its way at the freeze got through.
      expect(okAtUnfreeze - okBeforeFreeze).toBeLessThanOrEqual(1);
      await waitFor("a heartbeat that worked after the freeze", async () => (await heartbeats(worker, "ok")) > okAtUnfreeze, { timeoutMs: 30_000, intervalMs: 100 });
      const heartbeatBackMs = Date.now() - unfrozenAt;

      // The poll that failed works again: a job sent now, while the first is still held in its
      // transcode, can only be taken by the loop that was polling through the freeze.
      const second = await uploadRecording(storage, clip, "after-freeze", "2026-11-25T11:00:00Z");
      const sentAt = Date.now();
      await queue.direct.send(second.job);
      await waitFor("the second job taken", () => worker.status().some((job) => job.source.endsWith(second.key)), { timeoutMs: 45_000, intervalMs: 50 });
      const pickupMs = Date.now() - sentAt;
      const pickupAfterUnfreezeMs = Date.now() - unfrozenAt;
      expect(done).toEqual([]);

      process.kill(ffmpeg, "SIGCONT");
      await waitFor("both jobs done", () => done.length >= 2, { timeoutMs: 90_000 });
      console.log(
        `SQS frozen ${((unfrozenAt - frozenAt) / 1000).toFixed(1)} s; after it: heartbeat ok in ${heartbeatBackMs} ms, ` +
          `a job sent after the heartbeat taken by the loop that polled through the freeze ${pickupMs} ms after its send ` +
          `(${(pickupAfterUnfreezeMs / 1000).toFixed(1)} s after the unfreeze); both jobs done ${((done[1]!.at - unfrozenAt) / 1000).toFixed(1)} s after it`,
      );
    } finally {
      await worker.stop();
    }

    // Each job ended once, as a transcode of its own: nothing was received twice.
    expect(done.map(({ prefix, alreadyDone }) => ({ prefix, alreadyDone })).sort((a, b) => a.prefix.localeCompare(b.prefix))).toEqual([
      { prefix: "vod/after-freeze/20261125T110000Z/", alreadyDone: false },
      { prefix: "vod/frozen-sqs/20261125T100000Z/", alreadyDone: false },
    ]);
    expect(await jobs(worker, "completed")).toBe(2);
    for (const result of ["failed", "already-done", "interrupted", "rejected"]) expect(await jobs(worker, result)).toBe(0);
    expect(await transcodes(worker)).toBe(2);
    expect(await heartbeats(worker, "lost")).toBe(0);
    expect(uploads.completed.filter((key) => key.endsWith("/master.m3u8")).sort()).toEqual([
      "vod/after-freeze/20261125T110000Z/master.m3u8",
      "vod/frozen-sqs/20261125T100000Z/master.m3u8",
    ]);
    const asset = await inspectVodAsset(storage, "egress", "vod/frozen-sqs/20261125T100000Z/");
    for (const variant of asset.variants) expect(variant.ended).toBe(true);
    expect(await queue.direct.counts()).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    expect(await queues("sqs-frozen-dead").direct.counts()).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
  }, 180_000);

  test("SQS frozen as the job finishes: the asset is uploaded, the delete is retried until SQS answers; the message is deleted once, the job not run again", async () => {
    const sqsSwitch = await switchFor(sqs.endpoint);
    switches.push(sqsSwitch);
    const queue = queues("sqs-frozen-at-delete", sqsSwitch);
    const job = await uploadRecording(storage, clip, "frozen-at-delete", "2026-11-25T13:00:00Z");
    await queue.direct.send(job.job);
    const uploads = new UploadOrder(storage);
    const worker = await startTestWorker(queue.worker, uploads, { visibilityTimeoutSeconds: VISIBILITY_SECONDS, heartbeatSeconds: HEARTBEAT_SECONDS, transcodeStallTimeoutSeconds: 600 });
    const done = completions(worker);
    const prefix = "vod/frozen-at-delete/20261125T130000Z/";
    let frozenAt = 0;
    let unfrozenAt = 0;
    try {
      // SQS goes black before FFmpeg may finish, so the delete that follows the upload meets it.
      const ffmpeg = await transcodingFfmpeg();
      process.kill(ffmpeg, "SIGSTOP");
      sqsSwitch.freeze();
      frozenAt = Date.now();
      try {
        process.kill(ffmpeg, "SIGCONT");
        await waitFor("the asset uploaded and its delete retried", async () => uploads.completed.includes(`${prefix}master.m3u8`) && (await retries(worker, "delete")) >= 1, {
          timeoutMs: 60_000,
          intervalMs: 100,
        });
        // Not deleted, not given back: still hidden, and the worker still on it.
        expect(done).toEqual([]);
        expect(await queue.direct.counts()).toEqual({ visible: 0, inFlight: 1, delayed: 0 });
      } finally {
        sqsSwitch.setUp(true);
        unfrozenAt = Date.now();
      }
      await waitFor("the job done", () => done.length >= 1, { timeoutMs: 90_000 });
      console.log(`SQS frozen ${((unfrozenAt - frozenAt) / 1000).toFixed(1)} s at the delete; message deleted ${((done[0]!.at - unfrozenAt) / 1000).toFixed(1)} s after the unfreeze`);
    } finally {
      await worker.stop();
    }

    expect(done.map(({ prefix, alreadyDone }) => ({ prefix, alreadyDone }))).toEqual([{ prefix, alreadyDone: false }]);
    expect(await jobs(worker, "completed")).toBe(1);
    for (const result of ["failed", "already-done", "interrupted"]) expect(await jobs(worker, result)).toBe(0);
    expect(await transcodes(worker)).toBe(1);
    expect(uploads.completed.filter((key) => key.endsWith("/master.m3u8"))).toEqual([`${prefix}master.m3u8`]);
    expect(await queue.direct.counts()).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
  }, 180_000);

  test("S3 frozen while the asset uploads: the uploads fail, then go through when S3 answers again; one transcode, master last, message deleted", async () => {
    const s3Switch = await switchFor(s3.endpoint);
    switches.push(s3Switch);
    const queue = queues("s3-frozen");
    const job = await uploadRecording(storage, clip, "frozen-s3", "2026-11-25T12:00:00Z");
    await queue.direct.send(job.job);
    const uploads = new UploadOrder(new S3Storage({ endpoint: s3Switch.url, region: s3.region, credentials: s3.credentials, timeouts: TIMEOUTS }));
    const worker = await startTestWorker(queue.worker, uploads, { visibilityTimeoutSeconds: VISIBILITY_SECONDS, heartbeatSeconds: HEARTBEAT_SECONDS, transcodeStallTimeoutSeconds: 600 });
    const done = completions(worker);
    let frozenAt = 0;
    let unfrozenAt = 0;
    try {
      // The download is over once FFmpeg runs; S3 goes black before FFmpeg may finish, so the
      // upload that follows meets a frozen S3.
      const ffmpeg = await transcodingFfmpeg();
      process.kill(ffmpeg, "SIGSTOP");
      s3Switch.freeze();
      frozenAt = Date.now();
      try {
        process.kill(ffmpeg, "SIGCONT");
        await waitFor("an upload that failed", () => uploads.failed.length > 0, { timeoutMs: 60_000, intervalMs: 100 });
      } finally {
        s3Switch.setUp(true);
        unfrozenAt = Date.now();
      }
      await waitFor("the job done", () => done.length >= 1, { timeoutMs: 90_000 });
      console.log(
        `S3 frozen ${((unfrozenAt - frozenAt) / 1000).toFixed(1)} s during the upload (${uploads.failed.length} uploads failed); ` +
          `asset complete ${((done[0]!.at - unfrozenAt) / 1000).toFixed(1)} s after the unfreeze`,
      );
    } finally {
      await worker.stop();
    }

    expect(done.map(({ prefix, alreadyDone }) => ({ prefix, alreadyDone }))).toEqual([{ prefix: "vod/frozen-s3/20261125T120000Z/", alreadyDone: false }]);
    // The transcode was not redone: the upload recovered within the job.
    expect(await transcodes(worker)).toBe(1);
    expect(await jobs(worker, "completed")).toBe(1);
    expect(await jobs(worker, "failed")).toBe(0);
    expect(await retries(worker, "upload")).toBeGreaterThanOrEqual(1);
    const prefix = "vod/frozen-s3/20261125T120000Z/";
    const asset = await inspectVodAsset(storage, "egress", prefix);
    for (const variant of asset.variants) expect(variant.ended).toBe(true);
    // Every object once, and the master playlist last, after every upload retried.
    const uploaded = uploads.completed.map((key) => key.slice(prefix.length));
    expect([...uploaded].sort()).toEqual(asset.layout);
    expect(uploaded.at(-1)).toBe("master.m3u8");
    expect(await listKeys(storage, "egress", prefix)).toEqual(asset.layout.map((k) => `${prefix}${k}`));
    expect(await queue.direct.counts()).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
  }, 180_000);
});
