import { describe, expect, test } from "@jest/globals";
import { ConfigError } from "../errors.js";
import { DEFAULT_LADDER, formatLadder, ladderForSource, parseLadder } from "./ladder.js";
import { avcCodecString, renderMasterPlaylist } from "./master.js";

describe("ladder", () => {
  test("parses a ladder spec with pass-through and transcoded rungs", () => {
    const ladder = parseLadder("--ladder", "source, 480x240:600k,320x160:300k");
    expect(ladder.map((r) => [r.name, r.passthrough, r.width, r.height, r.videoBitrateKbps])).toEqual([
      ["source", true, 0, 0, 0],
      ["240p", false, 480, 240, 600],
      ["160p", false, 320, 160, 300],
    ]);
  });

  test("rejects a malformed rung with the field, the value and the fix", () => {
    expect(() => parseLadder("--ladder", "source,1280x:2500k")).toThrow(ConfigError);
    expect(() => parseLadder("--ladder", "source,1280x:2500k")).toThrow(/--ladder="1280x:2500k".*WIDTHxHEIGHT/);
    expect(() => parseLadder("--ladder", "321x160:300k")).toThrow(/even width and height/);
    expect(() => parseLadder("--ladder", "320x160:300k,320x160:400k")).toThrow(/distinct/);
  });

  test("formats a ladder back into the flag value that parses to the same ladder", () => {
    expect(formatLadder(DEFAULT_LADDER)).toBe("source,1920x960:5000k,1080x540:2200k,960x480:1600k");
    const text = "source,480x240:600k,320x160:300k";
    expect(formatLadder(parseLadder("--ladder", text))).toBe(text);
    expect(parseLadder("--ladder", formatLadder(DEFAULT_LADDER))).toEqual(DEFAULT_LADDER);
  });

  test("keeps only rungs smaller than the source, and the source at its own size", () => {
    const applied = ladderForSource(DEFAULT_LADDER, { width: 1920, height: 960 });
    expect(applied.map((r) => `${r.name}:${r.width}x${r.height}`)).toEqual(["source:1920x960", "540p:1080x540", "480p:960x480"]);
    const small = ladderForSource(DEFAULT_LADDER, { width: 640, height: 320 });
    expect(small.map((r) => r.name)).toEqual(["source"]);
  });
});

describe("master playlist", () => {
  test("lists every variant with all attributes, highest bandwidth first", () => {
    const text = renderMasterPlaylist([
      { uri: "240p/index.m3u8", bandwidth: 700_000, averageBandwidth: 650_000, width: 480, height: 240, frameRate: 30, codecs: ["avc1.64001E", "mp4a.40.2"] },
      { uri: "source/index.m3u8", bandwidth: 1_200_000, averageBandwidth: 1_000_000, width: 640, height: 320, frameRate: 29.97, codecs: ["avc1.640016", "mp4a.40.2"] },
    ]);
    const lines = text.trim().split("\n");
    expect(lines[0]).toBe("#EXTM3U");
    expect(lines[3]).toBe(
      '#EXT-X-STREAM-INF:BANDWIDTH=1200000,AVERAGE-BANDWIDTH=1000000,RESOLUTION=640x320,FRAME-RATE=29.970,CODECS="avc1.640016,mp4a.40.2"',
    );
    expect(lines[4]).toBe("source/index.m3u8");
    expect(lines[6]).toBe("240p/index.m3u8");
  });

  test("lists the biggest picture first even when it measured a lower rate (a source opening with black)", () => {
    const text = renderMasterPlaylist([
      { uri: "240p/index.m3u8", bandwidth: 700_000, averageBandwidth: 650_000, width: 480, height: 240, frameRate: 30, codecs: ["avc1.64001E"] },
      { uri: "source/index.m3u8", bandwidth: 90_000, averageBandwidth: 80_000, width: 640, height: 320, frameRate: 30, codecs: ["avc1.640016"] },
      { uri: "160p/index.m3u8", bandwidth: 400_000, averageBandwidth: 350_000, width: 320, height: 160, frameRate: 30, codecs: ["avc1.64000D"] },
    ]);
    expect(text.split("\n").filter((l) => l.endsWith(".m3u8"))).toEqual(["source/index.m3u8", "240p/index.m3u8", "160p/index.m3u8"]);
  });

  test("derives RFC 6381 H.264 codec strings from profile and level", () => {
    expect(avcCodecString("High", 40)).toBe("avc1.640028");
    expect(avcCodecString("Constrained Baseline", 30)).toBe("avc1.42E01E");
    expect(avcCodecString("Main", 31)).toBe("avc1.4D401F");
  });
});
