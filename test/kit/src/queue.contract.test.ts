import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileQueue, ReceiptHandleInvalidError, SqsQueue, sleep, type JobQueue, type QueueMessage } from "@live360/core";
import { startSqsServer, type SqsQueueSpec } from "./sqs-server.js";
import { waitFor } from "./wait.js";

/**
 * One contract, two implementations: the VOD worker's guarantees (heartbeats, re-delivery after a
 * crash, dead-lettering of poison messages) hold on SQS and on local mode's file queue alike.
 */
const MAX_RECEIVE_COUNT = 3;
const VISIBILITY_SECONDS = 30;

interface QueuePair {
  queue: JobQueue;
  deadLetter: JobQueue;
}

interface Subject {
  name: string;
  /** FileQueue keeps the failure reason with a dead-lettered message; SQS has nowhere to put it. */
  keepsDeadLetterReasons: boolean;
  /** Returns a factory of fresh, empty queue pairs, so tests cannot disturb each other. */
  start(): Promise<{ fresh(): QueuePair; stop(): Promise<void> }>;
}

/** More than the number of tests below; each test takes a fresh pair. */
const QUEUE_PAIRS = 12;

const subjects: Subject[] = [
  {
    name: "SqsQueue on ElasticMQ",
    keepsDeadLetterReasons: false,
    async start() {
      const specs: SqsQueueSpec[] = Array.from({ length: QUEUE_PAIRS }, (_, i) => ({
        name: `jobs-${i}`,
        visibilityTimeoutSeconds: VISIBILITY_SECONDS,
        deadLetter: { name: `jobs-${i}-dlq`, maxReceiveCount: MAX_RECEIVE_COUNT },
      }));
      const server = await startSqsServer({ queues: specs });
      const open = (name: string): SqsQueue =>
        new SqsQueue({ queueUrl: server.queueUrls[name]!, endpoint: server.endpoint, region: server.region, credentials: server.credentials });
      let next = 0;
      return {
        fresh() {
          const i = next++;
          return { queue: open(`jobs-${i}`), deadLetter: open(`jobs-${i}-dlq`) };
        },
        stop: () => server.stop(),
      };
    },
  },
  {
    name: "FileQueue",
    keepsDeadLetterReasons: true,
    async start() {
      const root = await mkdtemp(join(tmpdir(), "live360-file-queue-"));
      const pairs: QueuePair[] = [];
      for (let i = 0; i < QUEUE_PAIRS; i++) {
        const deadLetterDir = join(root, `jobs-${i}-dlq`);
        pairs.push({
          queue: await FileQueue.open({
            dir: join(root, `jobs-${i}`),
            visibilityTimeoutSeconds: VISIBILITY_SECONDS,
            deadLetter: { dir: deadLetterDir, maxReceiveCount: MAX_RECEIVE_COUNT },
          }),
          deadLetter: await FileQueue.open({ dir: deadLetterDir }),
        });
      }
      let next = 0;
      return { fresh: () => pairs[next++]!, stop: () => rm(root, { recursive: true, force: true }) };
    },
  },
];

async function receiveOne(queue: JobQueue, options: { visibilityTimeoutSeconds?: number } = {}): Promise<QueueMessage> {
  const [message] = await queue.receive({ waitTimeSeconds: 5, ...options });
  if (message === undefined) throw new Error(`no message on ${queue.name}`);
  return message;
}

describe.each(subjects)("JobQueue contract: $name", (subject) => {
  let fresh: () => QueuePair;
  let stop: () => Promise<void>;

  beforeAll(async () => {
    ({ fresh, stop } = await subject.start());
  });

  afterAll(async () => {
    await stop?.();
  });

  test("a received message carries its body and receive count, and is hidden while in flight", async () => {
    const { queue } = fresh();
    const { id } = await queue.send('{"hello":"world"}');
    const message = await receiveOne(queue);
    expect(message).toMatchObject({ id, body: '{"hello":"world"}', receiveCount: 1 });
    expect(Math.abs(message.sentAt.getTime() - Date.now())).toBeLessThan(60_000);
    expect(await queue.receive()).toEqual([]);
    expect(await queue.counts()).toEqual({ visible: 0, inFlight: 1, delayed: 0 });
  });

  test("when the visibility timeout runs out the message is delivered again, and the old receipt is void", async () => {
    const { queue } = fresh();
    await queue.send("job");
    const first = await receiveOne(queue, { visibilityTimeoutSeconds: 1 });
    expect(await queue.receive()).toEqual([]);
    const second = await waitFor("re-delivery", async () => (await queue.receive())[0], { timeoutMs: 30_000, intervalMs: 200 });
    expect(second).toMatchObject({ id: first.id, body: "job", receiveCount: 2 });
    expect(second.receiptHandle).not.toBe(first.receiptHandle);
    // A worker that lost its message (it was too slow) can neither heartbeat nor delete it.
    await expect(queue.changeVisibility(first.receiptHandle, 60)).rejects.toBeInstanceOf(ReceiptHandleInvalidError);
    await expect(queue.delete(first.receiptHandle)).rejects.toBeInstanceOf(ReceiptHandleInvalidError);
    await queue.delete(second.receiptHandle);
  });

  test("a heartbeat keeps the message hidden past its original timeout; visibility 0 returns it at once", async () => {
    const { queue } = fresh();
    await queue.send("long transcode");
    const message = await receiveOne(queue, { visibilityTimeoutSeconds: 2 });
    await queue.changeVisibility(message.receiptHandle, 60);
    await sleep(3_000); // past the original 2 s
    expect(await queue.receive()).toEqual([]);
    expect(await queue.counts()).toMatchObject({ visible: 0, inFlight: 1 });
    // SIGTERM on a Spot interruption: hand the job back so another worker starts now, not in 60 s.
    await queue.changeVisibility(message.receiptHandle, 0);
    expect(await receiveOne(queue)).toMatchObject({ id: message.id, receiveCount: 2 });
  });

  test("delete removes the message for good; deleting twice is refused", async () => {
    const { queue } = fresh();
    await queue.send("done soon");
    const message = await receiveOne(queue);
    await queue.delete(message.receiptHandle);
    expect(await queue.counts()).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    expect(await queue.receive({ waitTimeSeconds: 1 })).toEqual([]);
    await expect(queue.delete(message.receiptHandle)).rejects.toBeInstanceOf(ReceiptHandleInvalidError);
  });

  test(`after ${MAX_RECEIVE_COUNT} failed receives the message moves to the dead-letter queue, intact`, async () => {
    const { queue, deadLetter } = fresh();
    const { id } = await queue.send("not a video");
    for (let attempt = 1; attempt <= MAX_RECEIVE_COUNT; attempt++) {
      const message = await receiveOne(queue);
      expect(message.receiveCount).toBe(attempt);
      await queue.release(message.receiptHandle, { reason: `corrupt MP4 (attempt ${attempt})` });
    }
    expect(await queue.receive({ waitTimeSeconds: 1 })).toEqual([]);
    const dead = await receiveOne(deadLetter);
    expect(dead).toMatchObject({ id, body: "not a video" });
    if (subject.keepsDeadLetterReasons) {
      expect(dead.deadLetterReason).toBe(`received ${MAX_RECEIVE_COUNT} times (maxReceiveCount ${MAX_RECEIVE_COUNT}); last failure: corrupt MP4 (attempt 3)`);
    }
    expect(await queue.counts()).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
  });

  test("a long poll returns as soon as a message arrives", async () => {
    const { queue } = fresh();
    const started = Date.now();
    const polling = queue.receive({ waitTimeSeconds: 20 });
    await sleep(1_000);
    await queue.send("arrived mid-poll");
    const [message] = await polling;
    expect(message?.body).toBe("arrived mid-poll");
    // It returned with the message, not at the end of its 20 s wait.
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  test("an empty long poll waits its full time; aborting it returns at once", async () => {
    const { queue } = fresh();
    let started = Date.now();
    expect(await queue.receive({ waitTimeSeconds: 2 })).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);

    const controller = new AbortController();
    started = Date.now();
    const polling = queue.receive({ waitTimeSeconds: 20, signal: controller.signal });
    setTimeout(() => controller.abort(), 500);
    expect(await polling).toEqual([]);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  test("a delayed message is counted as delayed and delivered once its delay passes", async () => {
    const { queue } = fresh();
    await queue.send("later", { delaySeconds: 2 });
    expect(await queue.counts()).toEqual({ visible: 0, inFlight: 0, delayed: 1 });
    expect(await queue.receive()).toEqual([]);
    const message = await waitFor("delayed delivery", async () => (await queue.receive())[0], { timeoutMs: 30_000, intervalMs: 200 });
    expect(message.body).toBe("later");
  });

  test("several messages can be received in one call, each exactly once", async () => {
    const { queue } = fresh();
    const sent = new Set<string>();
    for (let i = 0; i < 5; i++) sent.add((await queue.send(`job ${i}`)).id);
    const received: QueueMessage[] = [];
    for (let poll = 0; poll < 5 && received.length < 5; poll++) received.push(...(await queue.receive({ maxMessages: 10, waitTimeSeconds: 2 })));
    expect(new Set(received.map((message) => message.id))).toEqual(sent);
    expect(received).toHaveLength(5);
    expect(await queue.counts()).toEqual({ visible: 0, inFlight: 5, delayed: 0 });
  });
});
