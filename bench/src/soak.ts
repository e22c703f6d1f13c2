/**
 * `make soak` (issue 13): a real origin fed for SOAK_SECONDS (default 3600) by an FFmpeg encoder
 * that reconnects every SOAK_RECONNECT_SECONDS (default 180), sampled every SOAK_SAMPLE_SECONDS
 * (default 10): the origin's RSS and open descriptors over time, and the segment numbering (a
 * number no playlist listed is a gap). Target: no growth after warm-up, no gap. Results in
 * bench/results/soak.{json,md,svg}; `make test` runs an 80 s version (workloads/origin/src/soak.test.ts).
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { makeTestClip, runSoak, tempDir, type SoakReport } from "@live360/testkit";
import { log } from "./run.js";

const RESULTS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../results");
const MIB = 1024 * 1024;

function envSeconds(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name}=${process.env[name]}: give a number of seconds above 0`);
  return value;
}

/** RSS (MiB, left axis) and descriptors (right axis) over time, one line each. */
function chart(report: SoakReport): string {
  const [width, height, pad] = [720, 260, 40];
  const samples = report.samples;
  const maxT = Math.max(1, ...samples.map((s) => s.atSeconds));
  const maxRss = Math.max(1, ...samples.map((s) => s.rssBytes / MIB)) * 1.2;
  const maxFd = Math.max(1, ...samples.map((s) => s.descriptors)) * 1.2;
  const x = (t: number): number => pad + ((width - 2 * pad) * t) / maxT;
  const y = (v: number, max: number): number => height - pad - ((height - 2 * pad) * v) / max;
  const line = (values: number[], max: number, color: string): string =>
    `<polyline fill="none" stroke="${color}" stroke-width="2" points="${samples.map((s, i) => `${x(s.atSeconds).toFixed(1)},${y(values[i]!, max).toFixed(1)}`).join(" ")}"/>`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${pad}" y="20">origin RSS (MiB, blue, 0–${Math.round(maxRss)}) and open descriptors (orange, 0–${Math.round(maxFd)}) over ${Math.round(maxT)} s; ${report.reconnects} reconnects</text>`,
    `<line x1="${pad}" y1="${height - pad}" x2="${width - pad}" y2="${height - pad}" stroke="#888"/>`,
    line(samples.map((s) => s.rssBytes / MIB), maxRss, "#1f77b4"),
    line(samples.map((s) => s.descriptors), maxFd, "#ff7f0e"),
    `</svg>`,
    "",
  ].join("\n");
}

function markdown(report: SoakReport): string {
  const first = report.samples[0]!;
  const last = report.samples.at(-1)!;
  return [
    `# Soak (make soak)`,
    "",
    `${report.options.seconds} s of a 320x160 stream (ladder ${report.options.ladder ?? "source,320x160:300k"}), the encoder reconnecting every ${report.options.reconnectEverySeconds} s, sampled every ${report.options.sampleEverySeconds} s; warm-up ${report.options.warmupSeconds} s.`,
    "",
    `| | value |`,
    `|---|---|`,
    `| reconnects | ${report.reconnects} |`,
    `| segments listed | ${report.segmentsSeen} |`,
    `| segment numbers never listed (gaps) | ${report.missingSegments.length} |`,
    `| origin RSS first → last sample | ${(first.rssBytes / MIB).toFixed(0)} → ${(last.rssBytes / MIB).toFixed(0)} MiB |`,
    `| RSS growth after warm-up (peak − at warm-up end) | ${(report.rssGrowthAfterWarmupBytes / MIB).toFixed(1)} MiB |`,
    `| open descriptors first → last sample | ${first.descriptors} → ${last.descriptors} |`,
    `| descriptor spread after warm-up | ${report.descriptorSpreadAfterWarmup} |`,
    "",
    `![RSS and descriptors over time](soak.svg)`,
    "",
  ].join("\n");
}

async function main(): Promise<void> {
  const dir = await tempDir("soak-bench");
  const clip = await makeTestClip(dir, { seconds: 4, gopSeconds: 2, width: 320, height: 160, videoKbps: 300 });
  const seconds = envSeconds("SOAK_SECONDS", 3600);
  const report = await runSoak({
    dir,
    clip,
    seconds,
    reconnectEverySeconds: envSeconds("SOAK_RECONNECT_SECONDS", 180),
    sampleEverySeconds: envSeconds("SOAK_SAMPLE_SECONDS", 10),
    warmupSeconds: Math.min(120, seconds / 4),
    onSample: (s) => log(`t=${s.atSeconds}s rss=${(s.rssBytes / MIB).toFixed(1)}MiB fds=${s.descriptors} newest=${s.newestSegment ?? "-"}`),
  });
  await mkdir(RESULTS_DIR, { recursive: true });
  await writeFile(path.join(RESULTS_DIR, "soak.json"), JSON.stringify(report, null, 2) + "\n");
  await writeFile(path.join(RESULTS_DIR, "soak.md"), markdown(report));
  await writeFile(path.join(RESULTS_DIR, "soak.svg"), chart(report));
  process.stdout.write(markdown(report));
  if (report.missingSegments.length > 0) process.exitCode = 1;
}

await main();
