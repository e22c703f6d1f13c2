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

  test("a crowd: 400 viewers' beacons around two points of interest; the producer's overlay carries them all, hottest where most looked", async () => {
    // Deterministic directions (an LCG and Box–Muller), in the frame's terms (yaw right of centre,
    // pitch up): 60 % around the stage at (−55°, 25°) — where the viewer above looked — 25 % around a
    // screen at (40°, −10°), the rest anywhere.
    let seed = 360;
    const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const gaussian = (): number => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    const clamp = (value: number, limit: number): number => Math.max(-limit, Math.min(limit, value));
    const direction = (): [number, number, number] => {
      const pick = random();
      const [yaw, pitch, spread] = pick < 0.6 ? [-55, 25, 8] : pick < 0.85 ? [40, -10, 12] : [random() * 360 - 180, random() * 120 - 60, 0];
      return [clamp(yaw + gaussian() * spread, 179.9), clamp(pitch + gaussian() * spread, 89.9), 80];
    };
    const VIEWERS = 400;
    const SAMPLES = 30;
    const statuses = await Promise.all(
      Array.from({ length: VIEWERS }, (_, viewer) =>
        fetch(`${bench.edge!.url}/insight/beacon`, {
          method: "POST",
          body: JSON.stringify({
            v: 1, sid: `crowd-${viewer}`, cid: "test", startupMs: 900, playedMs: SAMPLES * 1000, rebufferMs: 0, rebuffers: 0, droppedFrames: 0, rungSwitches: 0, errors: [],
            views: Array.from({ length: SAMPLES }, direction),
          }),
        }).then(async (res) => (await res.arrayBuffer(), res.status)),
      ),
    );
    expect(new Set(statuses)).toEqual(new Set([204]));
    const map = await waitFor(
      "the crowd in the heatmap",
      async () => {
        const res = await httpGet(`${bench.edge!.url}/hls/test/heatmap.json`);
        const body = JSON.parse(res.body.toString()) as { columns: number; samples: number; cells: number[] };
        return body.samples >= VIEWERS * SAMPLES ? body : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 1000 },
    );
    // The stage's cell (column floor((−55 + 180) / 10) = 12, row floor((90 − 25) / 10) = 6) is the hottest.
    expect(map.cells.indexOf(Math.max(...map.cells))).toBe(6 * map.columns + 12);
    expect(await value('live360_edge_viewers{stream="test"}')).toBeGreaterThanOrEqual(VIEWERS);

    const producer = await bench.page.context().newPage();
    try {
      await producer.setViewportSize({ width: 1280, height: 640 });
      await producer.goto(`${bench.edge!.url}/player/?url=/hls/test/master.m3u8&heatmap=1&analytics=0`);
      await waitForPlayback(producer, 2, 120_000);
      await waitFor("the crowd drawn", () => producer.evaluate((least) => (window.live360!.heatmapSamples ?? 0) >= least, VIEWERS * SAMPLES), { timeoutMs: 30_000 });
      // Between the two: the stage left of centre, the screen at the right edge (the player's yaw is the frame's negated).
      await lookAt(producer, 10, 8);
      // The README's picture of the overlay (docs/heatmap.png is a copy of one run's).
      await screenshot(producer, "heatmap-crowd");
    } finally {
      await producer.close();
    }
  }, 180_000);
});
