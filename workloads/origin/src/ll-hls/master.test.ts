import { describe, expect, test } from "@jest/globals";
import { renderMasterPlaylist } from "@live360/core";
import { hlsJsParser } from "./hlsjs.fixture.js";
import { VIDEO_LAYOUTS, renderCmafMasterPlaylist, type CmafMasterVariant } from "./master.js";
import type { CmafInit } from "./model.js";

const init = (codecs: string[]): CmafInit => ({ data: Buffer.from(codecs.join()), codecs, timescales: { vide: 90000, soun: 48000 } });

const variants: CmafMasterVariant[] = [
  {
    entry: { uri: "360p/index.m3u8", bandwidth: 400_000, averageBandwidth: 350_000, width: 640, height: 320, frameRate: 25 },
    init: init(["avc1.64001e", "mp4a.40.2"]),
  },
  {
    entry: { uri: "source/index.m3u8", bandwidth: 4_000_000, averageBandwidth: 3_500_000, width: 1920, height: 960, frameRate: 25 },
    init: init(["avc1.640028", "mp4a.40.2"]),
  },
];

describe("the CMAF master playlist", () => {
  test("equirectangular: CODECS from each init segment, REQ-VIDEO-LAYOUT, version 12", () => {
    expect(renderCmafMasterPlaylist(variants, "equirectangular")).toBe(
      [
        "#EXTM3U",
        "#EXT-X-VERSION:12",
        "#EXT-X-INDEPENDENT-SEGMENTS",
        '#EXT-X-STREAM-INF:BANDWIDTH=4000000,AVERAGE-BANDWIDTH=3500000,RESOLUTION=1920x960,FRAME-RATE=25.000,CODECS="avc1.640028,mp4a.40.2",REQ-VIDEO-LAYOUT="CH-MONO/PROJ-EQUI"',
        "source/index.m3u8",
        '#EXT-X-STREAM-INF:BANDWIDTH=400000,AVERAGE-BANDWIDTH=350000,RESOLUTION=640x320,FRAME-RATE=25.000,CODECS="avc1.64001e,mp4a.40.2",REQ-VIDEO-LAYOUT="CH-MONO/PROJ-EQUI"',
        "360p/index.m3u8",
        "",
      ].join("\n"),
    );
  });

  test("a cubemap and a flat video carry no layout (no specifier exists for a cubemap; flat is the default): core's playlist", () => {
    for (const projection of ["cubemap", "flat"] as const) {
      expect(VIDEO_LAYOUTS[projection]).toBeUndefined();
      const text = renderCmafMasterPlaylist(variants, projection);
      expect(text).not.toContain("REQ-");
      expect(text).toBe(renderMasterPlaylist(variants.map(({ entry, init }) => ({ ...entry, codecs: init.codecs }))));
    }
  });

  test("the init segment's codecs replace any the entry had, and other extra attributes stay", () => {
    const [first] = variants;
    const text = renderCmafMasterPlaylist([{ entry: { ...first!.entry, codecs: ["avc1.42C01E"], extra: { "X-PROJECTION": "equirectangular" } } as CmafMasterVariant["entry"], init: first!.init }], "equirectangular");
    expect(text).toContain('CODECS="avc1.64001e,mp4a.40.2",X-PROJECTION="equirectangular",REQ-VIDEO-LAYOUT="CH-MONO/PROJ-EQUI"\n');
    expect(text).not.toContain("42C01E");
  });

  test("as hls.js reads it: every variant kept, with its codecs and the layout attribute", async () => {
    const parser = await hlsJsParser();
    const parsed = parser.parseMasterPlaylist(renderCmafMasterPlaylist(variants, "equirectangular"), "https://edge.example/hls/live/master.m3u8");
    expect(parsed.playlistParsingError).toBeNull();
    expect(parsed.levels.map((l) => [l.url, l.bitrate, l.videoCodec, l.audioCodec, l.attrs["REQ-VIDEO-LAYOUT"]])).toEqual([
      ["https://edge.example/hls/live/source/index.m3u8", 4_000_000, "avc1.640028", "mp4a.40.2", "CH-MONO/PROJ-EQUI"],
      ["https://edge.example/hls/live/360p/index.m3u8", 400_000, "avc1.64001e", "mp4a.40.2", "CH-MONO/PROJ-EQUI"],
    ]);
  });
});
