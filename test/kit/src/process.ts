import { spawn, type ChildProcess } from "node:child_process";

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ManagedProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly exited: Promise<ProcessExit>;
  /** stdout and stderr interleaved as received. */
  output(): string;
  /** Resolves once the output matches, rejects if the process exits or time runs out first. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  signal(signal: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. Safe to repeat. */
  stop(graceMs?: number): Promise<ProcessExit>;
}

export interface StartProcessOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Lines of output kept (the tail), so a chatty process cannot grow the test's memory. */
  keepLines?: number;
}

/** Starts a real process whose output a test can wait on, and that a test can stop for sure. */
export function startProcess(command: string, args: readonly string[], options: StartProcessOptions = {}): ManagedProcess {
  const child = spawn(command, args, { env: options.env ?? process.env, cwd: options.cwd, stdio: ["ignore", "pipe", "pipe"] });
  const keep = options.keepLines ?? 2000;
  let lines: string[] = [];
  const waiters = new Set<() => void>();
  const onData = (chunk: Buffer): void => {
    lines.push(...chunk.toString().split("\n").filter((l) => l !== ""));
    if (lines.length > keep) lines = lines.slice(-keep);
    for (const w of waiters) w();
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  const exited = new Promise<ProcessExit>((resolve) => {
    child.once("error", (err) => {
      lines.push(`spawn error: ${err.message}`);
      resolve({ code: null, signal: null });
    });
    child.once("close", (code, signal) => resolve({ code, signal }));
  });
  let done = false;
  void exited.then(() => {
    done = true;
    for (const w of waiters) w();
  });
  const output = (): string => lines.join("\n");
  return {
    child,
    pid: child.pid ?? -1,
    exited,
    output,
    waitForOutput(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const match = pattern.exec(output());
          if (match) finish(() => resolve(match));
          else if (done) finish(() => reject(new Error(`${command} exited before printing ${pattern}:\n${output()}`)));
        };
        const timer = setTimeout(() => finish(() => reject(new Error(`${command} did not print ${pattern} within ${timeoutMs} ms:\n${output()}`))), timeoutMs);
        const finish = (settle: () => void): void => {
          clearTimeout(timer);
          waiters.delete(check);
          settle();
        };
        waiters.add(check);
        check();
      });
    },
    signal(signal) {
      if (!done) child.kill(signal);
    },
    async stop(graceMs = 10_000) {
      if (!done) {
        child.kill("SIGTERM");
        const killer = setTimeout(() => child.kill("SIGKILL"), graceMs);
        await exited;
        clearTimeout(killer);
      }
      return exited;
    },
  };
}

/** Collects cleanups (processes, servers) so afterAll stops everything even after a failure. */
export class Cleanup {
  private readonly tasks: Array<() => Promise<unknown> | unknown> = [];

  add<T>(value: T, stop: (value: T) => Promise<unknown> | unknown): T {
    this.tasks.push(() => stop(value));
    return value;
  }

  process(p: ManagedProcess, graceMs?: number): ManagedProcess {
    return this.add(p, (proc) => proc.stop(graceMs));
  }

  /** Runs every cleanup, newest first; one failing does not stop the others. */
  async run(): Promise<void> {
    const errors: unknown[] = [];
    while (this.tasks.length > 0) {
      try {
        await this.tasks.pop()!();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length > 0) throw errors[0];
  }
}
