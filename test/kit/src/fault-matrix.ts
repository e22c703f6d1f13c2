/**
 * The fault matrix report (issue 13): reads the cases the fault tests reported
 * (test-artifacts/fault-matrix/cases.jsonl), writes test-artifacts/fault-matrix/report.md
 * (case | fault | healthy stream | lost | survived), prints it, and exits 1 when a case of the
 * list below did not report — so the matrix cannot shrink silently when a test is renamed,
 * skipped or dropped — or when a test reports a case the list does not have.
 *
 *   node test/kit/dist/fault-matrix.js --reset       clears the lines (before jest: no stale lines count)
 *   node test/kit/dist/fault-matrix.js               the report, after jest
 *   node test/kit/dist/fault-matrix.js --publish F   the report, also copied to F (make faults: bench/results/fault-matrix.md)
 *   node test/kit/dist/fault-matrix.js --test-files  the compiled test files that report (what make faults runs)
 */
import { copyFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { FAULT_MATRIX_DIR, FAULT_MATRIX_LINES, parseFaultLines, renderFaultMatrix, type ExpectedFaultCase } from "./fault-matrix-report.js";

const ORIGIN = "workloads/origin/src";

/** Every case of the matrix, in report order, with the test file that reports it. */
export const EXPECTED_FAULT_CASES: readonly ExpectedFaultCase[] = [
  // Hostile RTMP publishers and the ingest limits (the classes of issue 13).
  { id: "rtmp-truncated-avc-header", source: `${ORIGIN}/hostile-publishers.test.ts` },
  { id: "rtmp-malformed-avc-header", source: `${ORIGIN}/hostile-publishers.test.ts` },
  { id: "rtmp-foreign-video-codec", source: `${ORIGIN}/hostile-publishers.test.ts` },
  { id: "rtmp-audio-only", source: `${ORIGIN}/hostile-publishers.test.ts` },
  { id: "rtmp-name-taken", source: `${ORIGIN}/hostile-publishers.test.ts` },
  { id: "rtmp-bad-tcurl-and-garbage", source: `${ORIGIN}/hostile-publishers.test.ts` },
  { id: "rtmp-absurd-timestamps", source: `${ORIGIN}/hostile-publishers.test.ts` },
  { id: "rtmp-connection-flood", source: `${ORIGIN}/hostile-publishers.test.ts` },
  { id: "rtmp-silent-clients", source: `${ORIGIN}/hostile-publishers.test.ts` },
  { id: "rtmp-chunk-abuse", source: `${ORIGIN}/hostile-publishers.test.ts` },
  { id: "rtmp-too-many-streams", source: `${ORIGIN}/hostile-publishers.test.ts` },
  // Hostile HTTP clients.
  { id: "http-slowloris", source: `${ORIGIN}/hostile-http.test.ts` },
  { id: "http-garbage-and-oversized-headers", source: `${ORIGIN}/hostile-http.test.ts` },
  { id: "http-connection-flood", source: `${ORIGIN}/hostile-http.test.ts` },
  { id: "http-non-reading-client", source: `${ORIGIN}/hostile-http.test.ts` },
  // The fuzzed ingest.
  { id: "fuzz-regression-corpus", source: `${ORIGIN}/fuzz.test.ts` },
  { id: "fuzz-tag-mutations", source: `${ORIGIN}/fuzz.test.ts` },
  { id: "fuzz-amf0-commands", source: `${ORIGIN}/fuzz.test.ts` },
  { id: "fuzz-handshakes-and-chunks", source: `${ORIGIN}/fuzz.test.ts` },
  { id: "fuzz-descriptor-leak", source: `${ORIGIN}/fuzz.test.ts` },
  // FFmpeg.
  { id: "ffmpeg-sigkill", source: `${ORIGIN}/ffmpeg-faults.test.ts` },
  { id: "ffmpeg-sigstop", source: `${ORIGIN}/ffmpeg-faults.test.ts` },
  { id: "ffmpeg-slow", source: `${ORIGIN}/ffmpeg-faults.test.ts` },
  // Load and disk.
  { id: "publisher-faster-than-real-time", source: `${ORIGIN}/backpressure.test.ts` },
  { id: "disk-full", source: `${ORIGIN}/backpressure.test.ts` },
  // S3 and SQS.
  { id: "s3-down", source: `${ORIGIN}/upload-sink.test.ts` },
  { id: "s3-hung", source: `${ORIGIN}/upload-sink.test.ts` },
  { id: "sqs-hung", source: `${ORIGIN}/upload-sink.test.ts` },
  // The origin process itself.
  { id: "origin-sigkill-mid-recording", source: `${ORIGIN}/crash-recovery.test.ts` },
];

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** `workloads/origin/src/x.test.ts` → `workloads/origin/dist/x.test.js`, what jest runs. */
export function compiledTestFiles(cases: readonly ExpectedFaultCase[]): string[] {
  return [...new Set(cases.map((c) => c.source.replace("/src/", "/dist/").replace(/\.ts$/, ".js")))];
}

async function main(args: string[]): Promise<number> {
  if (args.includes("--test-files")) {
    console.log(compiledTestFiles(EXPECTED_FAULT_CASES).join(" "));
    return 0;
  }
  const reportFile = path.join(FAULT_MATRIX_DIR, "report.md");
  if (args.includes("--reset")) {
    await rm(FAULT_MATRIX_LINES, { force: true });
    await rm(reportFile, { force: true });
    return 0;
  }
  const text = await readFile(FAULT_MATRIX_LINES, "utf8").catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return "";
    throw err;
  });
  const matrix = renderFaultMatrix(EXPECTED_FAULT_CASES, parseFaultLines(text));
  const document = [
    "# Fault matrix",
    "",
    "Each case beside a second, healthy stream on the same origin, which must keep playing. Written by",
    "`make faults` (and `make test`) from what the tests measured; the cases are listed in",
    "test/kit/src/fault-matrix.ts. Healthy stream: what a player polling its playlist every 250 ms saw",
    "while the fault ran; missing = segment numbers never listed, and media time between the segments'",
    "program date-times that no segment covers. The S3 and SQS cases run the origin in the test's process",
    "(its clients' timeouts shortened, 2 s segments); the others a `live360 origin` process (1 s segments).",
    "",
    matrix.markdown,
    "",
  ].join("\n");
  await mkdir(FAULT_MATRIX_DIR, { recursive: true });
  await writeFile(reportFile, document);
  console.log(document);
  console.log(`fault matrix: ${path.relative(ROOT, reportFile)}`);
  if (matrix.missing.length > 0) console.error(`fault matrix: ${matrix.missing.length} expected cases did not report: ${matrix.missing.join(", ")}`);
  if (matrix.unknown.length > 0) console.error(`fault matrix: cases not in EXPECTED_FAULT_CASES (test/kit/src/fault-matrix.ts): ${matrix.unknown.join(", ")}`);
  if (matrix.missing.length > 0 || matrix.unknown.length > 0) return 1;
  // Only a complete matrix replaces the published one.
  const publishAt = args.indexOf("--publish");
  if (publishAt >= 0) {
    const target = path.resolve(ROOT, args[publishAt + 1] ?? "bench/results/fault-matrix.md");
    await copyFile(reportFile, target);
    console.log(`fault matrix copied to ${path.relative(ROOT, target)}`);
  }
  return 0;
}

// Run as a script only, so a test can import the list.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
