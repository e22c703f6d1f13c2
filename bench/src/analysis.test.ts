import { describe, expect, test } from "@jest/globals";
import { combineRounds, liveEdgeDelay, percentile, segmentDelays, slope } from "./analysis.js";
import type { RunResult } from "./report.js";

describe("bench analysis", () => {
  test("percentiles interpolate between ranks", () => {
    expect(percentile([3, 1, 2, 4, 5], 50)).toBe(3);
    expect(percentile([1, 2, 3, 4, 5], 95)).toBeCloseTo(4.8, 10);
    expect(percentile([7], 95)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });

  test("a segment's delay runs from its last frame's send time to its listing, steady state only", () => {
    const sendStart = 1_000_000;
    // A variant starting at source frame 30 (1 s at 30 fps) with 2 s segments, each listed 0.5 s after its end.
    const ends = [3, 5, 7, 9];
    const segments = ends.map((end, i) => ({ uri: `${i}.ts`, durationSeconds: 2, listedAtMs: sendStart + (end - 1 / 30 + 0.5) * 1000 }));
    const delays = segmentDelays(segments, 30, 30, sendStart);
    // First (start-up) and last (end of stream) left out.
    expect(delays.map((d) => d.lastFrameMediaSeconds)).toEqual([5 - 1 / 30, 7 - 1 / 30]);
    for (const d of delays) expect(d.delaySeconds).toBeCloseTo(0.5, 6);
  });

  test("segments with an unknown listing time are left out", () => {
    const segments = [0, 1, 2, 3].map((i) => ({ uri: `${i}.ts`, durationSeconds: 1, listedAtMs: i === 1 ? Number.NaN : 5000 + i * 1000 }));
    expect(segmentDelays(segments, 0, 30, 0).map((d) => d.lastFrameMediaSeconds)).toEqual([3 - 1 / 30]);
  });

  test("live-edge delay adds the hold-back in segment durations", () => {
    expect(liveEdgeDelay(0.3, 1, 1)).toBeCloseTo(1.3, 10);
    expect(liveEdgeDelay(0.8, 10, 3)).toBeCloseTo(30.8, 10);
  });

  test("a growing delay has a positive slope, a steady one none", () => {
    expect(slope([0, 1, 2, 3].map((x) => ({ x, y: 0.5 })))).toBe(0);
    expect(slope([0, 1, 2, 3].map((x) => ({ x, y: 0.5 + 0.1 * x })))).toBeCloseTo(0.1, 10);
  });
});

describe("combineRounds", () => {
  const run = (id: string, cpu: number, extra: Partial<RunResult> = {}): RunResult => ({ id, label: id, segmentSeconds: 2, cpuPerMediaSecond: cpu, peakRssMiB: 100, keepsUp: true, ...extra });

  test("each stack's ratio is taken against its own round's floor, then the median across rounds", () => {
    const combined = combineRounds(
      [
        [run("floor", 0.6), run("live360", 0.66)],
        // A slow round: both slower, the ratio unchanged.
        [run("live360", 0.8), run("floor", 0.75)],
        [run("floor", 0.62), run("live360", 0.65)],
      ],
      "floor",
    );
    const live = combined.find((r) => r.id === "live360")!;
    expect(live.ratioRounds!.map((x) => Number(x.toFixed(3)))).toEqual([1.1, 1.067, 1.048]);
    expect(live.ratioToFloor).toBeCloseTo(1.067, 3);
    expect(live.cpuPerMediaSecond).toBe(0.66);
    expect(live.cpuRounds).toEqual([0.66, 0.8, 0.65]);
    expect(combined.find((r) => r.id === "floor")!.ratioToFloor).toBe(1);
  });

  test("the median-CPU run supplies the delays; RSS is the worst round's; one lagging round means it does not keep up", () => {
    const combined = combineRounds(
      [
        [run("floor", 0.6), run("x", 0.7, { availability: { p50: 0.1, p95: 0.2, max: 0.3, segments: 9 }, peakRssMiB: 300 })],
        [run("floor", 0.6), run("x", 0.9, { availability: { p50: 0.5, p95: 0.6, max: 0.7, segments: 9 }, keepsUp: false })],
        [run("floor", 0.6), run("x", 0.8, { availability: { p50: 0.3, p95: 0.4, max: 0.5, segments: 9 } })],
      ],
      "floor",
    );
    const x = combined.find((r) => r.id === "x")!;
    expect(x.availability?.p95).toBe(0.4);
    expect(x.peakRssMiB).toBe(300);
    expect(x.keepsUp).toBe(false);
  });

  test("a stack skipped in every round stays skipped", () => {
    const skipped: RunResult = { id: "nginx", label: "nginx", segmentSeconds: 2, skipped: "no nginx" };
    expect(combineRounds([[run("floor", 0.6), skipped]], "floor").find((r) => r.id === "nginx")).toEqual(skipped);
  });
});
