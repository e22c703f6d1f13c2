/**
 * S3 and SQS behind a TCP switch that freezes them (connections accepted, nothing ever
 * answered — a hung host or a black-holed route): every call ends with an error within its
 * timeouts instead of waiting forever, and works again once the host answers.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { QueueError, S3Storage, SqsQueue, StorageError, type ServiceTimeouts } from "@live360/core";
import { startS3Server, type S3Server } from "./s3-server.js";
import { startSqsServer, type SqsServer } from "./sqs-server.js";
import { startTcpSwitch, type TcpSwitch } from "./tcp-switch.js";

const TIMEOUTS: ServiceTimeouts = { connectMs: 1000, idleMs: 1500, attempts: 2 };
/** Two attempts of 1.5 s idle each, the SDK's backoff between them, and slack for a busy machine. */
const BOUND_MS = 8000;

async function readAll(storage: S3Storage, key: string): Promise<string> {
  const { body } = await storage.getStream("hung", key);
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}

/** Resolves with how long `call` took to fail, and its error. */
async function failureOf(call: () => Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const started = Date.now();
  try {
    await call();
  } catch (error) {
    return { ms: Date.now() - started, error };
  }
  throw new Error("the call succeeded against a frozen host");
}

describe("calls to a hung S3 or SQS end within their timeouts", () => {
  let s3: S3Server;
  let sqs: SqsServer;
  let s3Switch: TcpSwitch;
  let sqsSwitch: TcpSwitch;
  let storage: S3Storage;
  let queue: SqsQueue;

  beforeAll(async () => {
    [s3, sqs] = await Promise.all([startS3Server({ buckets: ["hung"] }), startSqsServer({ queues: [{ name: "hung" }] })]);
    const [s3Url, sqsUrl] = [new URL(s3.endpoint), new URL(sqs.endpoint)];
    s3Switch = await startTcpSwitch({ host: s3Url.hostname, port: Number(s3Url.port) });
    sqsSwitch = await startTcpSwitch({ host: sqsUrl.hostname, port: Number(sqsUrl.port) });
    storage = new S3Storage({ endpoint: s3Switch.url, region: s3.region, credentials: s3.credentials, timeouts: TIMEOUTS });
    // The queue URL names the switch too: the SDK may send to the queue URL's host.
    const queueUrl = sqs.queueUrls.hung!.replace(sqs.endpoint, sqsSwitch.url);
    queue = new SqsQueue({ queueUrl, endpoint: sqsSwitch.url, region: sqs.region, credentials: sqs.credentials, timeouts: TIMEOUTS });
    await storage.putBody("hung", "before", "made before the hang");
  }, 120_000);

  afterAll(async () => {
    await Promise.all([s3Switch?.close(), sqsSwitch?.close()]);
    await Promise.all([s3?.stop(), sqs?.stop()]);
  }, 60_000);

  test("S3: head, put and get fail with a StorageError within the bound; after the hang they work", async () => {
    s3Switch.freeze();
    try {
      for (const call of [() => storage.head("hung", "before"), () => storage.putBody("hung", "during", "x"), () => readAll(storage, "before")]) {
        const { ms, error } = await failureOf(call);
        expect(error).toBeInstanceOf(StorageError);
        expect(ms).toBeLessThan(BOUND_MS);
      }
    } finally {
      s3Switch.setUp(true);
    }
    expect(await readAll(storage, "before")).toBe("made before the hang");
  }, 60_000);

  test("SQS: send, a long poll and a heartbeat fail with a QueueError within the bound; after the hang they work", async () => {
    const { id } = await queue.send("job");
    const [message] = await queue.receive({ waitTimeSeconds: 1 });
    expect(message?.id).toBe(id);
    sqsSwitch.freeze();
    try {
      // A long poll asks for 20 s; the client waits at most its idle timeout less a second.
      for (const call of [() => queue.send("during"), () => queue.receive({ waitTimeSeconds: 20 }), () => queue.changeVisibility(message!.receiptHandle, 30)]) {
        const { ms, error } = await failureOf(call);
        expect(error).toBeInstanceOf(QueueError);
        expect(ms).toBeLessThan(BOUND_MS);
      }
    } finally {
      sqsSwitch.setUp(true);
    }
    await queue.changeVisibility(message!.receiptHandle, 0);
    const [again] = await queue.receive({ waitTimeSeconds: 1 });
    expect(again?.id).toBe(id);
    await queue.delete(again!.receiptHandle);
  }, 60_000);
});
