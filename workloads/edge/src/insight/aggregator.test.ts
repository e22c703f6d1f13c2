import { describe, expect, test } from "@jest/globals";
import { Registry } from "@live360/core";
import { DEFAULT_INSIGHT_LIMITS, InsightAggregator, type InsightLimits } from "./aggregator.js";
import type { Beacon } from "./beacon.js";

class Clock {
  ms = 1_000_000;
  readonly now = (): number => this.ms;
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
}

function setup(limits: Partial<InsightLimits> = {}) {
  const clock = new Clock();
  const registry = new Registry();
  const insight = new InsightAggregator(registry, { ...DEFAULT_INSIGHT_LIMITS, ...limits }, clock.now);
  /** The value of one series, or undefined when it does not exist. */
  async function value(name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
    const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
    const series = (metric?.values ?? []) as { labels: Record<string, string | number>; value: number; metricName?: string }[];
    return series.find((s) => (s.metricName ?? name) === name && Object.entries(labels).every(([k, v]) => String(s.labels[k]) === v) && Object.keys(s.labels).length === Object.keys(labels).length)?.value;
  }
  async function bucket(name: string, labels: Record<string, string>, le: number): Promise<number | undefined> {
    const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
    const series = (metric?.values ?? []) as { labels: Record<string, string | number>; value: number; metricName?: string }[];
    return series.find((s) => s.metricName === `${name}_bucket` && s.labels.le === le && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
  }
  return { clock, registry, insight, value, bucket };
}

const beacon = (overrides: Partial<Beacon> = {}): Beacon => ({
  v: 1,
  sid: "s1",
  cid: "demo",
  playedMs: 10_000,
  rebufferMs: 0,
  rebuffers: 0,
  droppedFrames: 0,
  rungSwitches: 0,
  errors: [],
  views: [],
  ...overrides,
});

describe("InsightAggregator", () => {
  test("viewers: distinct sessions per stream within the window, forgotten after it", async () => {
    const { clock, insight, value } = setup({ viewerWindowSeconds: 30 });
    for (const sid of ["a", "b", "a", "c"]) insight.recordRequest({ path: "/hls/demo/720p/seg_1.ts", status: 200, bytes: 10, cmcd: { sid, ot: "v" } });
    insight.recordRequest({ path: "/hls/other/index.m3u8", status: 200, bytes: 10, cmcd: { sid: "d", ot: "m" } });
    expect(await value("live360_edge_viewers", { stream: "demo" })).toBe(3);
    expect(await value("live360_edge_viewers", { stream: "other" })).toBe(1);
    clock.advance(20);
    insight.recordRequest({ path: "/hls/demo/master.m3u8", status: 200, bytes: 10, cmcd: { sid: "a", ot: "m" } });
    clock.advance(15);
    // b and c were last seen 35 s ago, a 15 s ago.
    expect(await value("live360_edge_viewers", { stream: "demo" })).toBe(1);
    expect(await value("live360_edge_viewers", { stream: "other" })).toBe(0);
    // A session that moves to another stream counts there only.
    insight.recordRequest({ path: "/hls/other/index.m3u8", status: 200, bytes: 10, cmcd: { sid: "a", ot: "m" } });
    expect(insight.viewers()).toEqual(new Map([["demo", 0], ["other", 1]]));
  });

  test("a flood of session ids cannot grow memory: the least recently seen are forgotten", async () => {
    const { insight, value } = setup({ maxSessions: 100 });
    for (let i = 0; i < 10_000; i += 1) insight.recordRequest({ path: "/hls/demo/index.m3u8", status: 200, bytes: 1, cmcd: { sid: `flood-${i}` } });
    expect(await value("live360_edge_insight_sessions")).toBe(100);
    expect(await value("live360_edge_viewers", { stream: "demo" })).toBe(100);
  });

  test("label sets stay bounded: streams beyond the cap and paths that are no stream are rejected, rungs beyond the cap are 'other'", async () => {
    const { insight, value } = setup({ maxStreams: 2, maxRungsPerStream: 2 });
    insight.recordRequest({ path: "/hls/one/a/s.ts", status: 200, bytes: 100, cmcd: { ot: "v", br: 1000 } });
    insight.recordRequest({ path: "/hls/one/b/s.ts", status: 200, bytes: 200, cmcd: { ot: "v" } });
    insight.recordRequest({ path: "/hls/one/c/s.ts", status: 200, bytes: 400, cmcd: { ot: "v" } });
    insight.recordRequest({ path: "/hls/one/d/s.ts", status: 200, bytes: 800, cmcd: { ot: "av" } });
    insight.recordRequest({ path: "/hls/two/s.ts", status: 200, bytes: 1, cmcd: { ot: "v" } });
    insight.recordRequest({ path: "/hls/three/s.ts", status: 200, bytes: 1, cmcd: { ot: "v" } });
    insight.recordRequest({ path: "/hls/Bad_Name/s.ts", status: 200, bytes: 1, cmcd: { ot: "v" } });
    insight.recordRequest({ path: "/player/index.html", status: 200, bytes: 1, cmcd: {} });
    // Not media, or not served: no bytes counted.
    insight.recordRequest({ path: "/hls/one/a/index.m3u8", status: 200, bytes: 5000, cmcd: { ot: "m" } });
    insight.recordRequest({ path: "/hls/one/a/s2.ts", status: 404, bytes: 5000, cmcd: { ot: "v" } });
    expect(await value("live360_edge_viewer_delivered_bytes_total", { stream: "one", rung: "a" })).toBe(100);
    expect(await value("live360_edge_viewer_delivered_bytes_total", { stream: "one", rung: "b" })).toBe(200);
    expect(await value("live360_edge_viewer_delivered_bytes_total", { stream: "one", rung: "other" })).toBe(1200);
    expect(await value("live360_edge_viewer_delivered_bytes_total", { stream: "two", rung: "other" })).toBe(1);
    expect(await value("live360_edge_insight_rejected_total", { reason: "too-many-streams" })).toBe(1);
    expect(await value("live360_edge_insight_rejected_total", { reason: "not-a-stream" })).toBe(2);
  });

  test("beacons: startup and rebuffer-ratio histograms, counters, errors by kind", async () => {
    const { insight, value, bucket } = setup();
    expect(insight.recordBeacon(beacon({ sid: "a", startupMs: 800, playedMs: 9000, rebufferMs: 1000, rebuffers: 2, droppedFrames: 5, rungSwitches: 1, errors: [{ kind: "network", fatal: false }] }))).toBe(true);
    expect(insight.recordBeacon(beacon({ sid: "b", startupMs: 2500, playedMs: 10_000 }))).toBe(true);
    expect(await bucket("live360_edge_viewer_startup_seconds", { stream: "demo" }, 1)).toBe(1);
    expect(await bucket("live360_edge_viewer_startup_seconds", { stream: "demo" }, 3)).toBe(2);
    expect(await bucket("live360_edge_viewer_rebuffer_ratio", { stream: "demo" }, 0)).toBe(1);
    expect(await bucket("live360_edge_viewer_rebuffer_ratio", { stream: "demo" }, 0.05)).toBe(1);
    expect(await bucket("live360_edge_viewer_rebuffer_ratio", { stream: "demo" }, 0.1)).toBe(2);
    expect(await value("live360_edge_viewer_rebuffers_total", { stream: "demo" })).toBe(2);
    expect(await value("live360_edge_viewer_rebuffer_seconds_total", { stream: "demo" })).toBe(1);
    expect(await value("live360_edge_viewer_played_seconds_total", { stream: "demo" })).toBe(19);
    expect(await value("live360_edge_viewer_dropped_frames_total", { stream: "demo" })).toBe(5);
    expect(await value("live360_edge_viewer_rung_switches_total", { stream: "demo" })).toBe(1);
    expect(await value("live360_edge_viewer_errors_total", { stream: "demo", kind: "network", fatal: "false" })).toBe(1);
    expect(await value("live360_edge_viewers", { stream: "demo" })).toBe(2);
  });

  test("a session over its beacon rate is refused and counted; the bucket refills", async () => {
    const { clock, insight, value } = setup({ beaconBurst: 3, beaconsPerMinute: 12 });
    const results = Array.from({ length: 5 }, () => insight.recordBeacon(beacon({ views: [[0, 0, 90]] })));
    expect(results).toEqual([true, true, true, false, false]);
    expect(await value("live360_edge_insight_rejected_total", { reason: "rate-limited" })).toBe(2);
    expect(insight.heatmap("demo").samples).toBe(3);
    clock.advance(5);
    expect(insight.recordBeacon(beacon())).toBe(true);
    expect(insight.recordBeacon(beacon())).toBe(false);
    // Another session is not held back by the first.
    expect(insight.recordBeacon(beacon({ sid: "other" }))).toBe(true);
  });

  test("heatmap: 10° cells on an equirectangular grid, the hot cell where viewers looked, expired after the window", () => {
    const { clock, insight } = setup({ heatmapWindowSeconds: 60, heatmapSlots: 6, beaconBurst: 100 });
    expect(insight.heatmap("demo")).toMatchObject({ samples: 0, columns: 36, rows: 18 });
    const views: [number, number, number][] = [];
    for (let i = 0; i < 50; i += 1) views.push([45 + (i % 5), 12, 90]);
    views.push([-180, 90, 90], [180, -90, 90], [0, 0, 90]);
    insight.recordBeacon(beacon({ views }));
    const map = insight.heatmap("demo");
    expect(map).toMatchObject({ columns: 36, rows: 18, cellDegrees: 10, windowSeconds: 60, samples: 53 });
    const hot = map.cells.indexOf(Math.max(...map.cells));
    // yaw 45..49 → column (45+180)/10 = 22; pitch 12 → row floor((90-12)/10) = 7.
    expect(hot).toBe(7 * 36 + 22);
    expect(map.cells[hot]).toBe(50);
    expect(map.cells[0]).toBe(1);
    expect(map.cells[17 * 36 + 35]).toBe(1);
    expect(map.cells[9 * 36 + 18]).toBe(1);
    clock.advance(30);
    insight.recordBeacon(beacon({ sid: "later", views: [[0, 0, 90]] }));
    expect(insight.heatmap("demo").samples).toBe(54);
    clock.advance(40);
    expect(insight.heatmap("demo").samples).toBe(1);
    clock.advance(60);
    expect(insight.heatmap("demo").samples).toBe(0);
  });

  test("error answers by code: common codes by name, the rest as 4xx / 5xx, successes not at all", async () => {
    const { insight, value } = setup();
    for (const status of [404, 404, 502, 503, 418, 507, 200, 304, 99, 600]) insight.recordResponseStatus(status);
    const name = "live360_edge_error_responses_total";
    expect(await value(name, { code: "404" })).toBe(2);
    expect(await value(name, { code: "502" })).toBe(1);
    expect(await value(name, { code: "503" })).toBe(1);
    expect(await value(name, { code: "4xx" })).toBe(1);
    expect(await value(name, { code: "5xx" })).toBe(1);
    for (const code of ["200", "304", "99", "600", "418", "507"]) expect(await value(name, { code })).toBeUndefined();
  });

  test("a cell size that does not divide 180 is refused", () => {
    expect(() => setup({ heatmapCellDegrees: 7 })).toThrow(/heatmapCellDegrees 7 must divide 180/);
  });
});
