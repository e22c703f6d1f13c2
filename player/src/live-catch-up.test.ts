import { describe, expect, test } from "@jest/globals";
import { catchUpRate, type CatchUpState } from "./live-catch-up.js";

const ll: CatchUpState = { latency: 1.4, targetLatency: 0.99, forwardBuffer: 0.8, partTarget: 0.33, targetDuration: 1 };

describe("low-latency catch-up", () => {
  test("behind its target with two parts buffered, the player speeds up, more the further behind, at most 1.25×", () => {
    expect(catchUpRate(ll)).toBe(1.15);
    expect(catchUpRate({ ...ll, latency: 1.1 })).toBe(1.05);
    expect(catchUpRate({ ...ll, latency: 1.9, forwardBuffer: 1.5 })).toBe(1.25);
    // hls.js would not move here: it wants more than a second buffered.
    expect(catchUpRate({ ...ll, forwardBuffer: 0.67 })).toBeGreaterThan(1);
  });

  test("at the target, with too little buffered, or far behind on purpose, it plays at 1×", () => {
    expect(catchUpRate({ ...ll, latency: 1.03 })).toBe(1);
    expect(catchUpRate({ ...ll, latency: 0.5 })).toBe(1);
    expect(catchUpRate({ ...ll, forwardBuffer: 0.6 })).toBe(1);
    expect(catchUpRate({ ...ll, partTarget: 0, forwardBuffer: 0.29 })).toBe(1);
    expect(catchUpRate({ ...ll, latency: 30 })).toBe(1);
    expect(catchUpRate({ ...ll, latency: Number.NaN })).toBe(1);
  });

  test("runs on its own, as the benches run its source in their pages", () => {
    const copy = new Function(`return (${catchUpRate.toString()})`)() as typeof catchUpRate;
    expect(copy(ll)).toBe(catchUpRate(ll));
  });
});
