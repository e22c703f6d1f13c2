import { describe, expect, test } from "@jest/globals";
import { formatBitrate, formatClock, formatSeconds, rungLabel } from "./format.js";
import { isBehindLive, liveLatencySeconds } from "./live.js";

describe("labels", () => {
  test("bitrates, rungs, clocks", () => {
    expect(formatBitrate(5_000_000)).toBe("5.0 Mbps");
    expect(formatBitrate(812_345)).toBe("812 kbps");
    expect(formatBitrate(Number.NaN)).toBe("–");
    expect(rungLabel({ width: 1920, height: 960, bitrate: 5_128_000 })).toBe("1920×960 · 5.1 Mbps");
    expect(formatClock(65.9)).toBe("1:05");
    expect(formatClock(3723)).toBe("1:02:03");
    expect(formatClock(Number.POSITIVE_INFINITY)).toBe("0:00");
    expect(formatSeconds(1.234)).toBe("1.2 s");
    expect(formatSeconds(undefined)).toBe("–");
  });
});

describe("live edge", () => {
  test("latency is now minus the capture time of the frame on screen", () => {
    expect(liveLatencySeconds(10_500, 8_000)).toBe(2.5);
    expect(liveLatencySeconds(10_500, undefined)).toBeUndefined();
    expect(liveLatencySeconds(10_500, Number.NaN)).toBeUndefined();
  });

  test("'go to live' only when clearly behind", () => {
    expect(isBehindLive(100, 101, 2)).toBe(false);
    expect(isBehindLive(100, 105, 2)).toBe(true);
    expect(isBehindLive(100, 102.5, 1)).toBe(false);
    expect(isBehindLive(100, 103.5, 1)).toBe(true);
    expect(isBehindLive(100, undefined, 2)).toBe(false);
  });
});
