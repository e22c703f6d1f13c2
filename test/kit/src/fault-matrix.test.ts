/**
 * The fault matrix's own parts, without the fault tests: the report names every missing case,
 * every expected case is reported by the file the list says, and the playlist watch counts what
 * a player would have seen.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { fileURLToPath } from "node:url";
import { EXPECTED_FAULT_CASES, compiledTestFiles } from "./fault-matrix.js";
import { parseFaultLines, renderFaultMatrix, type FaultReport } from "./fault-matrix-report.js";
import { freePort } from "./net.js";
import { watchPlaylist } from "./stream-watch.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

const report = (id: string, over: Partial<FaultReport> = {}): FaultReport => ({
  case: id,
  fault: "a fault | with a pipe",
  healthyStream: { seconds: 10, newSegments: 9, skippedSegments: 0, missingMediaSeconds: 0, listedMediaSeconds: 12, longestGapSeconds: 1.4, discontinuities: 0, failedPolls: 0, polls: 40 },
  lost: "nothing",
  survived: true,
  ...over,
});

describe("the fault matrix report", () => {
  const expected = [
    { id: "a", source: "a.test.ts" },
    { id: "b", source: "b.test.ts" },
  ];

  test("a listed case that did not report is a row that says so, and makes the matrix incomplete", () => {
    const matrix = renderFaultMatrix(expected, [report("a")]);
    expect(matrix.missing).toEqual(["b"]);
    expect(matrix.unknown).toEqual([]);
    expect(matrix.markdown).toContain("| b | **not reported** (b.test.ts) |");
    expect(matrix.markdown).toContain("1 of 2 cases reported; missing: b.");
  });

  test("a reported case the list does not have is named; the latest report of a case wins", () => {
    const matrix = renderFaultMatrix(expected, [report("a", { lost: "first" }), report("b"), report("a", { lost: "second" }), report("c")]);
    expect(matrix.missing).toEqual([]);
    expect(matrix.unknown).toEqual(["c"]);
    expect(matrix.markdown).toContain("| second |");
    expect(matrix.markdown).not.toContain("| first |");
  });

  test("cells escape pipes; the healthy stream, a case without one and a killed process read as measured", () => {
    const matrix = renderFaultMatrix(expected, [
      report("a"),
      report("b", { healthyStream: { notApplicable: "the process is killed" }, survived: false, recovery: "restarted" }),
    ]);
    expect(matrix.markdown).toContain("| a | a fault \\| with a pipe | 9 new segments in 10.0 s, none missing, longest gap 1.4 s | nothing | yes |");
    expect(matrix.markdown).toContain("| n/a: the process is killed | nothing | no; restarted |");
  });

  test("a line that is not JSON fails the report instead of being skipped", () => {
    expect(() => parseFaultLines(`${JSON.stringify(report("a"))}\n{not json\n`)).toThrow(/line 2 is not JSON/);
    expect(parseFaultLines(`${JSON.stringify(report("a"))}\n\n`)).toHaveLength(1);
  });

  test("every expected case is reported, by name, in the test file the list gives; ids are unique", async () => {
    expect(new Set(EXPECTED_FAULT_CASES.map((c) => c.id)).size).toBe(EXPECTED_FAULT_CASES.length);
    for (const { id, source } of EXPECTED_FAULT_CASES) {
      expect({ id, inSource: (await readFile(`${ROOT}${source}`, "utf8")).includes(`"${id}"`) }).toEqual({ id, inSource: true });
    }
    expect(compiledTestFiles([{ id: "x", source: "workloads/origin/src/x.test.ts" }])).toEqual(["workloads/origin/dist/x.test.js"]);
  });
});

describe("watching a live playlist", () => {
  let server: Server;
  let url: string;
  let playlist = "";
  let served = 0;

  beforeAll(async () => {
    server = createServer((_req, res) => {
      served += 1;
      if (playlist === "") res.writeHead(404).end();
      else res.writeHead(200, { "Content-Type": "application/vnd.apple.mpegurl" }).end(playlist);
    });
    const port = await freePort();
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${port}/index.m3u8`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  /** 1 s segments, each starting `n` s after a fixed time, but `late` s later from `restartAt` on. */
  const media = (numbers: number[], restart?: { at: number; late: number }): string =>
    [
      "#EXTM3U",
      "#EXT-X-TARGETDURATION:1",
      ...numbers.flatMap((n) => [
        ...(n === restart?.at ? ["#EXT-X-DISCONTINUITY"] : []),
        "#EXTINF:1.000,",
        `#EXT-X-PROGRAM-DATE-TIME:${new Date(Date.UTC(2026, 0, 1) + (n + (restart && n >= restart.at ? restart.late : 0)) * 1000).toISOString()}`,
        `seg_${String(n).padStart(5, "0")}.ts`,
      ]),
    ].join("\n");

  /** Serves `text` until the watch has fetched it at least twice. */
  async function serve(text: string): Promise<void> {
    playlist = text;
    const until = served + 2;
    while (served < until) await new Promise((resolve) => setTimeout(resolve, 5));
  }

  test("counts new segments, the numbers no poll listed, media missing, discontinuities and polls without a playlist", async () => {
    const watch = watchPlaylist(url, { intervalMs: 10 });
    await serve(media([1, 2, 3]));
    await serve(media([2, 3, 4]));
    await serve("");
    // 5 and 6 were never listed; 7 follows a restart and starts 2 s later still: 4 s of media missing.
    const restart = { at: 7, late: 2 };
    await serve(media([3, 4, 7], restart));
    await serve(media([4, 7, 8], restart));
    const seen = await watch.stop();
    expect(seen).toMatchObject({ newSegments: 3, skippedSegments: 2, missingMediaSeconds: 4, listedMediaSeconds: 6, discontinuities: 1 });
    expect(seen.failedPolls).toBeGreaterThanOrEqual(2);
    expect(seen.polls).toBeGreaterThan(seen.failedPolls);
  });
});
