import type { StallSummary } from "./stall.js";
import type { WrkResult } from "./wrk.js";

export interface ThroughputRow extends WrkResult {
  object: string;
  /**
   * "plain at cache offset": plain nginx sending the segment from the byte at which live360's
   * cache file holds it (a Range request), so only the cache-hit machinery differs.
   */
  server: "plain" | "plain at cache offset" | "live360" | "reference";
  /**
   * CPU seconds the server's processes used during the run. Requests per server CPU-second is
   * its capacity when the client is not the limit: for 2 MB segments the one-core client is.
   */
  serverCpuSeconds: number;
}

export interface OffloadRow {
  edge: "live360" | "reference";
  viewers: number;
  seconds: number;
  clientRequests: number;
  originRequests: number;
  originPlaylistRequests: number;
  originSegmentRequests: number;
  /** origin requests ÷ client requests. */
  offloadRatio: number;
  clientErrors: number;
  segmentsPlayed: number;
}

export interface FailoverRow extends StallSummary {
  edge: "live360" | "reference";
  scenario: "primary SIGKILLed" | "primary's stream stopped (404)" | "primary's host hung";
  secondsAfterEvent: number;
}

export interface EdgeBenchReport {
  date: string;
  machine: { cpus: number; cpuModel: string; loadAverage1mAtStart: number; loadAverage1mAtEnd: number; nginx: string; node: string };
  settings: { wrkSeconds: number; wrkThreads: number; clientCpu: number; serverCpu: number; viewers: number; offloadSeconds: number; failoverViewers: number; failoverSeconds: number };
  throughput: ThroughputRow[];
  offload: OffloadRow[];
  failover: FailoverRow[];
}

const LABEL = {
  plain: "plain nginx (disk)",
  "plain at cache offset": "plain nginx (disk), from the cache body's offset",
  live360: "live360 edge",
  reference: "reference edge",
} as const;

function table(header: string[], rows: string[][]): string[] {
  return [`| ${header.join(" | ")} |`, `|${header.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)];
}

const fixed = (n: number, digits = 0): string => n.toFixed(digits);
const ratio = (r: number): string => (r > 0 ? `1/${fixed(1 / r)}` : "0");

/** Requests served per CPU-second the server spent: its capacity per fully used core. */
export function perServerCpuSecond(row: Pick<ThroughputRow, "requests" | "serverCpuSeconds">): number {
  return row.serverCpuSeconds > 0 ? row.requests / row.serverCpuSeconds : Number.NaN;
}

function throughputTable(report: EdgeBenchReport): string[] {
  const cellOf = (row: ThroughputRow, server: ThroughputRow["server"]) =>
    report.throughput.find((p) => p.server === server && p.object === row.object && p.connections === row.connections);
  const relative = (row: ThroughputRow, baseline: ThroughputRow | undefined, measure: (r: ThroughputRow) => number): string =>
    baseline ? `${fixed((measure(row) / measure(baseline)) * 100)} %` : "–";
  const servers = Object.keys(LABEL);
  const sorted = [...report.throughput].sort(
    (a, b) => a.object.localeCompare(b.object) || a.connections - b.connections || servers.indexOf(a.server) - servers.indexOf(b.server),
  );
  const rows = sorted.map((row) => {
    const plain = cellOf(row, "plain");
    const sameOffset = row.server === "live360" || row.server === "reference" ? cellOf(row, "plain at cache offset") : undefined;
    return [
      row.object,
      String(row.connections),
      LABEL[row.server],
      fixed(row.requestsPerSecond),
      fixed(row.p99Ms, 1),
      relative(row, plain, (r) => r.requestsPerSecond),
      relative(row, sameOffset, (r) => r.requestsPerSecond),
      fixed(perServerCpuSecond(row)),
      relative(row, plain, perServerCpuSecond),
      String(row.errors),
    ];
  });
  return table(
    ["object", "connections", "server", "requests/s", "p99 ms", "vs plain nginx", "vs plain nginx from the same offset", "requests per server CPU-s", "vs plain nginx", "errors"],
    rows,
  );
}

function failoverTable(report: EdgeBenchReport): string[] {
  return table(
    ["scenario", "edge", "delivery stall max ms", "p99 ms", "baseline max ms", "playback stall max ms", "errors after", "viewers with errors", "viewers with no segment after"],
    report.failover.map((f) => [
      f.scenario,
      LABEL[f.edge],
      `${f.viewersStillWaiting > 0 ? "≥ " : ""}${f.deliveryStallMs.max}`,
      String(f.deliveryStallMs.p99),
      String(f.baselineDeliveryStallMs.max),
      `${f.viewersStillWaiting > 0 ? "≥ " : ""}${f.playbackStallMs.max}`,
      String(f.errorsAfterEvent),
      `${f.viewersWithErrors}/${f.viewers}`,
      `${f.viewersStillWaiting}/${f.viewers}`,
    ]),
  );
}

export function markdownReport(report: EdgeBenchReport): string {
  const m = report.machine;
  const s = report.settings;
  return [
    `Edge benchmark, ${report.date.slice(0, 16).replace("T", " ")} UTC: ${m.cpus} CPUs (${m.cpuModel}), Debian nginx ${m.nginx}, Node ${m.node}, ` +
      `load average ${fixed(m.loadAverage1mAtStart, 2)} at the start and ${fixed(m.loadAverage1mAtEnd, 2)} at the end. Both edges run on the same nginx ` +
      `with their own configuration (live360: renderNginxConf; reference: reference-conf.ts, from ../shared/reference-architecture.md); no access log on any.`,
    "",
    `### Throughput (wrk -t${s.wrkThreads} pinned to CPU ${s.clientCpu}, every server pinned to CPU ${s.serverCpu}, ${s.wrkSeconds} s per cell, cached objects)`,
    "",
    ...throughputTable(report),
    "",
    "Requests per server CPU-second = requests ÷ CPU time of the server's processes during the cell: the server's capacity per fully used core. " +
      "Playlists are server-bound (the server core is saturated), so both columns agree. 2 MB segments are client-bound: the one-core wrk is saturated copying " +
      "2+ GB/s out of loopback, and it copies slower when the sender's pages are sent from an offset that is not page-aligned — which is where nginx keeps a " +
      "cached body, after the stored header in the cache file. \"From the cache body's offset\" is plain nginx sending the same file from that byte " +
      "(a Range request): the same bytes from the same offset, so the \"vs plain nginx from the same offset\" column isolates what the cache hit itself costs. Over a network card the " +
      "receiver gets freshly received buffers and the sender's offset does not reach it. In the client-bound cells the server's CPU per request swings " +
      "from cell to cell: it is small, and the kernel charges part of the loopback receive work to whichever process happens to be running.",
    "",
    `### Origin offload (${report.offload[0]?.viewers ?? s.viewers} simulated hls.js-like live viewers for ${s.offloadSeconds} s, two real origins fed by one encoder, 2 s segments)`,
    "",
    ...table(
      ["edge", "client requests", "origin requests (playlists + segments)", "offload ratio", "client errors", "segments played"],
      report.offload.map((o) => [
        LABEL[o.edge],
        String(o.clientRequests),
        `${o.originRequests} (${o.originPlaylistRequests} + ${o.originSegmentRequests})`,
        ratio(o.offloadRatio),
        String(o.clientErrors),
        String(o.segmentsPlayed),
      ]),
    ),
    "",
    `### Failover (${s.failoverViewers} viewers for ${s.failoverSeconds} s, the failure a third of the way in)`,
    "",
    ...failoverTable(report),
    "",
    "Delivery stall: per viewer, the longest wait for the next segment beyond the 2 s live cadence, over the gaps that end after the failure " +
      "(or are still open at the end: \"≥\"); baseline: the same over the same time before the failure (what polling alone causes). " +
      "Playback stall: how long a player holding what it downloaded (hls.js starts three segments behind live) would have stood still. " +
      "\"Host hung\": a TCP relay in front of the primary stops answering (connections accepted, nothing sent), as a frozen node does.",
    "",
  ].join("\n");
}
