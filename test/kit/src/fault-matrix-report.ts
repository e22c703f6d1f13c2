/**
 * The fault matrix (issue 13) as one report: each fault test, beside a healthy stream, reports its
 * case here with what it measured — what was done, how the healthy stream fared, what was lost,
 * whether the process survived — as one JSON line in test-artifacts/fault-matrix/cases.jsonl.
 * fault-matrix.ts (run after jest by `make test` and `make faults`) turns the lines into
 * report.md and fails when a case it expects did not report.
 */
import { appendFile, mkdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { watchPlaylist, type StreamWatchResult } from "./stream-watch.js";

/** `<checkout>/test-artifacts`: what test runs measured (git-ignored), as test/kind's results.json. */
export const TEST_ARTIFACTS = fileURLToPath(new URL("../../../test-artifacts/", import.meta.url));
export const FAULT_MATRIX_DIR = path.join(TEST_ARTIFACTS, "fault-matrix");
/** One JSON line per reported case; cleared at the start of a run (`fault-matrix.js --reset`). */
export const FAULT_MATRIX_LINES = path.join(FAULT_MATRIX_DIR, "cases.jsonl");

/** What the fault cost, as the test measured it. */
export interface FaultOutcome {
  /** What was lost, measured: media seconds, segments, connections, files. */
  lost: string;
  /** How the system came back, when it had to (a restart, a retried hand-off). */
  recovery?: string;
  /** The numbers behind `lost`, for whoever reads the JSON lines. */
  measured?: Record<string, number | string | boolean | null>;
}

export interface FaultReport extends FaultOutcome {
  /** An id from fault-matrix.ts's list of expected cases. */
  case: string;
  /** What was done to the origin. */
  fault: string;
  /** The second stream on the same origin, watched while the fault ran; or why there is none. */
  healthyStream: StreamWatchResult | { notApplicable: string };
  /** The origin process (or, in-process, its HTTP server) was still there afterwards. */
  survived: boolean;
}

/** Appends the case to the run's lines; a single write of one short line, so parallel workers do not interleave. */
export async function reportFault(report: FaultReport): Promise<void> {
  await mkdir(FAULT_MATRIX_DIR, { recursive: true });
  await appendFile(FAULT_MATRIX_LINES, `${JSON.stringify({ ...report, at: new Date().toISOString() })}\n`);
}

/** Where a fault case's healthy stream is and how to tell that it, and the origin, are still there. */
export interface HealthyStreamProbe {
  /** The healthy stream's media playlist, watched while the fault runs. */
  playlist: string;
  /** Fails unless the healthy stream goes on (its next segment appears). */
  expectHealthy(): Promise<void>;
  /** The origin (process, or in-process server) is still there. */
  alive(): Promise<boolean> | boolean;
}

/**
 * One case of the fault matrix: runs `fault` with the healthy stream watched, checks that it goes
 * on afterwards, and reports the case with how the healthy stream fared and what `fault` measured
 * as lost. Reported only when all of it passed: a failing case is missing from the matrix, which
 * then fails as well.
 */
export async function runFaultCase(id: string, fault: string, healthy: HealthyStreamProbe, run: () => Promise<FaultOutcome>): Promise<void> {
  const watch = watchPlaylist(healthy.playlist);
  let outcome: FaultOutcome;
  try {
    outcome = await run();
    await healthy.expectHealthy();
  } catch (err) {
    await watch.stop();
    throw err;
  }
  const healthyStream = await watch.stop();
  await reportFault({ case: id, fault, healthyStream, survived: await healthy.alive(), ...outcome });
}

/** A case the matrix must have: when its test does not report it, the report fails. */
export interface ExpectedFaultCase {
  id: string;
  /** The test file that reports it. */
  source: string;
}

export interface FaultMatrix {
  markdown: string;
  /** Expected cases no line reported. */
  missing: string[];
  /** Reported cases the list does not know: the list is stale. */
  unknown: string[];
}

const seconds = (s: number): string => `${s.toFixed(1)} s`;
const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

export function describeHealthyStream(healthy: FaultReport["healthyStream"]): string {
  if ("notApplicable" in healthy) return `n/a: ${healthy.notApplicable}`;
  const missing =
    healthy.skippedSegments === 0 && healthy.missingMediaSeconds < 0.05
      ? "none missing"
      : `${healthy.skippedSegments} skipped, ${seconds(healthy.missingMediaSeconds)} of media missing`;
  const parts = [`${plural(healthy.newSegments, "new segment")} in ${seconds(healthy.seconds)}`, missing, `longest gap ${seconds(healthy.longestGapSeconds)}`];
  if (healthy.discontinuities > 0) parts.push(plural(healthy.discontinuities, "discontinuity", "discontinuities"));
  if (healthy.failedPolls > 0) parts.push(`${healthy.failedPolls} of ${healthy.polls} polls failed`);
  return parts.join(", ");
}

/** A Markdown table cell: pipes escaped, no line breaks. */
const cell = (text: string): string => text.replace(/\|/g, "\\|").replace(/\s*\n\s*/g, " ");

/** Parses the JSON lines; a line that does not parse is an error, not something to skip. */
export function parseFaultLines(text: string): FaultReport[] {
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line, i) => {
      try {
        return JSON.parse(line) as FaultReport;
      } catch (err) {
        throw new Error(`fault matrix line ${i + 1} is not JSON (${(err as Error).message}): ${line.slice(0, 200)}`);
      }
    });
}

/**
 * The matrix in the order of `expected`, the last report of each case (a case reported twice in
 * one run, e.g. a re-run file, shows its latest), missing cases as rows that say so.
 */
export function renderFaultMatrix(expected: readonly ExpectedFaultCase[], reports: readonly FaultReport[]): FaultMatrix {
  const latest = new Map<string, FaultReport>();
  for (const report of reports) latest.set(report.case, report);
  const known = new Set(expected.map((c) => c.id));
  const missing = expected.filter((c) => !latest.has(c.id)).map((c) => c.id);
  const unknown = [...latest.keys()].filter((id) => !known.has(id));
  const rows = expected.map(({ id, source }) => {
    const report = latest.get(id);
    if (!report) return `| ${id} | **not reported** (${source}) | | | |`;
    const survived = report.survived ? "yes" : "no";
    const recovery = report.recovery ? `; ${report.recovery}` : "";
    return `| ${id} | ${cell(report.fault)} | ${cell(describeHealthyStream(report.healthyStream))} | ${cell(report.lost)} | ${cell(survived + recovery)} |`;
  });
  const markdown = [
    "| case | fault | healthy stream | lost | survived |",
    "|---|---|---|---|---|",
    ...rows,
    "",
    `${expected.length - missing.length} of ${expected.length} cases reported${missing.length ? `; missing: ${missing.join(", ")}` : ""}${unknown.length ? `; not in the list: ${unknown.join(", ")}` : ""}.`,
  ].join("\n");
  return { markdown, missing, unknown };
}
