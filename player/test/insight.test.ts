/**
 * Viewer insight end to end: the built player in headless Chromium plays a live stream from a
 * real origin through the edge (real nginx, insight on). Its CMCD (hls.js's own) and its beacons
 * must come out of the edge as this one viewer: one session, a startup time, played time, bytes
 * per rung, and the heatmap's hot cell where the test turned the view — with nothing rejected.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { httpGet, waitFor } from "@live360/testkit";
import { lookAt, pixel, readCanvas, screenshot, waitForPlayback } from "./harness.js";
import { startLiveOriginBench, type LiveOriginBench } from "./live-origin-bench.js";

describe("player → edge: CMCD and beacons become viewer metrics and a heatmap", () => {
  let bench: LiveOriginBench;
  let metricsText: () => Promise<string>;
  const beacons: string[] = [];

  beforeAll(async () => {
    bench = await startLiveOriginBench({ name: "player-insight", ladder: "source,320x160:300k", throughEdge: true });
    bench.page.on("request", (request) => {
      if (new URL(request.url()).pathname === "/insight/beacon") beacons.push(request.postData() ?? "");
    });
    metricsText = async () => (await httpGet(`http://127.0.0.1:${bench.edge!.config.metricsPort}/metrics`)).body.toString();
  }, 240_000);

  afterAll(() => bench?.close(), 60_000);

  const value = async (series: string): Promise<number | undefined> => {
    const line = (await metricsText()).split("\n").find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };

  test("one viewer, its startup and play time, bytes per rung, and the heatmap's hot cell where it looked", async () => {
    await waitForPlayback(bench.page, 3, 120_000);
    // 55° left and 25° up: in the frame's terms yaw −55, pitch 25 — column floor((−55 + 180) / 10) = 12,
    // row floor((90 − 25) / 10) = 6, away from every cell border.
    await lookAt(bench.page, 55, 25);
    const heatmapUrl = `${bench.edge!.url}/hls/test/heatmap.json`;
    const map = await waitFor(
      "a heatmap with the view's samples",
      async () => {
        const res = await httpGet(heatmapUrl);
        if (res.status !== 200) return undefined;
        const body = JSON.parse(res.body.toString()) as { columns: number; rows: number; samples: number; cells: number[] };
        return body.cells[6 * body.columns + 12]! >= 3 ? body : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
    expect(map.rows).toBe(18);
    expect(map.cells.indexOf(Math.max(...map.cells))).toBe(6 * map.columns + 12);

    const first = JSON.parse(beacons[0]!) as { sid: string; cid: string; startupMs?: number; playedMs: number };
    expect(first.cid).toBe("test");
    expect(first.startupMs).toBeGreaterThan(0);
    expect(await value('live360_edge_viewers{stream="test"}')).toBe(1);
    expect(await value('live360_edge_viewer_startup_seconds_count{stream="test"}')).toBe(1);
    expect(await value('live360_edge_viewer_startup_seconds_sum{stream="test"}')).toBeCloseTo(first.startupMs! / 1000, 2);
    expect(await value('live360_edge_viewer_played_seconds_total{stream="test"}')).toBeGreaterThan(3);
    const text = await metricsText();
    const delivered = [...text.matchAll(/^live360_edge_viewer_delivered_bytes_total\{stream="test",rung="([^"]+)"\} (\d+)/gm)];
    expect(delivered.length).toBeGreaterThan(0);
    expect(delivered.every(([, rung]) => rung !== "other")).toBe(true);
    expect(delivered.reduce((sum, [, , bytes]) => sum + Number(bytes), 0)).toBeGreaterThan(10_000);
    expect(await value('live360_edge_viewer_encoded_bitrate_kbps_count{stream="test"}')).toBeGreaterThan(0);
    // Everything hls.js sent parsed: nothing of this viewer was rejected.
    expect(text).not.toMatch(/^live360_edge_insight_rejected_total\{/m);
  }, 180_000);

  test("analytics=0: no beacon and no CMCD", async () => {
    const page = await bench.page.context().newPage();
    const seen: string[] = [];
    page.on("request", (request) => seen.push(request.url()));
    try {
      await page.goto(`${bench.edge!.url}/player/?url=/hls/test/master.m3u8&analytics=0`);
      await waitForPlayback(page, 12, 120_000);
      expect(seen.filter((url) => new URL(url).pathname === "/insight/beacon")).toEqual([]);
      expect(seen.filter((url) => new URL(url).searchParams.has("CMCD"))).toEqual([]);
    } finally {
      await page.close();
    }
  }, 180_000);
  test("heatmap=1: the producer sees the hot spot in red where the viewer looked", async () => {
    const producer = await bench.page.context().newPage();
    try {
      await producer.setViewportSize({ width: 640, height: 360 });
      // analytics=0: the producer's own looking around stays out of the map.
      await producer.goto(`${bench.edge!.url}/player/?url=/hls/test/master.m3u8&heatmap=1&analytics=0`);
      await waitForPlayback(producer, 2, 120_000);
      await waitFor("the heatmap drawn", () => producer.evaluate(() => (window.live360!.heatmapSamples ?? 0) > 0), { timeoutMs: 30_000 });
      const redness = async (page: typeof producer): Promise<number> => {
        await lookAt(page, 55, 25);
        const frame = await readCanvas(page);
        const [r, g, b] = pixel(frame, frame.width / 2, frame.height / 2);
        return r - Math.max(g, b);
      };
      const withHeatmap = await redness(producer);
      await screenshot(producer, "heatmap");
      const withoutHeatmap = await redness(bench.page);
      expect(withHeatmap).toBeGreaterThan(120);
      expect(withHeatmap - withoutHeatmap).toBeGreaterThan(60);
    } finally {
      await producer.close();
    }
  }, 180_000);
});
