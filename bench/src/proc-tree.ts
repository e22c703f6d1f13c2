import { execFile } from "node:child_process";
import { readFile, readdir } from "node:fs/promises";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

interface ProcStat {
  pid: number;
  ppid: number;
  /** Own user + system time in clock ticks (children excluded; they are counted themselves). */
  cpuTicks: number;
  /** Start time in ticks since boot: with the pid, identifies a process across pid reuse. */
  startTicks: number;
  rssPages: number;
}

/** Parses /proc/<pid>/stat; the command name may hold spaces and parentheses, so split after the last ")". */
export function parseProcStat(line: string): ProcStat | undefined {
  const close = line.lastIndexOf(")");
  const pid = Number.parseInt(line, 10);
  if (close < 0 || !Number.isFinite(pid)) return undefined;
  const f = line.slice(close + 2).split(" ");
  // Fields counted from 3 (state); see proc(5): ppid 4, utime 14, stime 15, starttime 22, rss 24.
  const at = (field: number): number => Number(f[field - 3]);
  return { pid, ppid: at(4), cpuTicks: at(14) + at(15), startTicks: at(22), rssPages: at(24) };
}

async function readAllStats(): Promise<ProcStat[]> {
  const pids = (await readdir("/proc")).filter((name) => /^\d+$/.test(name));
  const stats = await Promise.all(
    pids.map(async (pid) => {
      try {
        return parseProcStat(await readFile(`/proc/${pid}/stat`, "utf8"));
      } catch {
        return undefined; // exited while we looked
      }
    }),
  );
  return stats.filter((s): s is ProcStat => s !== undefined);
}

/** The root and every descendant alive right now. */
export function treeOf(rootPid: number, stats: readonly ProcStat[]): ProcStat[] {
  const children = new Map<number, ProcStat[]>();
  for (const s of stats) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s]);
  const root = stats.find((s) => s.pid === rootPid);
  if (!root) return [];
  const tree: ProcStat[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const next = queue.shift()!;
    tree.push(next);
    queue.push(...(children.get(next.pid) ?? []));
  }
  return tree;
}

export interface TreeUsage {
  cpuSeconds: number;
  peakRssBytes: number;
  /** Distinct processes seen in the tree (e.g. nginx master + worker + exec'd FFmpeg). */
  processes: number;
  samples: number;
}

/**
 * Samples a process tree's CPU time and resident memory from /proc. Each process's own
 * time is remembered at its last sighting, so the total includes children that have
 * exited (whether or not their parent reaped them) up to the last sample before they went.
 */
export class ProcessTreeSampler {
  private readonly lastCpu = new Map<string, number>();
  private readonly baselineCpu = new Map<string, number>();
  private peakRssPages = 0;
  private samples = 0;
  private timer: NodeJS.Timeout | undefined;
  private sampling: Promise<void> = Promise.resolve();

  private constructor(
    private readonly rootPid: number,
    private readonly ticksPerSecond: number,
    private readonly pageSize: number,
  ) {}

  static async create(rootPid: number): Promise<ProcessTreeSampler> {
    const [ticks, page] = await Promise.all([getconf("CLK_TCK"), getconf("PAGESIZE")]);
    return new ProcessTreeSampler(rootPid, ticks, page);
  }

  start(intervalMs = 100): void {
    this.timer = setInterval(() => void this.sample(), intervalMs);
  }

  /** Takes one sample now (after any sample in flight). */
  sample(): Promise<void> {
    this.sampling = this.sampling.then(async () => {
      const tree = treeOf(this.rootPid, await readAllStats());
      if (tree.length === 0) return;
      this.samples += 1;
      let rss = 0;
      for (const p of tree) {
        this.lastCpu.set(`${p.pid}:${p.startTicks}`, p.cpuTicks);
        rss += p.rssPages;
      }
      this.peakRssPages = Math.max(this.peakRssPages, rss);
    });
    return this.sampling;
  }

  /** Counts CPU from now on only: start-up work before the measured interval is excluded. */
  async markBaseline(): Promise<void> {
    await this.sample();
    this.baselineCpu.clear();
    for (const [key, ticks] of this.lastCpu) this.baselineCpu.set(key, ticks);
    this.peakRssPages = 0;
  }

  /** Takes a last sample and stops. */
  async stop(): Promise<TreeUsage> {
    clearInterval(this.timer);
    await this.sample();
    let ticks = 0;
    for (const [key, total] of this.lastCpu) ticks += total - (this.baselineCpu.get(key) ?? 0);
    return {
      cpuSeconds: ticks / this.ticksPerSecond,
      peakRssBytes: this.peakRssPages * this.pageSize,
      processes: this.lastCpu.size,
      samples: this.samples,
    };
  }
}

async function getconf(name: string): Promise<number> {
  const { stdout } = await execFileAsync("getconf", [name]);
  const value = Number(stdout.trim());
  if (!Number.isFinite(value) || value <= 0) throw new Error(`getconf ${name} printed ${stdout.trim()}`);
  return value;
}
