import { afterEach, beforeEach, describe, expect, test } from "@jest/globals";
import { spawn } from "node:child_process";
import { mkdtemp, readdir, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sleep } from "../backoff.js";
import { FileQueue, MAX_MESSAGE_BYTES } from "./file-queue.js";
import { QueueArgumentError } from "./queue.js";

// The behaviour shared with SQS is covered by the contract suite in test/kit (queue.contract.test.ts);
// these are the properties a file-backed queue must add: several processes, crashes, durability.

const moduleUrl = new URL("./file-queue.js", import.meta.url).href;

/**
 * Runs `script` in a separate Node process with `FileQueue` imported and `dir` defined.
 * `started` resolves once the script prints "ready" or "received".
 */
function runConsumer(dir: string, script: string): { output: Promise<string>; kill(): void; started: Promise<void> } {
  const child = spawn(process.execPath, ["--input-type=module", "-e", `import { FileQueue } from ${JSON.stringify(moduleUrl)};\nconst dir = ${JSON.stringify(dir)};\n${script}`], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let stdout = "";
  let markStarted: () => void = () => undefined;
  const started = new Promise<void>((resolve) => (markStarted = resolve));
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
    if (/ready|received/.test(stdout)) markStarted();
  });
  const output = new Promise<string>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => (code === 0 || signal === "SIGKILL" ? resolve(stdout) : reject(new Error(`consumer exited ${code ?? signal}`))));
  });
  return { output, started, kill: () => child.kill("SIGKILL") };
}

describe("FileQueue on disk", () => {
  let root: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "live360-fq-"));
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test("four processes draining one queue receive every message exactly once", async () => {
    const dir = join(root, "jobs");
    const queue = await FileQueue.open({ dir });
    const sent = new Set<string>();
    for (let i = 0; i < 200; i++) sent.add((await queue.send(`job ${i}`)).id);
    // All four start draining together (after a "go" file appears), so their claims really race.
    const go = join(root, "go");
    const drain = `
      const { existsSync } = await import("node:fs");
      const queue = await FileQueue.open({ dir, visibilityTimeoutSeconds: 600 });
      process.stdout.write("ready\\n");
      while (!existsSync(${JSON.stringify(go)})) await new Promise((resolve) => setTimeout(resolve, 5));
      const ids = [];
      for (let empty = 0; empty < 3; ) {
        const batch = await queue.receive({ maxMessages: 3 });
        if (batch.length === 0) { empty++; continue; }
        empty = 0;
        ids.push(...batch.map((m) => m.id));
      }
      process.stdout.write(JSON.stringify(ids));`;
    const consumers = [1, 2, 3, 4].map(() => runConsumer(dir, drain));
    await Promise.all(consumers.map((consumer) => consumer.started));
    await writeFile(go, "");
    const outputs = await Promise.all(consumers.map((consumer) => consumer.output));
    const perConsumer = outputs.map((output) => JSON.parse(output.replace(/^ready\n/, "")) as string[]);
    const received = perConsumer.flat();
    expect(received).toHaveLength(sent.size);
    expect(new Set(received)).toEqual(sent);
    expect(await queue.counts()).toEqual({ visible: 0, inFlight: 200, delayed: 0 });
  });

  test("a consumer killed with SIGKILL loses nothing: its message returns after the visibility timeout", async () => {
    const dir = join(root, "jobs");
    const { id } = await (await FileQueue.open({ dir })).send("transcode me");
    const consumer = runConsumer(
      dir,
      `const queue = await FileQueue.open({ dir });
       const [m] = await queue.receive({ visibilityTimeoutSeconds: 2 });
       process.stdout.write("received " + m.id);
       setInterval(() => {}, 1000);`,
    );
    await consumer.started;
    consumer.kill();
    expect(await consumer.output).toBe(`received ${id}`);
    // A new process (a fresh FileQueue over the same directory) sees the message come back.
    const queue = await FileQueue.open({ dir });
    expect(await queue.receive()).toEqual([]);
    const [again] = await queue.receive({ waitTimeSeconds: 20 });
    expect(again).toMatchObject({ id, body: "transcode me", receiveCount: 2 });
  });

  test("leftovers of an interrupted write are swept on open and never delivered", async () => {
    const dir = join(root, "jobs");
    const queue = await FileQueue.open({ dir });
    await queue.send("real");
    const leftover = join(dir, "messages", ".0000000000000-0000000000000000.0.0.0.abc.partial");
    await writeFile(leftover, "torn");
    const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
    await utimes(leftover, twoHoursAgo, twoHoursAgo);
    await writeFile(join(dir, "messages", "not-a-message.txt"), "ignored");
    expect(await queue.counts()).toEqual({ visible: 1, inFlight: 0, delayed: 0 });
    await FileQueue.open({ dir });
    expect((await readdir(join(dir, "messages"))).filter((name) => name.endsWith(".partial"))).toEqual([]);
    const [message] = await queue.receive({ maxMessages: 10 });
    expect(message?.body).toBe("real");
  });

  test("what SQS would refuse is refused here too", async () => {
    const queue = await FileQueue.open({ dir: join(root, "jobs") });
    await expect(queue.send("x".repeat(MAX_MESSAGE_BYTES + 1))).rejects.toBeInstanceOf(QueueArgumentError);
    await expect(queue.receive({ waitTimeSeconds: 21 })).rejects.toThrow(/waitTimeSeconds must be a whole number from 0 to 20/);
    await expect(queue.receive({ maxMessages: 11 })).rejects.toBeInstanceOf(QueueArgumentError);
    await expect(FileQueue.open({ dir: join(root, "x"), deadLetter: { dir: join(root, "dlq"), maxReceiveCount: 0 } })).rejects.toThrow(
      /maxReceiveCount must be a whole number from 1 to 1000/,
    );
  });

  test("a released message returns after its retry delay, and the earlier receipt is void", async () => {
    const dir = join(root, "jobs");
    const queue = await FileQueue.open({ dir });
    await queue.send("job");
    const [first] = await queue.receive();
    await queue.release(first!.receiptHandle, { reason: "ffmpeg exited 1", retryAfterSeconds: 1 });
    expect(await queue.counts()).toMatchObject({ inFlight: 1 });
    await sleep(1_100);
    const [second] = await queue.receive({ waitTimeSeconds: 5 });
    expect(second?.receiveCount).toBe(2);
    await expect(queue.changeVisibility(first!.receiptHandle, 30)).rejects.toThrow(/received again/);
  });
});
