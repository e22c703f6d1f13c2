import { describe, expect, test } from "@jest/globals";
import { parseMasterPlaylist, parseMediaPlaylist } from "./playlists.js";

describe("playlist parsing", () => {
  test("media playlists: segments with durations, and the end list", () => {
    const live = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-PROGRAM-DATE-TIME:2026-01-01T00:00:00Z\n#EXTINF:2.000,\n0.ts\n#EXTINF:1.5,\nseg_00001.ts\n";
    expect(parseMediaPlaylist(live)).toEqual({
      segments: [
        { uri: "0.ts", durationSeconds: 2 },
        { uri: "seg_00001.ts", durationSeconds: 1.5 },
      ],
      ended: false,
    });
    expect(parseMediaPlaylist(`${live}#EXT-X-ENDLIST\n`).ended).toBe(true);
  });

  test("master playlists: variant URIs in order", () => {
    const master = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=5000000\nsource/index.m3u8\n#EXT-X-STREAM-INF:BANDWIDTH=1000000\n\n480p/index.m3u8\n";
    expect(parseMasterPlaylist(master)).toEqual(["source/index.m3u8", "480p/index.m3u8"]);
  });
});
