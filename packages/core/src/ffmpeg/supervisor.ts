import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { Backoff } from "../backoff.js";
import { Live360Error } from "../errors.js";
import { TypedEmitter } from "../events.js";
import type { Logger } from "../log.js";
import { parseProgressBlock, type FfmpegProgress } from "./args.js";
import type { ResolvedBinary } from "./resolve.js";

interface ExitDetails {
  pid: number | undefined;
  code: number | null;
  signal: NodeJS.Signals | null;
  stderrTail: string;
  /** Why the supervisor killed it, when it did (it stopped making progress). */
  killedBecause?: string;
}

function describeExit(d: ExitDetails): string {
  const how = d.signal ? `signal ${d.signal}` : `code ${d.code}`;
  const killed = d.killedBecause ? ` (killed: ${d.killedBecause})` : "";
  return `pid ${d.pid ?? "?"} exited with ${how}${killed}${d.stderrTail ? `: ${d.stderrTail}` : ""}`;
}

/** FFmpeg exited before it reported any progress: bad arguments, unreadable input, missing codec. */
export class FfmpegStartupError extends Live360Error {
  constructor(
    readonly processName: string,
    readonly details: ExitDetails,
  ) {
    super(`ffmpeg ${processName} failed to start: ${describeExit(details)}`);
  }
}

/** FFmpeg was running and then died: killed, crashed, or lost its input or output. */
export class FfmpegDiedError extends Live360Error {
  constructor(
    readonly processName: string,
    readonly details: ExitDetails,
  ) {
    super(`ffmpeg ${processName} died: ${describeExit(details)}`);
  }
}

export interface RestartPolicy {
  initialDelayMs: number;
  maxDelayMs: number;
  /** Consecutive start-up failures after which the supervisor gives up (they rarely heal). */
  maxStartupFailures: number;
  /** Running this long counts as healthy and resets the backoff. */
  stableAfterMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  initialDelayMs: 200,
  maxDelayMs: 5000,
  maxStartupFailures: 5,
  stableAfterMs: 10_000,
};

export interface SupervisorOptions {
  /** Names the process in logs and errors, e.g. `hls/test`. */
  name: string;
  binary: ResolvedBinary;
  /** Evaluated before every (re)start, so a restart may differ (e.g. append to a playlist). */
  args: (attempt: number) => string[];
  logger: Logger;
  /** Whether the caller feeds media on stdin. */
  pipeStdin?: boolean;
  /**
   * Output pipes at fds 3, 4, … (FFmpeg's `pipe:3`…), read as they fill and emitted as `output`:
   * a muxer that writes to a pipe nobody reads blocks, so they are always read.
   */
  outputPipes?: number;
  /** `false`: run once (a transcode job reports failure instead of retrying here). */
  restart?: RestartPolicy | false;
  /** How long close() waits for a graceful exit before SIGKILL. */
  stopTimeoutMs?: number;
  /**
   * A child that reports no progress for this long while it has work is killed and treated as
   * died (restarted, or reported by a run-once job). "Has work": input waiting that it does not
   * read (its pipe is full: bytes stay queued on our side), or, without stdin, simply running.
   * FFmpeg reports only while it reads, so a paused publisher, whose last input FFmpeg took
   * without reporting on it, is no stall. The default leaves room for start-up probing.
   */
  stallTimeoutMs?: number;
}

export const DEFAULT_STALL_TIMEOUT_MS = 15_000;
const WATCHDOG_INTERVAL_MS = 1000;

export interface SupervisorEvents {
  /** A process was spawned (first start or restart); a stdin feeder re-sends its headers now. */
  spawn: [pid: number, attempt: number];
  /** The process reported its first progress: it is really running. */
  started: [pid: number];
  /** The process stopped making progress with input waiting (hung) and is being killed. */
  stalled: [pid: number, reason: string];
  progress: [FfmpegProgress];
  startupfailure: [FfmpegStartupError];
  died: [FfmpegDiedError];
  restarting: [attempt: number, delayMs: number];
  /** Bytes FFmpeg wrote to output pipe `index` (fd 3 + index) of the child `pid`. */
  output: [index: number, chunk: Buffer, pid: number];
  /**
   * The child `pid` is gone and every byte it wrote has been emitted: a reader of its outputs
   * ends them now (before any restart's `spawn`).
   */
  outputsClosed: [pid: number];
  /** The process finished on its own with code 0 (its input ended). */
  exited: [];
  /** The supervisor gave up; it will not start FFmpeg again. */
  failed: [Error];
}

type State = "idle" | "starting" | "running" | "waiting" | "exited" | "failed" | "closed";

const STDERR_TAIL_LINES = 8;

/**
 * Supervises one FFmpeg child the way mediasoup supervises its media Worker: it separates a
 * start-up failure from a later death, puts pid/code/signal into every error, restarts with
 * capped exponential backoff, and has an idempotent close().
 */
export class FfmpegSupervisor extends TypedEmitter<SupervisorEvents> {
  private child: ChildProcess | undefined;
  private state: State = "idle";
  private attempt = 0;
  private startupFailures = 0;
  private readonly backoff: Backoff;
  private restartTimer: NodeJS.Timeout | undefined;
  private stableTimer: NodeJS.Timeout | undefined;
  private closePromise: Promise<void> | undefined;
  private stderrTail: string[] = [];
  private lastProgressValue: FfmpegProgress | undefined;
  private restartCount = 0;
  private finishing = false;
  private watchdog: NodeJS.Timeout | undefined;
  private lastProgressAt = 0;
  /** Since when (watchdog ticks) input has stayed unread without a progress report. */
  private inputPendingSince: number | undefined;
  private killReason: string | undefined;
  /** Set by replace(): the exit that follows is no death. */
  private replacing = false;

  constructor(private readonly options: SupervisorOptions) {
    super();
    const policy = options.restart === false ? DEFAULT_RESTART_POLICY : (options.restart ?? DEFAULT_RESTART_POLICY);
    this.backoff = new Backoff({ initialMs: policy.initialDelayMs, maxMs: policy.maxDelayMs });
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get restarts(): number {
    return this.restartCount;
  }

  get lastProgress(): FfmpegProgress | undefined {
    return this.lastProgressValue;
  }

  /** When the current child last reported progress (its spawn time until it does). */
  get lastProgressAtMs(): number {
    return this.lastProgressAt;
  }

  /** Input written but not yet taken by the child (beyond its pipe's buffer): it is falling behind. */
  get inputBacklogBytes(): number {
    return this.child?.stdin?.writableLength ?? 0;
  }

  get running(): boolean {
    return this.state === "starting" || this.state === "running";
  }

  start(): void {
    if (this.state !== "idle") throw new Live360Error(`ffmpeg ${this.options.name} already started`);
    this.spawnChild();
  }

  /**
   * Writes media to the child's stdin, several chunks in one system call (each pipe write wakes
   * FFmpeg); data offered while it restarts is dropped, not queued.
   */
  write(...chunks: Buffer[]): void {
    const stdin = this.child?.stdin;
    if (!stdin || !stdin.writable || stdin.writableEnded || this.killReason !== undefined) return;
    stdin.cork();
    for (const chunk of chunks) stdin.write(chunk);
    stdin.uncork();
  }

  /**
   * Replaces the running child with a fresh one at once, e.g. because the parameters of its
   * input changed and FFmpeg cannot follow them. Deliberate: no death, no backoff; the new
   * child's `spawn` event lets the feeder send its headers again.
   */
  replace(): void {
    const child = this.child;
    if (!child || (this.state !== "running" && this.state !== "starting") || this.killReason !== undefined) return;
    this.replacing = true;
    clearInterval(this.watchdog);
    child.stdin?.destroy();
    child.kill("SIGKILL");
  }

  /** Ends stdin so FFmpeg flushes, finalizes its outputs and exits by itself. */
  endInput(): void {
    this.child?.stdin?.end();
  }

  /**
   * Ends the input and lets FFmpeg finish its outputs on its own (an HLS end list, an MP4
   * index); whatever exit follows is final. Falls back to close() after `timeoutMs`.
   */
  async finish(timeoutMs: number): Promise<void> {
    if (this.closePromise) return this.closePromise;
    this.finishing = true;
    // From here `timeoutMs` bounds the child, whatever it reports.
    clearInterval(this.watchdog);
    clearTimeout(this.restartTimer);
    const exited = this.waitForExit();
    this.endInput();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
    await this.close();
  }

  /** Resolves once the current child has exited (immediately when none runs). */
  private waitForExit(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => child.once("exit", () => resolve()));
  }

  /**
   * Stops for good: ends stdin and sends SIGTERM (FFmpeg then writes its trailers, e.g. the
   * HLS end list), escalating to SIGKILL after the stop timeout. Safe to call repeatedly.
   */
  close(): Promise<void> {
    if (this.closePromise) return this.closePromise;
    this.state = "closed";
    clearTimeout(this.restartTimer);
    clearTimeout(this.stableTimer);
    clearInterval(this.watchdog);
    const child = this.child;
    this.closePromise = (async () => {
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = this.waitForExit();
      child.stdin?.end();
      child.kill("SIGTERM");
      const timeout = this.options.stopTimeoutMs ?? 5000;
      const killer = setTimeout(() => child.kill("SIGKILL"), timeout);
      await exited;
      clearTimeout(killer);
    })();
    return this.closePromise;
  }

  private spawnChild(): void {
    const attempt = this.attempt++;
    const args = this.options.args(attempt);
    this.stderrTail = [];
    this.state = "starting";
    this.killReason = undefined;
    this.inputPendingSince = undefined;
    this.lastProgressAt = Date.now();
    const outputs = this.options.outputPipes ?? 0;
    const child = spawn(this.options.binary.path, args, {
      stdio: [this.options.pipeStdin ? "pipe" : "ignore", "pipe", "pipe", ...Array.from({ length: outputs }, () => "pipe" as const)],
    });
    this.child = child;
    for (let index = 0; index < outputs; index += 1) {
      const pipe = child.stdio[3 + index] as Readable;
      pipe.on("data", (chunk: Buffer) => this.emit("output", index, chunk, child.pid!));
      pipe.on("error", () => undefined);
    }
    // A child that dies while we write must not take the process down with EPIPE.
    child.stdin?.on("error", () => undefined);
    child.on("error", (err) => {
      this.stderrTail.push(err.message);
    });
    this.readProgress(child);
    createInterface({ input: child.stderr! }).on("line", (line) => {
      this.stderrTail.push(line);
      if (this.stderrTail.length > STDERR_TAIL_LINES) this.stderrTail.shift();
      this.options.logger.debug("ffmpeg stderr", { process: this.options.name, line });
    });
    child.once("close", (code, signal) => this.onExit(child, code, signal));
    this.watchForStalls(child);
    if (child.pid !== undefined) this.emit("spawn", child.pid, attempt);
  }

  /**
   * A process can hang without exiting (stopped, deadlocked, blocked on a dead mount); only
   * its missing progress tells. Checked once a second, not per write, to stay off the media path.
   */
  private watchForStalls(child: ChildProcess): void {
    clearInterval(this.watchdog);
    const timeoutMs = this.options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
    this.watchdog = setInterval(() => {
      if (this.child !== child || this.finishing) return;
      if (this.options.pipeStdin) this.inputPendingSince = this.inputBacklogBytes > 0 ? (this.inputPendingSince ?? Date.now()) : undefined;
      const busySince = this.options.pipeStdin ? this.inputPendingSince : this.lastProgressAt;
      if (busySince !== undefined && Date.now() - busySince > timeoutMs) {
        this.killStalled(`no progress for ${Math.round((Date.now() - busySince) / 1000)} s while it had work`);
      }
    }, WATCHDOG_INTERVAL_MS);
    this.watchdog.unref();
  }

  /** SIGKILL (a stopped process ignores SIGTERM) and drop its queued input at once. */
  private killStalled(reason: string): void {
    const child = this.child;
    if (!child || this.killReason !== undefined || this.replacing || child.exitCode !== null || child.signalCode !== null) return;
    this.killReason = reason;
    clearInterval(this.watchdog);
    this.emit("stalled", child.pid!, reason);
    child.stdin?.destroy();
    child.kill("SIGKILL");
  }

  private readProgress(child: ChildProcess): void {
    let block: string[] = [];
    createInterface({ input: child.stdout! }).on("line", (line) => {
      block.push(line);
      if (!line.startsWith("progress=")) return;
      const progress = parseProgressBlock(block);
      block = [];
      this.lastProgressValue = progress;
      if (this.child === child) {
        this.lastProgressAt = Date.now();
        this.inputPendingSince = undefined;
      }
      if (this.state === "starting" && this.child === child) this.markStarted(child);
      this.emit("progress", progress);
    });
  }

  private markStarted(child: ChildProcess): void {
    this.state = "running";
    this.startupFailures = 0;
    const policy = this.options.restart;
    if (policy !== false) {
      const stableAfter = (policy ?? DEFAULT_RESTART_POLICY).stableAfterMs;
      this.stableTimer = setTimeout(() => this.backoff.reset(), stableAfter);
    }
    this.emit("started", child.pid!);
  }

  private onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== child) return;
    // 'close' comes after every stdio stream has ended, so no output of this child follows.
    if ((this.options.outputPipes ?? 0) > 0 && child.pid !== undefined) this.emit("outputsClosed", child.pid);
    clearTimeout(this.stableTimer);
    clearInterval(this.watchdog);
    if (this.state === "closed") return;
    if (this.replacing) {
      this.replacing = false;
      this.restartCount += 1;
      this.spawnChild();
      return;
    }
    const details: ExitDetails = { pid: child.pid, code, signal, stderrTail: this.stderrTail.join(" | "), killedBecause: this.killReason };
    const wasRunning = this.state === "running";
    if (code === 0 || this.finishing) {
      this.state = "exited";
      this.emit("exited");
      return;
    }
    const error = wasRunning
      ? new FfmpegDiedError(this.options.name, details)
      : new FfmpegStartupError(this.options.name, details);
    if (error instanceof FfmpegDiedError) this.emit("died", error);
    else {
      this.startupFailures += 1;
      this.emit("startupfailure", error);
    }
    this.scheduleRestart(error);
  }

  private scheduleRestart(error: Error): void {
    const policy = this.options.restart;
    if (policy === false || (policy ?? DEFAULT_RESTART_POLICY).maxStartupFailures <= this.startupFailures) {
      this.state = "failed";
      this.emit("failed", error);
      return;
    }
    this.state = "waiting";
    const delay = this.backoff.next();
    this.restartCount += 1;
    this.emit("restarting", this.restartCount, delay);
    this.restartTimer = setTimeout(() => {
      if (this.state === "waiting") this.spawnChild();
    }, delay);
  }
}

/** A one-shot FFmpeg or ffprobe run (probe, remux) exited non-zero. */
export class FfmpegRunError extends Live360Error {
  constructor(
    readonly binaryName: string,
    readonly details: ExitDetails,
  ) {
    super(`${binaryName} failed: ${describeExit(details)}`);
  }
}

/** Runs FFmpeg or ffprobe once and collects its output; for short, bounded jobs. */
export function runOnce(
  binary: ResolvedBinary,
  args: string[],
  options: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary.path, args, { stdio: ["ignore", "pipe", "pipe"], signal: options.signal });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    const timer = options.timeoutMs ? setTimeout(() => child.kill("SIGKILL"), options.timeoutMs) : undefined;
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString();
      const stderr = Buffer.concat(err).toString();
      if (code === 0) return resolve({ stdout, stderr });
      const tail = stderr.trim().split("\n").slice(-STDERR_TAIL_LINES).join(" | ");
      reject(new FfmpegRunError(binary.name, { pid: child.pid, code, signal, stderrTail: tail }));
    });
  });
}
