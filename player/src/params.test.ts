import { describe, expect, test } from "@jest/globals";
import { parsePlayerParams } from "./params.js";

const page = "http://origin.example:8080/player/";

describe("parsePlayerParams", () => {
  test("resolves a relative url against the page, keeping the host and port", () => {
    const { params, problems } = parsePlayerParams(`${page}?url=/hls/test/master.m3u8`);
    expect(params.url).toBe("http://origin.example:8080/hls/test/master.m3u8");
    expect(problems).toEqual([]);
  });

  test("resolves a path relative to the player directory", () => {
    expect(parsePlayerParams(`${page}index.html?url=streams/a.m3u8`).params.url).toBe("http://origin.example:8080/player/streams/a.m3u8");
  });

  test("keeps an absolute url, including an encoded query string", () => {
    const target = "https://cdn.example/vod/a/b/master.m3u8?token=x&y=1";
    expect(parsePlayerParams(`${page}?url=${encodeURIComponent(target)}`).params.url).toBe(target);
  });

  test("no url: undefined and no problem (the page explains how to give one)", () => {
    const { params, problems } = parsePlayerParams(page);
    expect(params.url).toBeUndefined();
    expect(problems).toEqual([]);
  });

  test.each(["javascript:alert(1)", "file:///etc/passwd", "data:text/plain,x"])("refuses the non-http url %s", (url) => {
    const { params, problems } = parsePlayerParams(`${page}?url=${encodeURIComponent(url)}`);
    expect(params.url).toBeUndefined();
    expect(problems).toEqual([expect.objectContaining({ param: "url", value: url })]);
  });

  test("defaults: no projection forced, normal latency, sound on, no debug", () => {
    expect(parsePlayerParams(`${page}?url=a.m3u8`).params).toMatchObject({
      projection: undefined,
      lowLatency: false,
      muted: false,
      debug: false,
    });
  });

  test("reads projection (with its aliases), latency, muted and debug", () => {
    const { params } = parsePlayerParams(`${page}?url=a.m3u8&projection=EAC&latency=low&muted=1&debug=true`);
    expect(params).toMatchObject({ projection: "cubemap", lowLatency: true, muted: true, debug: true });
    expect(parsePlayerParams(`${page}?projection=flat`).params.projection).toBe("flat");
    expect(parsePlayerParams(`${page}?projection=equirectangular`).params.projection).toBe("equirectangular");
  });

  test("bad values are reported by name and fall back to the defaults", () => {
    const { params, problems } = parsePlayerParams(`${page}?projection=sphere&latency=ultra&muted=maybe`);
    expect(params).toMatchObject({ projection: undefined, lowLatency: false, muted: false });
    expect(problems.map((p) => [p.param, p.value])).toEqual([
      ["projection", "sphere"],
      ["latency", "ultra"],
      ["muted", "maybe"],
    ]);
  });
});
