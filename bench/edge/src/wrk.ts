import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import { MissingDependencyError } from "@live360/core";

const execFileAsync = promisify(execFile);

/** One `wrk --latency` run, parsed. */
export interface WrkResult {
  connections: number;
  seconds: number;
  requestsPerSecond: number;
  /** Latency percentiles, milliseconds. */
  p50Ms: number;
  p99Ms: number;
  requests: number;
  /** Connect, read, write errors and timeouts, and non-2xx/3xx answers. */
  errors: number;
  /** Bytes read per second. */
  bytesPerSecond: number;
}

const TIME_UNITS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const SIZE_UNITS: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };

function milliseconds(value: string, unit: string): number {
  const factor = TIME_UNITS[unit];
  if (factor === undefined) throw new Error(`wrk: unknown time unit ${unit}`);
  return Number(value) * factor;
}

/** Parses wrk's report (wrk 4, with `--latency`). */
export function parseWrkOutput(text: string, connections: number, seconds: number): WrkResult {
  const latency = (p: string): number => {
    const match = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m|h)\\s*$`, "m").exec(text);
    if (!match) throw new Error(`wrk: no ${p}% latency in its output:\n${text}`);
    return milliseconds(match[1]!, match[2]!);
  };
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(text);
  const requests = /^\s*(\d+) requests in/m.exec(text);
  const transfer = /^Transfer\/sec:\s+([\d.]+)(B|KB|MB|GB|TB)/m.exec(text);
  if (!rps || !requests || !transfer) throw new Error(`wrk: unexpected output:\n${text}`);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(text);
  const errors = (socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0) + (non2xx ? Number(non2xx[1]) : 0);
  return {
    connections,
    seconds,
    requestsPerSecond: Number(rps[1]),
    p50Ms: latency("50"),
    p99Ms: latency("99"),
    requests: Number(requests[1]),
    errors,
    bytesPerSecond: Number(transfer[1]) * SIZE_UNITS[transfer[2]!]!,
  };
}

/**
 * Runs Debian's wrk, one thread pinned to `cpu` (taskset) so the client keeps to its own core;
 * `headers` are `Name: value` lines sent with every request.
 */
export async function runWrk(url: string, connections: number, seconds: number, cpu: number, headers: string[] = []): Promise<WrkResult> {
  const args = ["-c", String(cpu), "wrk", "-t1", `-c${connections}`, `-d${seconds}s`, "--timeout", "10s", "--latency", ...headers.flatMap((h) => ["-H", h]), url];
  try {
    const { stdout } = await execFileAsync("taskset", args, { timeout: (seconds + 60) * 1000 });
    return parseWrkOutput(stdout, connections, seconds);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT" || /execvp|failed to execute/.test(String((err as { stderr?: string }).stderr))) {
      throw new MissingDependencyError("wrk not found: run scripts/install-system-deps.sh as root (make bench-edge does) or apt-get install wrk");
    }
    throw err;
  }
}

/** The process and all its descendants (`live360 edge` → nginx master → workers). */
async function processTree(pid: number): Promise<number[]> {
  const { stdout } = await execFileAsync("ps", ["-o", "pid=", "--ppid", String(pid)]).catch(() => ({ stdout: "" }));
  const children = stdout.split(/\s+/).filter(Boolean).map(Number);
  return [pid, ...(await Promise.all(children.map(processTree))).flat()];
}

/** Pins a process, its threads and its children to one CPU. */
export async function pinProcessTree(pid: number, cpu: number): Promise<void> {
  for (const p of await processTree(pid)) await execFileAsync("taskset", ["-a", "-p", "-c", String(cpu), String(p)]);
}

/** Clock ticks per second of /proc/<pid>/stat's times (USER_HZ, 100 on Linux). */
const CLOCK_TICKS = 100;

/** CPU seconds (user + system) one process has used so far; 0 once it is gone. */
export async function processCpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined);
  // Fields after the parenthesised command name: utime and stime are the 12th and 13th.
  const fields = stat?.slice(stat.lastIndexOf(")") + 2).split(" ");
  return fields ? (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS : 0;
}

/** CPU seconds (user + system) a process and its descendants have used so far. */
export async function processTreeCpuSeconds(pid: number): Promise<number> {
  const each = await Promise.all((await processTree(pid)).map(processCpuSeconds));
  return each.reduce((sum, seconds) => sum + seconds, 0);
}
