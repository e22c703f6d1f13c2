import { describe, expect, test } from "@jest/globals";
import { liveEdgeDelay, percentile, segmentDelays, slope } from "./analysis.js";

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
