import { describe, expect, test } from "@jest/globals";
import { ConfigError } from "@live360/core";
import { MAX_TEST_SOURCE_URLS, parseBitrateKbps, parseSize, publishUrl, resolveTestSourceConfig } from "./config.js";

const url = "rtmp://127.0.0.1:1935/live/test";
const urls = [url];
const backup = "rtmp://127.0.0.1:1936/live/test";
/** `count` URLs of different receivers, one per port. */
const distinctUrls = (count: number): string[] => Array.from({ length: count }, (_, i) => `rtmp://127.0.0.1:${1935 + i}/live/test`);

describe("test source configuration", () => {
  test("defaults: 1920x960 at 30 fps, 5 Mbit/s, a keyframe every 2 s, until stopped", () => {
    expect(resolveTestSourceConfig({ urls })).toMatchObject({
      urls: [url],
      width: 1920,
      height: 960,
      fps: 30,
      videoBitrateKbps: 5000,
      keyframeIntervalSeconds: 2,
      durationSeconds: undefined,
      toneHz: 1000,
    });
  });

  test("parses sizes and bitrates as written on a command line", () => {
    expect(parseSize("--size", "640x320")).toEqual({ width: 640, height: 320 });
    expect(parseBitrateKbps("--bitrate", "2500")).toBe(2500);
    expect(parseBitrateKbps("--bitrate", "2500k")).toBe(2500);
    expect(parseBitrateKbps("--bitrate", "2.5M")).toBe(2500);
    expect(() => parseSize("size (--size)", "640-320")).toThrow(/size \(--size\)="640-320": write the size as WIDTHxHEIGHT/);
    expect(() => parseBitrateKbps("videoBitrateKbps (--bitrate)", "fast")).toThrow(/--bitrate\)="fast": give kbit\/s/);
  });

  test("publishes to a primary and a backup, in the order given", () => {
    expect(resolveTestSourceConfig({ urls: [url, backup] }).urls).toEqual([url, backup]);
    expect(resolveTestSourceConfig({ urls: distinctUrls(MAX_TEST_SOURCE_URLS) }).urls).toEqual(distinctUrls(MAX_TEST_SOURCE_URLS));
  });

  test.each([
    [{ urls: ["http://example.com/live/test"] }, /url \(--url\)="http:\/\/example.com\/live\/test": give an RTMP URL/],
    [{ urls: ["rtmp://127.0.0.1/live"] }, /url \(--url\)="rtmp:\/\/127.0.0.1\/live": give an RTMP URL with an application and a stream/],
    // Each of several URLs is checked, not only the first.
    [{ urls: [url, "rtmp://backup/live"] }, /url \(--url\)="rtmp:\/\/backup\/live": give an RTMP URL with an application and a stream/],
    [{ urls: [] }, /urls \(--url\)=\[\]: give at least one RTMP URL/],
    [{ urls: [url, backup, url] }, /url \(--url\)="rtmp:\/\/127.0.0.1:1935\/live\/test": give each URL once/],
    [{ urls: distinctUrls(MAX_TEST_SOURCE_URLS + 1) }, /urls \(--url\)=\["rtmp:.*"\]: give at most 4 URLs/],
    [{ urls, width: 1280, height: 720 }, /size \(--size\)="1280x720": use a 2:1 equirectangular size/],
    [{ urls, width: 642, height: 321 }, /size \(--size\)="642x321": use an even height/],
    [{ urls, fps: 0 }, /fps \(--fps\)=0: use a number from 1 to 120/],
    [{ urls, keyframeIntervalSeconds: 0.05 }, /keyframeIntervalSeconds \(--keyframe-interval\)=0.05: use a number from 0.1 to 20/],
    [{ urls, durationSeconds: -1 }, /durationSeconds \(--duration\)=-1: use a number from 0.5/],
    [{ urls, videoBitrateKbps: 10 }, /videoBitrateKbps \(--bitrate\)=10: use a number from 100 to 200000/],
    [{ urls, fontFile: "/fonts/a:b.ttf" }, /fontFile \(--font\)="\/fonts\/a:b.ttf": give a TrueType font path without/],
  ])("rejects %p naming the field, the value and the fix", (input, message) => {
    expect(() => resolveTestSourceConfig(input)).toThrow(ConfigError);
    expect(() => resolveTestSourceConfig(input)).toThrow(message);
  });
});

describe("publish keys", () => {
  test("a URL whose stream has a key is published with it; errors quoting such a URL lose the key", async () => {
    const keys = new Map([["event", "k3y/with+chars"]]);
    expect(publishUrl("rtmp://origin:1935/live/event", keys)).toBe("rtmp://origin:1935/live/event?key=k3y%2Fwith%2Bchars");
    expect(publishUrl("rtmp://origin:1935/live/other", keys)).toBe("rtmp://origin:1935/live/other");
    expect(publishUrl("rtmp://origin:1935/live/event", undefined)).toBe("rtmp://origin:1935/live/event");
    const { hideKeysIn } = await import("./test-source.js");
    const error = hideKeysIn(new Error("Error opening output rtmp://origin:1935/live/event?key=k3y%2Fwith%2Bchars: I/O error"));
    expect(error.message).toBe("Error opening output rtmp://origin:1935/live/event?key=<hidden>: I/O error");
    expect(error.stack).not.toContain("k3y");
  });
});
