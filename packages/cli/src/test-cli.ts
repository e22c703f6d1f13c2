import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const CLI = path.join(path.dirname(fileURLToPath(import.meta.url)), "main.js");
const running: ChildProcess[] = [];

export interface CliProcess {
  child: ChildProcess;
  /** stdout and stderr so far. */
  output: () => string;
  exited: Promise<{ code: number | null; signal: string | null }>;
}

/** Runs `live360 <args>` as a real process, the way a user or Kubernetes would. */
export function runCli(args: string[]): CliProcess {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  running.push(child);
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
  for (const child of running.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
}
