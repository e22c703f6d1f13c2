import { describe, expect, test } from "@jest/globals";
import { ConfigError, DEFAULT_LADDER, formatLadder } from "@live360/core";
import { ladderFlag } from "./ladder.js";

describe("ladderFlag", () => {
  test("a preset becomes its ladder; standard is the origin's own default", () => {
    expect(ladderFlag({ preset: "standard" })).toBe(formatLadder(DEFAULT_LADDER));
    expect(ladderFlag({ preset: "sourceOnly" })).toBe("source");
  });

  test("explicit renditions become WIDTHxHEIGHT:KBPSk rungs after the pass-through", () => {
    const renditions = [
      { passthrough: true },
      { passthrough: false, width: 1280, height: 640, videoBitrateKbps: 2500 },
      { passthrough: false, width: 640, height: 320, videoBitrateKbps: 800 },
    ];
    expect(ladderFlag({ renditions })).toBe("source,1280x640:2500k,640x320:800k");
  });

  test("a ladder the origin would refuse fails here with the origin's own explanation", () => {
    const renditions = [{ passthrough: true }, { passthrough: false, width: 640, height: 320, videoBitrateKbps: 800 }, { passthrough: false, width: 640, height: 320, videoBitrateKbps: 900 }];
    expect(() => ladderFlag({ renditions })).toThrow(ConfigError);
    expect(() => ladderFlag({ renditions })).toThrow(/spec\.ladder\.renditions.*distinct/);
  });
});
