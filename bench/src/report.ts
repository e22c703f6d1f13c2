/** One stack's measured figures (or why it was skipped). */
export interface RunResult {
  id: string;
  label: string;
  segmentSeconds: number;
  skipped?: string;
  /** The machine's 1-minute load average as the run started: other work skews delays (CPU-seconds much less). */
  loadAverage1m?: number;
  cpuSeconds?: number;
  /** With several rounds: the median; `cpuRounds` has every round's figure. */
  cpuPerMediaSecond?: number;
  /** With several rounds: the median of the per-round ratios (each against that round's floor). */
  ratioToFloor?: number;
  cpuRounds?: number[];
  ratioRounds?: number[];
  peakRssMiB?: number;
  processes?: number;
  /** Mean EXTINF actually written, which follows the source's keyframes. */
  measuredSegmentSeconds?: number;
  availability?: { p50: number; p95: number; max: number; segments: number };
  liveEdge?: { holdBack1: number; holdBack3: number };
  /** Per variant: its playlist, the source frame its first segment starts with, its segment lengths and delays. */
  variants?: { playlist: string; firstFrame: number | undefined; durations: number[]; delays: number[] }[];
  /** Whether the stack kept pace with real time (its delays did not grow over the run). */
  keepsUp?: boolean;
  delaySlope?: number;
}

export interface BenchReport {
  date: string;
  machine: { cpus: number; cpuModel: string; loadAverage1m: number; node: string; ffmpeg: string };
  input: { width: number; height: number; fps: number; seconds: number; videoKbps: number; gopSeconds: number };
  ladder: string[];
  formula: string;
  rounds: number;
  runs: RunResult[];
}

const fmt = (value: number | undefined, digits = 2): string => (value === undefined || !Number.isFinite(value) ? "–" : value.toFixed(digits));

const COLUMNS: { title: string; cell: (r: RunResult) => string }[] = [
  { title: "stack", cell: (r) => r.label },
  { title: "CPU s / media s", cell: (r) => fmt(r.cpuPerMediaSecond, 3) },
  { title: "× floor", cell: (r) => fmt(r.ratioToFloor) },
  { title: "× floor per round", cell: (r) => (r.ratioRounds ?? []).map((x) => fmt(x)).join(" ") || "–" },
  { title: "peak RSS MiB", cell: (r) => fmt(r.peakRssMiB, 0) },
  { title: "segment s", cell: (r) => fmt(r.measuredSegmentSeconds) },
  { title: "availability p50 s", cell: (r) => fmt(r.availability?.p50) },
  { title: "availability p95 s", cell: (r) => fmt(r.availability?.p95) },
  { title: "live edge (1 seg) s", cell: (r) => fmt(r.liveEdge?.holdBack1) },
  { title: "hls.js default (3 seg) s", cell: (r) => fmt(r.liveEdge?.holdBack3) },
  { title: "keeps up", cell: (r) => (r.keepsUp === undefined ? "–" : r.keepsUp ? "yes" : "no") },
];

function rowsOf(report: BenchReport): string[][] {
  return report.runs.map((r) => (r.skipped ? [r.label, `skipped: ${r.skipped}`, ...COLUMNS.slice(2).map(() => "")] : COLUMNS.map((c) => c.cell(r))));
}

export function textTable(report: BenchReport): string {
  const rows = [COLUMNS.map((c) => c.title), ...rowsOf(report)];
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows.map((row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ")).join("\n");
}

export function markdownTable(report: BenchReport): string {
  const header = `| ${COLUMNS.map((c) => c.title).join(" | ")} |`;
  const rule = `|${COLUMNS.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`;
  const body = rowsOf(report).map((row) => `| ${row.join(" | ")} |`);
  const m = report.machine;
  const i = report.input;
  return [
    `Origin benchmark, ${report.date.slice(0, 10)}: ${i.width}x${i.height} ${i.fps} fps H.264 ${i.videoKbps} kbit/s + AAC, ${i.seconds} s,`,
    `sent with \`ffmpeg -re -c copy\`; ladder ${report.ladder.join(", ")} (x264 veryfast); ${m.cpus} CPUs (${m.cpuModel}), FFmpeg ${m.ffmpeg}.`,
    "",
    header,
    rule,
    ...body,
    "",
    `CPU: user + system time of the stack's whole process tree (sampled from /proc, FFmpeg children included) while the stream ran, per second of media; ` +
      `${report.rounds} rounds, every stack once per round in a rotating order; the table gives the median CPU, the median of the per-round ratios to that round's floor ` +
      `(drift in the machine's speed hits a round's stacks alike), and the delays of the median-CPU round. ${report.formula}`,
    "",
  ].join("\n");
}

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** Two bar panels: CPU per media-second, and availability p95 beside the live-edge delay. */
export function svgChart(report: BenchReport): string {
  const runs = report.runs.filter((r) => !r.skipped);
  const rowHeight = 26;
  const labelWidth = 300;
  const barWidth = 260;
  const panelGap = 40;
  const top = 50;
  const height = top + runs.length * rowHeight + 40;
  const width = labelWidth + 2 * barWidth + panelGap + 80;
  const maxCpu = Math.max(0.001, ...runs.map((r) => r.cpuPerMediaSecond ?? 0));
  const maxDelay = Math.max(0.001, ...runs.map((r) => r.liveEdge?.holdBack1 ?? 0));
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${labelWidth}" y="20" font-weight="bold">CPU seconds per media second</text>`,
    `<text x="${labelWidth + barWidth + panelGap}" y="20" font-weight="bold">delay, seconds</text>`,
    `<text x="${labelWidth + barWidth + panelGap}" y="36" fill="#555">dark: availability p95 · light: live edge (1 segment hold-back)</text>`,
  ];
  runs.forEach((r, i) => {
    const y = top + i * rowHeight;
    const cpu = r.cpuPerMediaSecond ?? 0;
    const cpuWidth = (cpu / maxCpu) * barWidth;
    parts.push(`<text x="${labelWidth - 8}" y="${y + 15}" text-anchor="end">${escapeXml(r.label)}</text>`);
    parts.push(`<rect x="${labelWidth}" y="${y + 3}" width="${cpuWidth.toFixed(1)}" height="16" fill="${r.id === "floor" ? "#888" : r.id.startsWith("live360") ? "#2a7ab0" : "#c0504d"}"/>`);
    parts.push(`<text x="${(labelWidth + cpuWidth + 4).toFixed(1)}" y="${y + 15}">${fmt(cpu, 2)}${r.ratioToFloor ? ` (${fmt(r.ratioToFloor)}×)` : ""}</text>`);
    const x0 = labelWidth + barWidth + panelGap;
    const edge = r.liveEdge?.holdBack1 ?? 0;
    const avail = r.availability?.p95 ?? 0;
    parts.push(`<rect x="${x0}" y="${y + 3}" width="${((edge / maxDelay) * barWidth).toFixed(1)}" height="16" fill="#b8d4e8"/>`);
    parts.push(`<rect x="${x0}" y="${y + 3}" width="${((avail / maxDelay) * barWidth).toFixed(1)}" height="16" fill="#2a5f8a"/>`);
    parts.push(`<text x="${(x0 + (edge / maxDelay) * barWidth + 4).toFixed(1)}" y="${y + 15}">${fmt(avail)} / ${fmt(edge, 1)}</text>`);
  });
  parts.push(`<text x="10" y="${height - 12}" fill="#555">${escapeXml(`${report.input.seconds} s of ${report.input.width}x${report.input.height} ${report.input.fps} fps, ${report.machine.cpus} CPUs, ${report.date.slice(0, 10)}`)}</text>`);
  parts.push("</svg>", "");
  return parts.join("\n");
}
