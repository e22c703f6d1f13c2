import { describe, expect, test } from "@jest/globals";
import { readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { Registry, createLogger } from "@live360/core";
import { freePort, tempDir } from "@live360/testkit";
import { InsightAggregator } from "./aggregator.js";
import { startEdgeInsight, startInsightServer } from "./server.js";

const logger = createLogger("insight-test", { level: "error" });

describe("the insight server on its own", () => {
  test("spooled lines that are not nginx's are counted and dropped, good ones are folded; files are read once settled, then removed", async () => {
    const spoolDir = await tempDir("insight-spool");
    const registry = new Registry();
    const aggregator = new InsightAggregator(registry);
    // A timer that never fires on its own: the test drains when it wants.
    const server = await startInsightServer({ port: await freePort(), spoolDir, aggregator, logger, spoolLimits: { intervalMs: 3_600_000, maxFileBytes: 4096 } });
    const now = Math.floor(Date.now() / 1000);
    const cmcd = encodeURIComponent('ot=v,sid="s1",br=900');
    const beacon = JSON.stringify({ v: 1, sid: "s1", cid: "demo", startupMs: 800, playedMs: 9000, rebufferMs: 0, rebuffers: 0, droppedFrames: 0, rungSwitches: 0, errors: [], views: [[0, 0, 90]] });
    const beaconLine = (status: number, body: string) => JSON.stringify({ s: status, beacon: body });
    try {
      await writeFile(
        path.join(spoolDir, `${now - 5}.log`),
        [
          "garbage",
          "{not json",
          '{"s":"200","b":1,"u":"/hls/a/b/c.ts","c":""}',
          '{"s":200,"b":1,"u":"/hls/a/b/c.ts","c":"%E0%A4%A"}',
          '{"s":200,"b":1,"u":"/hls/a/b/c.ts","c":"sid%3Dunquoted"}',
          `{"s":200,"b":1234,"u":"/hls/demo/720p/seg_1.ts","c":"${cmcd}"}`,
          beaconLine(204, beacon),
          beaconLine(204, "{not json"),
          beaconLine(413, ""),
          // A GET answered 405 (or a request the CDN check refused) carries no beacon and counts for nothing.
          beaconLine(405, ""),
          "",
        ].join("\n"),
      );
      // Written this second: nginx may still append to it.
      await writeFile(path.join(spoolDir, `${now}.log`), `{"s":200,"b":10,"u":"/hls/demo/720p/seg_2.ts","c":"${cmcd}"}\n`);
      // Left while the reader was down, longer ago than any viewer window: dropped unread.
      await writeFile(path.join(spoolDir, `${now - 3600}.log`), `{"s":200,"b":10,"u":"/hls/demo/720p/seg_0.ts","c":"${cmcd}"}\n`);
      // A flood larger than the limit: dropped unread.
      await writeFile(path.join(spoolDir, `${now - 4}.log`), `${`{"s":200,"b":10,"u":"/hls/demo/720p/seg_3.ts","c":"${cmcd}"}\n`.repeat(100)}`);
      await writeFile(path.join(spoolDir, "not-a-spool-file"), "x");
      await server.drain();
      const text = await registry.metrics();
      expect(text).toMatch(/rung="720p"\} 1234\n/);
      expect(text).toMatch(/rejected_total\{reason="cmcd-bad-pair"\} 3\n/);
      expect(text).toMatch(/rejected_total\{reason="cmcd-bad-value"\} 2\n/);
      expect(text).toMatch(/rejected_total\{reason="beacon-not-json"\} 1\n/);
      expect(text).toMatch(/rejected_total\{reason="beacon-too-large"\} 1\n/);
      expect(text).toMatch(/rejected_total\{reason="spool-stale"\} 1\n/);
      expect(text).toMatch(/rejected_total\{reason="spool-too-large"\} 1\n/);
      expect(text).toMatch(/live360_edge_viewers\{stream="demo"\} 1\n/);
      expect(text).toMatch(/live360_edge_viewer_startup_seconds_count\{stream="demo"\} 1\n/);
      expect(aggregator.heatmap("demo").samples).toBe(1);
      expect((await readdir(spoolDir)).sort()).toEqual([`${now}.log`, "not-a-spool-file"]);
    } finally {
      await server.close();
      await server.close();
    }
  });

  test("the port taken: a ListenError naming it", async () => {
    const port = await freePort();
    const spoolDir = await tempDir("insight-spool");
    const first = await startEdgeInsight(port, spoolDir, logger);
    try {
      await expect(startEdgeInsight(port, spoolDir, logger)).rejects.toThrow(new RegExp(String(port)));
    } finally {
      await first.server.close();
    }
  });
});
