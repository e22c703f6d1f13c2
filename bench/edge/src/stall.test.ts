import { describe, expect, test } from "@jest/globals";
import { playbackStallAfter, viewerStall } from "./stall.js";

const window = { startedAt: 0, eventAt: 10_000, endedAt: 20_000 };

describe("failover stall from a viewer's timeline", () => {
  test("segments at the live cadence throughout: no stall, no baseline", () => {
    const every2s = Array.from({ length: 10 }, (_, i) => 1000 + i * 2000);
    expect(viewerStall(every2s, [], window, 2000, 2000)).toEqual({
      deliveryStallMs: 0,
      baselineDeliveryStallMs: 0,
      playbackStallMs: 0,
      stillWaiting: false,
      errorsAfterEvent: 0,
    });
  });

  test("a 5 s hole across the event: delivery stall is the hole beyond the cadence, the buffer hides it", () => {
    // Three segments at once on joining (hls.js starts three behind live), then one per 2 s.
    const segments = [1000, 1100, 1200, 3000, 5000, 7000, 9000, 14_000, 16_000, 18_000];
    const stall = viewerStall(segments, [11_000, 12_000], window, 2000, 2000);
    expect(stall.deliveryStallMs).toBe(3000);
    expect(stall.errorsAfterEvent).toBe(2);
    // 14 s of media arrived by 9 s, 8 s of it played: 6 s ahead covers the 5 s hole.
    expect(stall.playbackStallMs).toBe(0);
  });

  test("nothing after the event: still waiting, stalled until the end", () => {
    const stall = viewerStall([1000, 3000, 5000, 7000, 9000], [], window, 2000, 2000);
    expect(stall.stillWaiting).toBe(true);
    expect(stall.deliveryStallMs).toBe(20_000 - 9000 - 2000);
    // 10 s of media from 1 s on: the picture stands still from 11 s to the end.
    expect(stall.playbackStallMs).toBe(9000);
  });

  test("the baseline sees the same measure before the event only", () => {
    const segments = [1000, 4000, 6000, 8000, 10_500, 12_500, 14_500, 16_500, 18_500];
    const stall = viewerStall(segments, [], window, 2000, 2000);
    expect(stall.baselineDeliveryStallMs).toBe(1000);
    expect(stall.deliveryStallMs).toBe(500);
  });

  test("playback stall counts only the part after the event", () => {
    // One segment at 0 (2 s of media), the next at 12 s: stood still from 2 s to 12 s, 2 s of it after the event at 10 s.
    expect(playbackStallAfter([0, 12_000], 10_000, 13_000, 2000)).toBe(2000);
  });
});
