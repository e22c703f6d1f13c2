/**
 * `make bench-vod`: the live-to-VOD benchmark of issue 3, on real versitygw (S3) and ElasticMQ
 * (SQS) with `live360 origin` and `live360 vod-worker` as processes, default settings.
 *
 * 1. Floor: the VOD worker's own FFmpeg command (same plan, ladder and preset) run directly on
 *    the input file: what the transcode alone takes, with nothing around it.
 * 2. Pipeline: the input is published in real time over RTMP; measured from the publisher's
 *    last packet to the master playlist appearing in the egress bucket (HEAD every 100 ms), with
 *    the steps in between from the processes' JSON logs, and the worker's CPU (its process tree,
 *    from /proc) per media second.
 * 3. Crash: the same recording, announced as an S3 ObjectCreated event (the reference
 *    architecture's wiring), goes to a worker that is SIGKILLed (with its FFmpeg, as a Spot
 *    reclaim ends a container) half-way through the transcode, while a second worker waits;
 *    measured from the kill to the second worker's receive and to the master playlist.
 *
 * The reference architecture (7200 s visibility timeout, no heartbeat, ApproximateNumberOfMessages
 * polled every 5 s before a plain receive) is computed from those settings: its crash delay is
 * hours, which is the finding, not something worth waiting for.
 *
 * Env: BENCH_SECONDS (default 60, at least 10) shortens a smoke run; BENCH_KEEP=1 keeps the work directory.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { ObjectNotFoundError, S3Storage, SqsQueue, probe, resolveBinary, sleep, type ResolvedBinary } from "@live360/core";
import {
  DEFAULT_VOD_WORKER_CONFIG,
  buildVodArgs,
  planRenditions,
  posterPlan,
  resolveVodWorkerConfig,
  type RunningJobStatus,
  type VodPlan,
  type VodSource,
  type VodWorkerConfig,
} from "@live360/vod-worker";
import { freePort, getText, startS3Server, startSqsServer, tempDir, waitFor, type S3Server, type SqsServer } from "@live360/testkit";
import { benchInputSpec, ensureBenchInput, type BenchInput } from "./input.js";
import { ProcessTreeSampler } from "./proc-tree.js";
import { Publisher } from "./publisher.js";
import { log } from "./run.js";

const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const RESULTS_DIR = path.join(BENCH_DIR, "results");
const CACHE_DIR = path.join(BENCH_DIR, ".cache");
const LIVE360_CLI = path.resolve(BENCH_DIR, "../packages/cli/dist/main.js");
const STREAM = "bench";

/** The AWS reference architecture's VOD worker settings (../shared/reference-architecture.md). */
const REFERENCE = { visibilityTimeoutSeconds: 7200, heartbeat: false, pollIntervalSeconds: 5 } as const;

interface LogLine {
  atMs: number;
  msg: string;
  fields: Record<string, unknown>;
}

/**
 * A live360 CLI process in its own process group, so that a kill takes its FFmpeg along as the
 * end of a container does; its JSON log lines are kept with their timestamps.
 */
class Live360Process {
  readonly exited: Promise<number | null>;
  readonly lines: LogLine[] = [];
  private readonly child: ChildProcess;
  private otherTail: string[] = [];

  constructor(
    readonly name: string,
    args: string[],
    env: NodeJS.ProcessEnv,
  ) {
    this.child = spawn(process.execPath, [LIVE360_CLI, ...args], { stdio: ["ignore", "ignore", "pipe"], env, detached: true });
    this.exited = new Promise((resolve) => this.child.once("close", (code) => resolve(code)));
    createInterface({ input: this.child.stderr! }).on("line", (line) => {
      try {
        const record = JSON.parse(line) as Record<string, unknown>;
        this.lines.push({ atMs: Date.parse(String(record.time)), msg: String(record.msg), fields: record });
      } catch {
        this.otherTail = [...this.otherTail.slice(-9), line];
      }
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  first(msg: string): LogLine | undefined {
    return this.lines.find((line) => line.msg === msg);
  }

  /** The first line logging `msg`, waiting for it; fails at once if the process exits first. */
  async waitForLog(msg: string, timeoutMs: number): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = this.first(msg);
      if (line) return line;
      const why = this.child.exitCode !== null || this.child.signalCode !== null ? "exited" : Date.now() > deadline ? `gave up after ${timeoutMs} ms` : undefined;
      if (why) throw new Error(`${this.name} ${why} before logging "${msg}": ${this.otherTail.join(" | ")}`);
      await sleep(50);
    }
  }

  killGroup(): void {
    try {
      process.kill(-this.pid, "SIGKILL");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill("SIGTERM");
    const killer = setTimeout(() => this.killGroup(), 25_000);
    await this.exited;
    clearTimeout(killer);
  }
}

interface Services {
  s3: S3Server;
  sqs: SqsServer;
  storage: S3Storage;
  env: NodeJS.ProcessEnv;
  flags: string[];
}

async function startServices(): Promise<Services> {
  const [s3, sqs] = await Promise.all([
    startS3Server({ buckets: ["ingest", "egress", "egress-crash"] }),
    startSqsServer({ queues: ["vod", "vod-crash"].map((name) => ({ name, deadLetter: { name: `${name}-dead`, maxReceiveCount: 5 } })) }),
  ]);
  return {
    s3,
    sqs,
    storage: new S3Storage({ endpoint: s3.endpoint, region: s3.region, credentials: s3.credentials }),
    env: { ...process.env, AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey, AWS_REGION: s3.region },
    flags: ["--s3-endpoint", s3.endpoint, "--sqs-endpoint", sqs.endpoint, "--region", s3.region],
  };
}

async function startWorker(services: Services, name: string, queue: string, egress: string, workDir: string): Promise<{ proc: Live360Process; http: string }> {
  const port = await freePort();
  const proc = new Live360Process(
    name,
    [
      "vod-worker", "--egress-bucket", egress, "--ingest-bucket", "ingest", "--queue-url", services.sqs.queueUrls[queue]!, ...services.flags,
      "--http-port", String(port), "--bind", "127.0.0.1", "--work-dir", workDir,
    ],
    services.env,
  );
  await proc.waitForLog("vod worker ready", 60_000);
  return { proc, http: `http://127.0.0.1:${port}` };
}

async function waitForObject(storage: S3Storage, bucket: string, key: string, timeoutMs: number): Promise<number> {
  return waitFor(`s3://${bucket}/${key}`, async () => {
    try {
      await storage.head(bucket, key);
      return Date.now();
    } catch (error) {
      if (error instanceof ObjectNotFoundError) return undefined;
      throw error;
    }
  }, { timeoutMs, intervalMs: 100 });
}

function round(value: number, digits = 2): number {
  return Number(value.toFixed(digits));
}

interface FloorResult {
  wallSeconds: number;
  cpuSeconds: number;
  cpuPerMediaSecond: number;
  renditions: string[];
}

/** The worker's FFmpeg command for this input, run on its own. */
async function runFloor(ffmpeg: ResolvedBinary, input: BenchInput, config: VodWorkerConfig, workDir: string): Promise<FloorResult> {
  const info = await probe(input.file);
  const source: VodSource = {
    width: input.width,
    height: input.height,
    durationSeconds: Number(info.format.duration),
    projection: "equirectangular",
    isH264: true,
    hasAudio: true,
    audioIsAac: true,
  };
  const outputDir = path.join(workDir, "floor");
  await mkdir(outputDir, { recursive: true });
  const plan: VodPlan = {
    input: input.file,
    outputDir,
    source,
    renditions: planRenditions(config.ladder, source, config.projection),
    segmentSeconds: config.segmentSeconds,
    x264Preset: config.x264Preset,
    audioBitrateKbps: config.audioBitrateKbps,
    poster: posterPlan(outputDir, source.durationSeconds),
  };
  const started = Date.now();
  const child = spawn(ffmpeg.path, buildVodArgs(plan), { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const exited = new Promise<number | null>((resolve) => child.once("close", resolve));
  const sampler = await ProcessTreeSampler.create(child.pid!);
  sampler.start(100);
  const code = await exited;
  const wallSeconds = (Date.now() - started) / 1000;
  const usage = await sampler.stop();
  if (code !== 0) throw new Error(`floor FFmpeg exited with ${code}: ${stderr}`);
  return {
    wallSeconds: round(wallSeconds),
    cpuSeconds: round(usage.cpuSeconds),
    cpuPerMediaSecond: round(usage.cpuSeconds / source.durationSeconds, 3),
    renditions: plan.renditions.map((r) => (r.passthrough ? `${r.name} (copied)` : `${r.name} ${r.width}x${r.height} ${r.videoBitrateKbps}k`)),
  };
}

interface PipelineResult {
  /** Seconds after the publisher's last packet. */
  steps: Record<string, number | undefined>;
  publishEndToMasterSeconds: number;
  ratioToFloor: number;
  workerCpuSeconds: number;
  workerCpuPerMediaSecond: number;
  workerPhasesSeconds: Record<string, number>;
  /** Queue hand-over: from the origin sending the job to the worker receiving it. */
  pickupSeconds: number | undefined;
  recordingKey: string;
  assetPrefix: string;
  /** From the worker's receive to the master playlist: an uninterrupted job's own time. */
  jobSeconds: number;
}

async function runPipeline(services: Services, ffmpeg: ResolvedBinary, input: BenchInput, floor: FloorResult, workDir: string, mediaSeconds: number): Promise<PipelineResult> {
  const [rtmpPort, httpPort] = [await freePort(), await freePort()];
  const origin = new Live360Process(
    "origin",
    [
      "origin", "--rtmp-port", String(rtmpPort), "--http-port", String(httpPort), "--bind", "127.0.0.1", "--data-dir", path.join(workDir, "origin"),
      "--ladder", "source", "--ingest-bucket", "ingest", "--queue-url", services.sqs.queueUrls.vod!, ...services.flags,
    ],
    services.env,
  );
  const { proc: worker, http } = await startWorker(services, "worker", "vod", "egress", path.join(workDir, "worker"));
  try {
    await origin.waitForLog("origin ready", 60_000);
    const sampler = await ProcessTreeSampler.create(worker.pid);
    sampler.start(100);
    await sampler.markBaseline();
    log(`pipeline: publishing ${input.seconds} s in real time`);
    const publisher = Publisher.start(ffmpeg, input.file, `rtmp://127.0.0.1:${rtmpPort}/live/${STREAM}`);
    const code = await publisher.exited;
    const publishEnd = Date.now();
    if (code !== 0) throw new Error(`publisher exited with ${code}: ${publisher.errors}`);
    log("pipeline: publish ended; waiting for the VOD master playlist");
    const handedOff = await origin.waitForLog("recording handed to the VOD pipeline", 5 * 60_000);
    const recordingKey = String(handedOff.fields.key);
    const assetPrefix = `vod/${STREAM}/${path.posix.basename(recordingKey, ".mp4")}/`;
    const masterAt = await waitForObject(services.storage, "egress", `${assetPrefix}master.m3u8`, 30 * 60_000);
    await worker.waitForLog("asset complete; message deleted", 60_000);
    const usage = await sampler.stop();
    const metrics = (await getText(`${http}/metrics`)).body;
    const phase = (name: string): number => Number(new RegExp(`live360_vod_phase_seconds_sum\\{phase="${name}"\\} ([\\d.e+-]+)`).exec(metrics)?.[1] ?? Number.NaN);
    const since = (line: LogLine | undefined): number | undefined => (line ? round((line.atMs - publishEnd) / 1000) : undefined);
    const received = worker.first("job received");
    const total = (masterAt - publishEnd) / 1000;
    return {
      steps: {
        "origin: publish ended": since(origin.first("publish ended")),
        "origin: recording finalized (MP4 remuxed)": since(origin.first("recording finalized")),
        "origin: recording uploaded, job sent": since(handedOff),
        "worker: job received": since(received),
        "worker: transcode started (after download + probe)": since(worker.first("transcode started")),
        "worker: asset uploaded": since(worker.first("asset uploaded")),
        "egress: master playlist visible": round(total),
      },
      publishEndToMasterSeconds: round(total),
      ratioToFloor: round(total / floor.wallSeconds),
      workerCpuSeconds: round(usage.cpuSeconds),
      workerCpuPerMediaSecond: round(usage.cpuSeconds / mediaSeconds, 3),
      workerPhasesSeconds: { download: round(phase("download")), transcode: round(phase("transcode")), upload: round(phase("upload")) },
      pickupSeconds: received ? round((received.atMs - handedOff.atMs) / 1000) : undefined,
      recordingKey,
      assetPrefix,
      jobSeconds: received ? round((masterAt - received.atMs) / 1000) : Number.NaN,
    };
  } finally {
    await Promise.all([worker.stop(), origin.stop()]);
  }
}

interface CrashResult {
  visibilityTimeoutSeconds: number;
  heartbeatSeconds: number;
  /** How far the first worker was: seconds since its receive, and transcode progress. */
  killedAfterSeconds: number;
  killedAtProgress: number;
  /** From the kill to the second worker's receive: the delay the crash adds. */
  killToRetrySeconds: number;
  killToMasterSeconds: number;
  /** The whole job, from the event being sent to the master playlist. */
  sendToMasterSeconds: number;
  targetSeconds: number;
  reference: { killToRetrySeconds: number; killToRetryMaxSeconds: number; note: string };
}

async function runCrash(services: Services, pipeline: PipelineResult, workDir: string): Promise<CrashResult> {
  const queue = new SqsQueue({ queueUrl: services.sqs.queueUrls["vod-crash"]!, endpoint: services.sqs.endpoint, region: services.sqs.region, credentials: services.sqs.credentials });
  const size = (await services.storage.head("ingest", pipeline.recordingKey)).size;
  const event = { Records: [{ eventSource: "aws:s3", eventName: "ObjectCreated:CompleteMultipartUpload", s3: { bucket: { name: "ingest" }, object: { key: pipeline.recordingKey, size } } }] };
  const first = await startWorker(services, "worker-a", "vod-crash", "egress-crash", path.join(workDir, "worker-a"));
  let second: Live360Process | undefined;
  try {
    const sentAt = Date.now();
    await queue.send(JSON.stringify(event));
    const received = await first.proc.waitForLog("job received", 60_000);
    // The second worker starts once the first holds the job, so the job is certainly the first's.
    second = (await startWorker(services, "worker-b", "vod-crash", "egress-crash", path.join(workDir, "worker-b"))).proc;
    const status = await waitFor("worker-a half-way through the transcode", async () => {
      const jobs = (JSON.parse((await getText(`${first.http}/status`)).body) as { jobs: RunningJobStatus[] }).jobs;
      return jobs.find((j) => j.phase === "transcoding" && (j.progress?.ratio ?? 0) >= 0.5);
    }, { timeoutMs: 30 * 60_000, intervalMs: 100 });
    const killedAt = Date.now();
    first.proc.killGroup();
    log(`crash: worker-a killed at ${Math.round((status.progress?.ratio ?? 0) * 100)} %; waiting for worker-b`);
    const retried = await second.waitForLog("job received", (DEFAULT_VOD_WORKER_CONFIG.visibilityTimeoutSeconds + 120) * 1000);
    const masterAt = await waitForObject(services.storage, "egress-crash", `${pipeline.assetPrefix}master.m3u8`, 30 * 60_000);
    const killedAfter = (killedAt - received.atMs) / 1000;
    const referenceRetry = REFERENCE.visibilityTimeoutSeconds - killedAfter + REFERENCE.pollIntervalSeconds / 2;
    return {
      visibilityTimeoutSeconds: DEFAULT_VOD_WORKER_CONFIG.visibilityTimeoutSeconds,
      heartbeatSeconds: DEFAULT_VOD_WORKER_CONFIG.heartbeatSeconds,
      killedAfterSeconds: round(killedAfter),
      killedAtProgress: round(status.progress?.ratio ?? 0, 3),
      killToRetrySeconds: round((retried.atMs - killedAt) / 1000),
      killToMasterSeconds: round((masterAt - killedAt) / 1000),
      sendToMasterSeconds: round((masterAt - sentAt) / 1000),
      targetSeconds: DEFAULT_VOD_WORKER_CONFIG.visibilityTimeoutSeconds + 10,
      reference: {
        killToRetrySeconds: round(referenceRetry),
        killToRetryMaxSeconds: REFERENCE.visibilityTimeoutSeconds + REFERENCE.pollIntervalSeconds,
        note:
          `message hidden ${REFERENCE.visibilityTimeoutSeconds} s from its receive with no heartbeat: it returns ${REFERENCE.visibilityTimeoutSeconds} s − ${round(killedAfter)} s after the kill, ` +
          `plus half the ${REFERENCE.pollIntervalSeconds} s queue-depth poll on average; a job killed right after its receive waits up to ${REFERENCE.visibilityTimeoutSeconds + REFERENCE.pollIntervalSeconds} s. ` +
          `Without a heartbeat a transcode longer than ${REFERENCE.visibilityTimeoutSeconds} s is also handed to a second worker while the first still runs.`,
      },
    };
  } finally {
    await Promise.all([first.proc.stop(), second?.stop()]);
  }
}

interface VodBenchReport {
  date: string;
  machine: { cpus: number; cpuModel: string; loadAverage1m: number; node: string; ffmpeg: string };
  input: Omit<BenchInput, "file">;
  worker: { visibilityTimeoutSeconds: number; heartbeatSeconds: number; waitTimeSeconds: number; preset: string; segmentSeconds: number };
  floor: FloorResult;
  pipeline: PipelineResult;
  crash: CrashResult;
  reference: { pickupMeanSeconds: number; pickupMaxSeconds: number; note: string };
}

function markdown(r: VodBenchReport): string {
  const lines = [
    `# VOD benchmark (${r.date})`,
    "",
    `Machine: ${r.machine.cpus} × ${r.machine.cpuModel}, load ${r.machine.loadAverage1m.toFixed(2)} at start, Node ${r.machine.node}, FFmpeg ${r.machine.ffmpeg}.`,
    `Input: ${r.input.seconds} s ${r.input.width}x${r.input.height} ${r.input.fps} fps H.264 ${r.input.videoKbps} kbit/s + AAC, published in real time over RTMP.`,
    `Worker: default settings (visibility ${r.worker.visibilityTimeoutSeconds} s, heartbeat ${r.worker.heartbeatSeconds} s, long poll ${r.worker.waitTimeSeconds} s, x264 ${r.worker.preset}, ${r.worker.segmentSeconds} s segments); renditions ${r.floor.renditions.join(", ")}.`,
    "",
    "| measure | live360 | target / reference |",
    "|---|---|---|",
    `| floor: the worker's FFmpeg alone | ${r.floor.wallSeconds} s, ${r.floor.cpuPerMediaSecond} CPU-s per media-s | |`,
    `| publish end → VOD master available | ${r.pipeline.publishEndToMasterSeconds} s = ${r.pipeline.ratioToFloor}× floor | ≤ 1.5× floor |`,
    `| worker CPU-seconds per media-second (its process tree from publish start to job end, idle long polls included) | ${r.pipeline.workerCpuPerMediaSecond} (${r.pipeline.workerCpuSeconds} CPU-s) | floor ${r.floor.cpuPerMediaSecond} |`,
    `| job sent → worker receives it | ${r.pipeline.pickupSeconds ?? "n/a"} s (long poll) | reference: ${r.reference.pickupMeanSeconds} s mean, ${r.reference.pickupMaxSeconds} s max (depth polled every 5 s) |`,
    `| worker killed mid-way → job retried | ${r.crash.killToRetrySeconds} s (killed ${r.crash.killedAfterSeconds} s in, at ${Math.round(r.crash.killedAtProgress * 100)} %) | ≤ ${r.crash.targetSeconds} s; reference: ${r.crash.reference.killToRetrySeconds} s (up to ${r.crash.reference.killToRetryMaxSeconds} s) |`,
    `| worker killed mid-way → VOD master available | ${r.crash.killToMasterSeconds} s after the kill; whole job ${r.crash.sendToMasterSeconds} s vs ${r.pipeline.jobSeconds} s uninterrupted | |`,
    "",
    "Steps after the publisher's last packet (s):",
    "",
    ...Object.entries(r.pipeline.steps).map(([step, at]) => `- ${step}: ${at ?? "n/a"}`),
    `- worker phases: download ${r.pipeline.workerPhasesSeconds.download} s, transcode ${r.pipeline.workerPhasesSeconds.transcode} s, upload ${r.pipeline.workerPhasesSeconds.upload} s`,
    "",
    `Reference architecture (computed from its settings): ${r.crash.reference.note} ${r.reference.note}`,
    "",
  ];
  return lines.join("\n");
}

async function main(): Promise<void> {
  const seconds = Number(process.env.BENCH_SECONDS ?? 60);
  if (!Number.isFinite(seconds) || seconds < 10) throw new Error(`BENCH_SECONDS=${process.env.BENCH_SECONDS}: use at least 10`);
  const ffmpeg = await resolveBinary("ffmpeg");
  log(`making (or reusing) the ${seconds} s input in ${CACHE_DIR}`);
  const input = await ensureBenchInput(ffmpeg, CACHE_DIR, benchInputSpec(seconds));
  const mediaSeconds = Number((await probe(input.file)).format.duration);
  const config = resolveVodWorkerConfig({ egressBucket: "egress" });
  const loadAverage1m = os.loadavg()[0] ?? 0;
  const workDir = await tempDir("bench-vod");
  const services = await startServices();
  try {
    log(`floor: the worker's FFmpeg on the input (load average ${loadAverage1m.toFixed(2)})`);
    const floor = await runFloor(ffmpeg, input, config, workDir);
    log(`floor: ${floor.wallSeconds} s`);
    const pipeline = await runPipeline(services, ffmpeg, input, floor, workDir, mediaSeconds);
    log(`pipeline: publish end → master ${pipeline.publishEndToMasterSeconds} s`);
    const crash = await runCrash(services, pipeline, workDir);
    const report: VodBenchReport = {
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model.trim() ?? "unknown", loadAverage1m, node: process.version, ffmpeg: ffmpeg.version },
      input: { width: input.width, height: input.height, fps: input.fps, seconds: input.seconds, videoKbps: input.videoKbps, gopSeconds: input.gopSeconds },
      worker: {
        visibilityTimeoutSeconds: config.visibilityTimeoutSeconds,
        heartbeatSeconds: config.heartbeatSeconds,
        waitTimeSeconds: config.waitTimeSeconds,
        preset: config.x264Preset,
        segmentSeconds: config.segmentSeconds,
      },
      floor,
      pipeline,
      crash,
      reference: {
        pickupMeanSeconds: REFERENCE.pollIntervalSeconds / 2,
        pickupMaxSeconds: REFERENCE.pollIntervalSeconds,
        note: `Its workers poll ApproximateNumberOfMessages every ${REFERENCE.pollIntervalSeconds} s and then receive without long polling, so a job waits ${REFERENCE.pollIntervalSeconds / 2} s on average before a worker sees it.`,
      },
    };
    await mkdir(RESULTS_DIR, { recursive: true });
    await writeFile(path.join(RESULTS_DIR, "vod.json"), JSON.stringify(report, null, 2) + "\n");
    const text = markdown(report);
    await writeFile(path.join(RESULTS_DIR, "vod.md"), text);
    process.stdout.write(text);
    log(`results in ${path.relative(process.cwd(), RESULTS_DIR)}/vod.{json,md}`);
  } finally {
    await Promise.all([services.s3.stop(), services.sqs.stop()]);
    if (process.env.BENCH_KEEP) log(`kept ${workDir}`);
    else await rm(workDir, { recursive: true, force: true });
  }
}

await main();
