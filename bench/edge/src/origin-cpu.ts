/** Origin CPU, LL-HLS (CMAF) against classic TS, for the same ladder fed by one encoder (issue #15: ≤ 1.10×). */
import path from "node:path";
import { Cleanup, freePort, getText, startOriginProcess, waitFor, type OriginProcess } from "@live360/testkit";
import { ProcessTreeSampler } from "@live360/bench/dist/proc-tree.js";
import type { LlHlsBenchSettings } from "./env.js";
import { startGlassSource } from "./glass.js";

export interface CpuComparison {
  ladder: string;
  when: string;
  cmafCpuSecondsPerMediaSecond: number;
  tsCpuSecondsPerMediaSecond: number;
  ratio: number;
}

/** The CPU of two origins' process trees (Node + FFmpeg) over the next `seconds`. */
export async function compareOriginCpu(cmaf: OriginProcess, ts: OriginProcess, seconds: number, ladder: string, when = "during the latency run"): Promise<CpuComparison> {
  const samplers = await Promise.all([cmaf, ts].map((o) => ProcessTreeSampler.create(o.process.pid)));
  for (const sampler of samplers) {
    sampler.start(500);
    await sampler.markBaseline();
  }
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const [cmafCpu, tsCpu] = await Promise.all(samplers.map((s) => s.stop()));
  return { ladder, when, cmafCpuSecondsPerMediaSecond: cmafCpu!.cpuSeconds / seconds, tsCpuSecondsPerMediaSecond: tsCpu!.cpuSeconds / seconds, ratio: cmafCpu!.cpuSeconds / tsCpu!.cpuSeconds };
}

/** An LL-HLS and a 1 s TS origin making `ladder` from one encoder, no viewers: their CPU side by side. */
export async function fullLadderCpu(dir: string, ladder: string, llHls: LlHlsBenchSettings, seconds: number, stream: string): Promise<CpuComparison> {
  const cleanup = new Cleanup();
  try {
    const start = async (name: string, args: string[]): Promise<OriginProcess> => {
      const started = await startOriginProcess({ name, rtmpPort: await freePort(), httpPort: await freePort(), dataDir: path.join(dir, name), stream, args: ["--ladder", ladder, "--low-latency", ...args] });
      cleanup.add(null, () => started.process.stop());
      return started;
    };
    const cmaf = await start("cmaf", llHls.args);
    const ts = await start("ts", []);
    cleanup.add(await startGlassSource([cmaf.rtmp, ts.rtmp]), (s) => s.stop());
    for (const origin of [cmaf, ts]) {
      await waitFor(`${origin.name}: a master playlist`, async () => (await getText(`${origin.http}/hls/${stream}/master.m3u8`).catch(() => undefined))?.status === 200, { timeoutMs: 60_000, intervalMs: 250 });
    }
    // Past the start (FFmpeg's probing, the first segments) before measuring.
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    return await compareOriginCpu(cmaf, ts, seconds, ladder, "alone, no viewers");
  } finally {
    await cleanup.run();
  }
}

