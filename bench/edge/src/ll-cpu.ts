/**
 * `make bench-ll-cpu` (issue #15: origin CPU per media second, LL-HLS ÷ classic ≤ 1.10× with the
 * same ladder): an LL-HLS (CMAF) origin and a TS 1 s origin make the same transcoding ladder from
 * one encoder, no viewers; their process trees' CPU (Node + FFmpeg) is compared over BENCH_SECONDS
 * (40), BENCH_RUNS (3) times with fresh origins, so one noisy window does not decide. The same
 * phase ends `make bench-latency`; this runs it alone, in a few minutes.
 *
 * Env: BENCH_FULL_LADDER (`source,480x240:500k,320x160:250k`), BENCH_PART_TARGET /
 * BENCH_PART_HOLD_BACK (env.ts). Writes ll-cpu.{md,json} to BENCH_RESULTS_DIR (bench/results).
 */
import { mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { tempDir } from "@live360/testkit";
import { percentile } from "@live360/bench/dist/analysis.js";
import { envNumber, llHlsBenchSettings } from "./env.js";
import { fullLadderCpu, type CpuComparison } from "./origin-cpu.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const RESULTS_DIR = process.env.BENCH_RESULTS_DIR ?? path.join(ROOT, "bench/results");

async function main(): Promise<void> {
  const seconds = envNumber("BENCH_SECONDS", 40);
  const runs = envNumber("BENCH_RUNS", 3);
  const ladder = process.env.BENCH_FULL_LADDER ?? "source,480x240:500k,320x160:250k";
  const llHls = llHlsBenchSettings();
  const dir = await tempDir("bench-ll-cpu");
  const results: CpuComparison[] = [];
  for (let run = 0; run < runs; run++) {
    const result = await fullLadderCpu(path.join(dir, `run-${run}`), ladder, llHls, seconds, "test");
    console.log(`run ${run + 1}/${runs}: LL-HLS ${result.cmafCpuSecondsPerMediaSecond.toFixed(3)}, TS ${result.tsCpuSecondsPerMediaSecond.toFixed(3)} CPU-s per media second: ${result.ratio.toFixed(3)}×`);
    results.push(result);
  }
  const ratios = results.map((r) => r.ratio);
  const report = [
    "# Origin CPU, LL-HLS against TS 1 s (`make bench-ll-cpu`)",
    "",
    `${new Date().toISOString()}: ladder \`${ladder}\`, LL-HLS ${llHls.label}; one encoder (x264 zerolatency, 640x320, 25 fps, a keyframe a second) sending to both origins; ${runs} runs of ${seconds} s with fresh origins, no viewers; process tree CPU (Node + FFmpeg); ${os.cpus().length} cores.`,
    "",
    "| run | LL-HLS CPU-s / media s | TS 1 s CPU-s / media s | LL-HLS ÷ TS |",
    "|---|---|---|---|",
    ...results.map((r, i) => `| ${i + 1} | ${r.cmafCpuSecondsPerMediaSecond.toFixed(3)} | ${r.tsCpuSecondsPerMediaSecond.toFixed(3)} | ${r.ratio.toFixed(3)}× |`),
    `| **median** | | | **${percentile(ratios, 50).toFixed(2)}×** |`,
    "",
  ].join("\n");
  await mkdir(RESULTS_DIR, { recursive: true });
  await writeFile(path.join(RESULTS_DIR, "ll-cpu.md"), report);
  await writeFile(path.join(RESULTS_DIR, "ll-cpu.json"), JSON.stringify({ at: new Date().toISOString(), ladder, seconds, runs, llHls: llHls.label, results }, null, 2) + "\n");
  console.log(report);
}

await main();
