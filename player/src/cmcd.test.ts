import { describe, expect, test } from "@jest/globals";
import { contentIdOf, newSessionId } from "./cmcd.js";
import { parsePlayerParams } from "./params.js";

describe("CMCD ids", () => {
  test.each([
    ["https://cdn.example/hls/keynote/master.m3u8", "keynote"],
    ["https://cdn.example/hls/keynote/720p/index.m3u8", "keynote"],
    ["https://cdn.example/s/k1/1767225600/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/hls/keynote/master.m3u8", "keynote"],
    ["https://cdn.example/vod/keynote/20261206T120000Z/master.m3u8", "keynote/20261206T120000Z"],
    ["https://example.org/media/a.m3u8", "/media/"],
  ])("%s → %s", (url, id) => {
    expect(contentIdOf(url)).toBe(id);
  });

  test("a session id is random per page load: no two alike, nothing derived from the viewer", () => {
    const ids = new Set(Array.from({ length: 100 }, () => newSessionId()));
    expect(ids.size).toBe(100);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  test("on by default, off with analytics=0, a bad value keeps it on and says so", () => {
    const page = "http://o.example/player/?url=/hls/a/master.m3u8";
    expect(parsePlayerParams(page).params.analytics).toBe(true);
    expect(parsePlayerParams(`${page}&analytics=0`).params.analytics).toBe(false);
    const bad = parsePlayerParams(`${page}&analytics=maybe`);
    expect(bad.params.analytics).toBe(true);
    expect(bad.problems).toEqual([{ param: "analytics", value: "maybe", message: "analytics can be 1 or 0; using 1." }]);
  });
});
