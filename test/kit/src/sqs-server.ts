import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MissingDependencyError } from "@live360/core";
import { freePort } from "./net.js";
import { startProcess, type ManagedProcess } from "./process.js";
import { INSTALL_HINT, requireInstalled, testServicePaths } from "./test-services.js";
import { waitFor } from "./wait.js";

/** A queue the server creates at start-up, optionally with a redrive policy to a dead-letter queue. */
export interface SqsQueueSpec {
  name: string;
  /** The queue's default visibility timeout; SQS's default is 30 s. */
  visibilityTimeoutSeconds?: number;
  /** Dead-letter queue (created too if not listed) and the receives after which messages move there. */
  deadLetter?: { name: string; maxReceiveCount: number };
}

/** A real SQS-compatible server: ElasticMQ (AWS JSON protocol) on a loopback port. */
export interface SqsServer {
  readonly endpoint: string;
  readonly region: string;
  /** ElasticMQ does not check signatures, but the SDK insists on signing with something. */
  readonly credentials: { accessKeyId: string; secretAccessKey: string };
  /** Queue name -> queue URL, for every queue including dead-letter queues. */
  readonly queueUrls: Readonly<Record<string, string>>;
  readonly process: ManagedProcess;
  /** Stops the server and removes its configuration. Safe to repeat. */
  stop(): Promise<void>;
}

export interface StartSqsServerOptions {
  queues: SqsQueueSpec[];
}

const REGION = "us-east-1";
const QUEUE_NAME = /^[A-Za-z0-9_-]{1,80}$/;
const PORT_ATTEMPTS = 3;
/** Start-up matters more than throughput for a test server: skip the optimising JIT, keep the heap small. */
const JVM_OPTIONS = ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xmx256m"];

export async function startSqsServer(options: StartSqsServerOptions): Promise<SqsServer> {
  const { elasticmqLib, elasticmqComplete } = await testServicePaths();
  await requireInstalled("ElasticMQ (the SQS server the tests use)", elasticmqComplete);
  if (spawnSync("java", ["-version"]).error) throw new MissingDependencyError(`java is needed to run ElasticMQ and was not found; ${INSTALL_HINT}`);
  const queues = withDeadLetterQueues(options.queues);
  const dir = await mkdtemp(join(tmpdir(), "live360-sqs-"));
  try {
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const endpoint = `http://127.0.0.1:${port}`;
      const config = join(dir, "elasticmq.conf");
      await writeFile(config, renderConfig(port, queues));
      const process = startProcess("java", [...JVM_OPTIONS, `-Dconfig.file=${config}`, "-cp", `${elasticmqLib}/*`, "org.elasticmq.server.Main"]);
      let exited = false;
      void process.exited.then(() => (exited = true));
      const state = await waitFor(
        `ElasticMQ on ${endpoint}`,
        async () => (exited ? "exited" : (await listQueues(endpoint).catch(() => undefined)) && "serving"),
        { timeoutMs: 60_000, intervalMs: 100 },
      ).catch((error: Error) => error);
      if (state !== "serving") {
        await process.stop(1_000);
        const output = process.output();
        if (attempt < PORT_ATTEMPTS && /address already in use|BindException/i.test(output)) continue;
        throw new Error(`ElasticMQ did not start on ${endpoint}: ${state === "exited" ? "it exited" : state.message}\n${output}`);
      }
      const queueUrls = await lookUpQueueUrls(endpoint, queues).catch(async (error: unknown) => {
        await process.stop(1_000);
        throw error;
      });
      return {
        endpoint,
        region: REGION,
        credentials: { accessKeyId: "test", secretAccessKey: "test" },
        queueUrls,
        process,
        async stop() {
          await process.stop(5_000);
          await rm(dir, { recursive: true, force: true });
        },
      };
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

function withDeadLetterQueues(queues: SqsQueueSpec[]): SqsQueueSpec[] {
  const all = new Map(queues.map((queue) => [queue.name, queue]));
  for (const queue of queues) {
    if (queue.deadLetter && !all.has(queue.deadLetter.name)) all.set(queue.deadLetter.name, { name: queue.deadLetter.name });
  }
  for (const name of all.keys()) {
    if (!QUEUE_NAME.test(name)) throw new Error(`queue name ${JSON.stringify(name)} must match ${QUEUE_NAME}`);
  }
  return [...all.values()];
}

/** ElasticMQ's HOCON configuration: REST SQS on `port` only (no stats UI), and the queues. */
function renderConfig(port: number, queues: SqsQueueSpec[]): string {
  const queueBlocks = queues.map((queue) => {
    const settings = [`defaultVisibilityTimeout = ${queue.visibilityTimeoutSeconds ?? 30} seconds`, "receiveMessageWait = 0 seconds"];
    if (queue.deadLetter) {
      settings.push(`deadLettersQueue { name = "${queue.deadLetter.name}", maxReceiveCount = ${queue.deadLetter.maxReceiveCount} }`);
    }
    return `  "${queue.name}" {\n${settings.map((line) => `    ${line}`).join("\n")}\n  }`;
  });
  return [
    'include classpath("application.conf")',
    `node-address { protocol = http, host = "127.0.0.1", port = ${port}, context-path = "" }`,
    `rest-sqs { enabled = true, bind-port = ${port}, bind-hostname = "127.0.0.1", sqs-limits = strict }`,
    "rest-stats { enabled = false }",
    "generate-node-address = false",
    `aws { region = ${REGION}, accountId = "000000000000" }`,
    "queues {",
    ...queueBlocks,
    "}",
    "",
  ].join("\n");
}

async function lookUpQueueUrls(endpoint: string, queues: SqsQueueSpec[]): Promise<Record<string, string>> {
  const urls = await listQueues(endpoint);
  const queueUrls: Record<string, string> = {};
  for (const queue of queues) {
    const url = urls.find((candidate) => candidate.endsWith(`/${queue.name}`));
    if (url === undefined) throw new Error(`ElasticMQ did not create queue ${queue.name}; it has ${urls.join(", ")}`);
    queueUrls[queue.name] = url;
  }
  return queueUrls;
}

/** ListQueues over the AWS JSON protocol; ElasticMQ accepts it unsigned. */
async function listQueues(endpoint: string): Promise<string[]> {
  const response = await fetch(endpoint, {
    method: "POST",
    headers: { "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AmazonSQS.ListQueues" },
    body: "{}",
  });
  if (!response.ok) throw new Error(`ListQueues: HTTP ${response.status}`);
  return ((await response.json()) as { QueueUrls?: string[] }).QueueUrls ?? [];
}
