import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), "main.js");
const running: { child: ChildProcess; ownGroup: boolean }[] = [];

export interface CliProcess {
  child: ChildProcess;
  /** stdout and stderr so far. */
  output: () => string;
  exited: Promise<{ code: number | null; signal: string | null }>;
}

export interface RunCliOptions {
  /** Replaces the environment (e.g. credentials for a test S3 server). */
  env?: NodeJS.ProcessEnv;
  /**
   * Runs it in its own process group, so a test can kill it together with its FFmpeg children
   * (`process.kill(-pid, "SIGKILL")`), as Kubernetes kills a container.
   */
  ownProcessGroup?: boolean;
}

/** Runs `live360 <args>` as a real process, the way a user or Kubernetes would. */
export function runCli(args: string[], options: RunCliOptions = {}): CliProcess {
  const ownGroup = options.ownProcessGroup ?? false;
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"], env: options.env ?? process.env, detached: ownGroup });
  running.push({ child, ownGroup });
  let output = "";
  child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal })),
  );
  return { child, output: () => output, exited };
}

/** For afterEach: no CLI process outlives its test. */
export function killRunningClis(): void {
  for (const { child, ownGroup } of running.splice(0)) {
    if (ownGroup && child.pid !== undefined) {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // The group is already gone.
      }
    } else if (child.exitCode === null) child.kill("SIGKILL");
  }
}
