import { describe, expect, test } from "@jest/globals";
import { hlsJsParser } from "./hlsjs.fixture.js";
import { LlHlsPlaylistError, renderLlHlsMediaPlaylist, renditionReport, type LlHlsPlaylistOptions } from "./playlist.js";
import { initName } from "./names.js";
import { part, variantState } from "./state.fixture.js";

const INIT = "init_0123456789abcdef.mp4";
const options: LlHlsPlaylistOptions = { initUri: INIT };

/** The segment URIs a playlist lists, in order. */
const segmentLines = (text: string): string[] => text.split("\n").filter((l) => l.startsWith("seg_"));
/** The segments whose parts a playlist lists. */
const segmentsWithParts = (text: string): number[] => [...new Set([...text.matchAll(/#EXT-X-PART:.*URI="seg_(\d+)\.\d+\.m4s"/g)].map((m) => Number(m[1])))];

describe("the LL-HLS media playlist", () => {
  test("a live variant, exactly: parts for the last three target durations and the open segment, the hint, the reports", () => {
    // 1-s segments of two 0.5-s parts: 100…104 complete, 105 has one part. The live edge is
    // 5.5 s after the start of 100, so 102 (ending 2.5 s before it) keeps its parts and 101
    // (3.5 s) does not.
    const state = variantState({ openParts: 1, independent: ["103.1"] });
    const other = variantState({ name: "360p", openParts: 2 });
    const text = renderLlHlsMediaPlaylist(state, { ...options, renditionReports: [renditionReport(other)!] });
    expect(text).toBe(
      [
        "#EXTM3U",
        "#EXT-X-VERSION:6",
        "#EXT-X-TARGETDURATION:1",
        "#EXT-X-MEDIA-SEQUENCE:100",
        "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.5,CAN-SKIP-UNTIL=6.0",
        "#EXT-X-PART-INF:PART-TARGET=0.5",
        `#EXT-X-MAP:URI="${INIT}"`,
        "#EXT-X-PROGRAM-DATE-TIME:2024-05-01T12:01:40.000Z",
        "#EXTINF:1.0,",
        "seg_00100.m4s",
        "#EXT-X-PROGRAM-DATE-TIME:2024-05-01T12:01:41.000Z",
        "#EXTINF:1.0,",
        "seg_00101.m4s",
        "#EXT-X-PROGRAM-DATE-TIME:2024-05-01T12:01:42.000Z",
        '#EXT-X-PART:DURATION=0.5,INDEPENDENT=YES,URI="seg_00102.0.m4s"',
        '#EXT-X-PART:DURATION=0.5,URI="seg_00102.1.m4s"',
        "#EXTINF:1.0,",
        "seg_00102.m4s",
        "#EXT-X-PROGRAM-DATE-TIME:2024-05-01T12:01:43.000Z",
        '#EXT-X-PART:DURATION=0.5,INDEPENDENT=YES,URI="seg_00103.0.m4s"',
        '#EXT-X-PART:DURATION=0.5,INDEPENDENT=YES,URI="seg_00103.1.m4s"',
        "#EXTINF:1.0,",
        "seg_00103.m4s",
        "#EXT-X-PROGRAM-DATE-TIME:2024-05-01T12:01:44.000Z",
        '#EXT-X-PART:DURATION=0.5,INDEPENDENT=YES,URI="seg_00104.0.m4s"',
        '#EXT-X-PART:DURATION=0.5,URI="seg_00104.1.m4s"',
        "#EXTINF:1.0,",
        "seg_00104.m4s",
        "#EXT-X-PROGRAM-DATE-TIME:2024-05-01T12:01:45.000Z",
        '#EXT-X-PART:DURATION=0.5,INDEPENDENT=YES,URI="seg_00105.0.m4s"',
        '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="seg_00105.1.m4s"',
        '#EXT-X-RENDITION-REPORT:URI="../360p/index.m3u8",LAST-MSN=105,LAST-PART=1',
        "",
      ].join("\n"),
    );
  });

  test("parts leave the playlist once their segment ends more than three target durations before the live edge", () => {
    // 2-s segments of four parts: the edge moves by one part at a time.
    const spec = { targetDurationSeconds: 2, partTargetSeconds: 0.5, first: 10, complete: 6 };
    // Edge at the end of 15: 12 ends 6 s before it (kept), 11 ends 8 s before it.
    expect(segmentsWithParts(renderLlHlsMediaPlaylist(variantState(spec), options))).toEqual([12, 13, 14, 15]);
    // One part of 16 later, 12 ends 6.5 s before the edge.
    expect(segmentsWithParts(renderLlHlsMediaPlaylist(variantState({ ...spec, openParts: 1 }), options))).toEqual([13, 14, 15, 16]);
    // In order, oldest first, and only whole segments' worth (6.2.2).
    expect(segmentsWithParts(renderLlHlsMediaPlaylist(variantState({ ...spec, openParts: 4 }), options))).toEqual([13, 14, 15, 16]);
  });

  test("the open segment's parts are listed from its first one; a segment that has not begun is only hinted", () => {
    const begun = renderLlHlsMediaPlaylist(variantState({ complete: 1, openParts: 0 }), options);
    expect(begun).toContain('#EXTINF:1.0,\nseg_00100.m4s\n#EXT-X-PRELOAD-HINT:TYPE=PART,URI="seg_00101.0.m4s"\n');
    const notBegun = renderLlHlsMediaPlaylist(variantState({ complete: 1 }), options);
    expect(notBegun).toBe(begun);
    // Only an open segment so far: the media sequence starts with it.
    const first = renderLlHlsMediaPlaylist(variantState({ complete: 0, openParts: 1 }), options);
    expect(first).toContain("#EXT-X-MEDIA-SEQUENCE:100\n");
    expect(first).toContain('URI="seg_00100.0.m4s"\n#EXT-X-PRELOAD-HINT:TYPE=PART,URI="seg_00100.1.m4s"');
    expect(segmentLines(first)).toEqual([]);
  });

  test("an open segment that has reached the segment target hints the next segment's first part (its keyframe closes it)", () => {
    // Parts of 0.5 s under a 1 s target: after two, the next part starts the next segment.
    const full = renderLlHlsMediaPlaylist(variantState({ complete: 2, openParts: 2 }), options);
    expect(full).toContain('URI="seg_00102.1.m4s"\n#EXT-X-PRELOAD-HINT:TYPE=PART,URI="seg_00103.0.m4s"');
    const half = renderLlHlsMediaPlaylist(variantState({ complete: 2, openParts: 1 }), options);
    expect(half).toContain('URI="seg_00102.0.m4s"\n#EXT-X-PRELOAD-HINT:TYPE=PART,URI="seg_00102.1.m4s"');
  });

  test("a restarted ladder: a discontinuity and the new init before its first segment, counted once it leaves the window", () => {
    const state = variantState({ complete: 3, openParts: 1 });
    const init = { data: Buffer.from("second init"), codecs: ["avc1.64001f"], timescales: { vide: 90000 } };
    const segments = state.segments.map((segment, i) => (i === 2 ? { ...segment, init, discontinuity: true } : segment));
    const text = renderLlHlsMediaPlaylist({ ...state, segments, open: { ...state.open!, init }, discontinuitySequence: 4 }, options);
    expect(text).toContain("#EXT-X-DISCONTINUITY-SEQUENCE:4\n");
    expect(text.match(/#EXT-X-MAP:URI="[^"]+"/g)).toEqual([`#EXT-X-MAP:URI="${INIT}"`, `#EXT-X-MAP:URI="${initName(init)}"`]);
    expect(text).toMatch(/seg_00101\.m4s\n#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI="init_[0-9a-f]{16}\.mp4"\n#EXT-X-PROGRAM-DATE-TIME:/);
    // The open segment shares the new init: no third map.
    expect(text.match(/#EXT-X-DISCONTINUITY\n/g)).toHaveLength(1);
  });

  test("durations are written to 10 µs, and no part outgrows the part target nor the hold-back three of them by rounding", () => {
    const state = variantState({ complete: 1, openParts: 1, partTargetSeconds: 0.3333351 });
    const text = renderLlHlsMediaPlaylist(
      {
        ...state,
        segments: [{ ...state.segments[0]!, durationSeconds: 0.9600049, parts: [0, 1, 2].map((k) => part(100, k, 0.3200049, k === 0)) }],
        open: { ...state.open!, parts: [part(101, 0, 0.3333351, true)] },
      },
      options,
    );
    expect(text).toContain("PART-HOLD-BACK=1.00002,");
    expect(text).toContain("#EXT-X-PART-INF:PART-TARGET=0.33334\n");
    // A hold-back of other than three parts (--part-hold-back), still a multiple of the target as written.
    expect(renderLlHlsMediaPlaylist({ ...state, partHoldBackParts: 2 }, options)).toContain("PART-HOLD-BACK=0.66668,");
    expect(renderLlHlsMediaPlaylist({ ...state, partHoldBackParts: 2.5 }, options)).toContain("PART-HOLD-BACK=0.83335,");
    expect(text).toContain('#EXT-X-PART:DURATION=0.32,INDEPENDENT=YES,URI="seg_00100.0.m4s"');
    expect(text).toContain('#EXT-X-PART:DURATION=0.33334,INDEPENDENT=YES,URI="seg_00101.0.m4s"');
    expect(text).toContain("#EXTINF:0.96,\nseg_00100.m4s");
  });

  test("an ended stream: ENDLIST, no preload hint, and a skip request is ignored", () => {
    const state = variantState({ complete: 12, ended: true });
    const text = renderLlHlsMediaPlaylist(state, { ...options, skip: "YES" });
    expect(text.endsWith("#EXTINF:1.0,\nseg_00111.m4s\n#EXT-X-ENDLIST\n")).toBe(true);
    expect(text).not.toContain("PRELOAD-HINT");
    expect(text).not.toContain("EXT-X-SKIP");
    expect(segmentLines(text)).toHaveLength(12);
    // Rendition reports still come before the end.
    const reported = renderLlHlsMediaPlaylist(state, { ...options, renditionReports: [{ uri: "../360p/index.m3u8", lastMsn: 111, lastPart: 1 }] });
    expect(reported.endsWith('#EXT-X-RENDITION-REPORT:URI="../360p/index.m3u8",LAST-MSN=111,LAST-PART=1\n#EXT-X-ENDLIST\n')).toBe(true);
  });

  test("rendition reports name each other variant's newest part, relative to this playlist", () => {
    expect(renditionReport(variantState({ name: "480p", complete: 3 }))).toEqual({ uri: "../480p/index.m3u8", lastMsn: 102, lastPart: 1 });
    expect(renditionReport(variantState({ name: "480p", complete: 3, openParts: 1 }))).toEqual({ uri: "../480p/index.m3u8", lastMsn: 103, lastPart: 0 });
    // A segment begun but without a part yet: the newest part is still the last segment's.
    expect(renditionReport(variantState({ name: "480p", complete: 3, openParts: 0 }))).toEqual({ uri: "../480p/index.m3u8", lastMsn: 102, lastPart: 1 });
    expect(renditionReport(variantState({ name: "480p", complete: 0, openParts: 0 }))).toBeUndefined();
    const text = renderLlHlsMediaPlaylist(variantState({ openParts: 1 }), {
      ...options,
      renditionReports: [renditionReport(variantState({ name: "480p", openParts: 1 }))!, renditionReport(variantState({ name: "240p", complete: 5 }))!],
    });
    expect(text.split("\n").filter((l) => l.startsWith("#EXT-X-RENDITION-REPORT"))).toEqual([
      '#EXT-X-RENDITION-REPORT:URI="../480p/index.m3u8",LAST-MSN=105,LAST-PART=0',
      '#EXT-X-RENDITION-REPORT:URI="../240p/index.m3u8",LAST-MSN=104,LAST-PART=1',
    ]);
  });
});

describe("delta updates (_HLS_skip)", () => {
  // Ten 1-s segments, 100…109: the Skip Boundary is 6 s, so 100…102 (ending 9, 8 and 7 s before
  // the end of 109) are skipped and 103 (6 s, not further than the boundary) is kept.
  const state = variantState({ complete: 10, openParts: 1 });

  test("segments ending further than CAN-SKIP-UNTIL before the last one's end are replaced by EXT-X-SKIP", () => {
    const full = renderLlHlsMediaPlaylist(state, options);
    const delta = renderLlHlsMediaPlaylist(state, { ...options, skip: "YES" });
    expect(delta).toContain("#EXT-X-VERSION:9\n");
    // The media sequence still numbers the first segment, skipped or not.
    expect(delta).toContain("#EXT-X-MEDIA-SEQUENCE:100\n");
    expect(delta).toContain(`#EXT-X-PART-INF:PART-TARGET=0.5\n#EXT-X-SKIP:SKIPPED-SEGMENTS=3\n#EXT-X-MAP:URI="${INIT}"\n#EXT-X-PROGRAM-DATE-TIME:2024-05-01T12:01:43.000Z\n`);
    expect(segmentLines(delta)).toEqual(segmentLines(full).slice(3));
    // What follows the first kept segment is the full playlist's, line for line.
    expect(delta.slice(delta.indexOf("seg_00103.m4s"))).toBe(full.slice(full.indexOf("seg_00103.m4s")));
  });

  test("v2 asks to skip date ranges too: the tag says none were removed", () => {
    const delta = renderLlHlsMediaPlaylist(state, { ...options, skip: "v2" });
    expect(delta).toContain('#EXT-X-SKIP:SKIPPED-SEGMENTS=3,RECENTLY-REMOVED-DATERANGES=""\n');
    // It skipped no date range, so version 9 still covers it (section 8).
    expect(delta).toContain("#EXT-X-VERSION:9\n");
  });

  test("a window no longer than the boundary skips nothing: the full playlist, version 6", () => {
    const short = variantState({ complete: 7, openParts: 1 });
    expect(renderLlHlsMediaPlaylist(short, { ...options, skip: "YES" })).toBe(renderLlHlsMediaPlaylist(short, options));
    expect(renderLlHlsMediaPlaylist(variantState({ complete: 8 }), { ...options, skip: "YES" })).toContain("#EXT-X-SKIP:SKIPPED-SEGMENTS=1\n");
  });

  test("the boundary is six target durations of the variant: 2-s segments skip by 12 s", () => {
    const delta = renderLlHlsMediaPlaylist(variantState({ targetDurationSeconds: 2, complete: 10 }), { ...options, skip: "YES" });
    expect(delta).toContain("CAN-SKIP-UNTIL=12.0\n");
    expect(delta).toContain("#EXT-X-SKIP:SKIPPED-SEGMENTS=3\n");
  });
});

describe("what the playlist cannot be written from", () => {
  test("a variant with no part yet", () => {
    expect(() => renderLlHlsMediaPlaylist(variantState({ complete: 0 }), options)).toThrow(LlHlsPlaylistError);
    expect(() => renderLlHlsMediaPlaylist(variantState({ complete: 0, openParts: 0 }), options)).toThrow(/no part yet/);
  });

  test("segments that are not consecutive, or parts out of place", () => {
    const state = variantState({ complete: 3, openParts: 1 });
    expect(() => renderLlHlsMediaPlaylist({ ...state, segments: [state.segments[0]!, state.segments[2]!] }, options)).toThrow(/not consecutive/);
    expect(() => renderLlHlsMediaPlaylist({ ...state, open: { ...state.open!, number: 104 } }, options)).toThrow(/not consecutive/);
    const shuffled = { ...state.segments[1]!, parts: [...state.segments[1]!.parts].reverse() };
    expect(() => renderLlHlsMediaPlaylist({ ...state, segments: [state.segments[0]!, shuffled, state.segments[2]!] }, options)).toThrow(/listed as part 0 of segment 101/);
  });

  test("targets the spec does not allow", () => {
    expect(() => renderLlHlsMediaPlaylist(variantState({ targetDurationSeconds: 1.5, partTargetSeconds: 0.5 }), options)).toThrow(/whole number/);
    expect(() => renderLlHlsMediaPlaylist({ ...variantState(), partTargetSeconds: 0 }, options)).toThrow(/part target/);
  });

  test("URIs that would break the playlist's syntax", () => {
    const state = variantState({ openParts: 1 });
    expect(() => renderLlHlsMediaPlaylist(state, { initUri: 'init".mp4' })).toThrow(LlHlsPlaylistError);
    expect(() => renderLlHlsMediaPlaylist(state, { ...options, segmentUri: (n) => `seg_${n}.m4s\n#EXT-X-ENDLIST` })).toThrow(/not one line/);
    expect(() => renderLlHlsMediaPlaylist(state, { ...options, partUri: () => "" })).toThrow(/not one line/);
  });
});

describe("as hls.js reads it", () => {
  test("a live playlist: segments, parts, the hint, server control and rendition reports", async () => {
    const parser = await hlsJsParser();
    const state = variantState({ openParts: 1, independent: ["103.1"] });
    const text = renderLlHlsMediaPlaylist(state, { ...options, renditionReports: [renditionReport(variantState({ name: "360p", openParts: 2 }))!] });
    const details = parser.parseLevelPlaylist(text, "https://edge.example/hls/live/source/index.m3u8", 0, "main", 0, null);
    expect(details.playlistParsingError).toBeNull();
    expect(details.live).toBe(true);
    expect(details.version).toBe(6);
    expect([details.startSN, details.endSN]).toEqual([100, 104]);
    expect(details.fragments.map((f) => f?.relurl)).toEqual(["seg_00100.m4s", "seg_00101.m4s", "seg_00102.m4s", "seg_00103.m4s", "seg_00104.m4s"]);
    expect(details.fragments.map((f) => f?.programDateTime)).toEqual([100, 101, 102, 103, 104].map((n) => Date.UTC(2024, 4, 1, 12, 0, n)));
    expect(details.fragments.every((f) => f?.initSegment?.relurl === INIT)).toBe(true);
    expect(details.partList!.map((p) => [p.fragment.sn, p.index, p.independent, p.duration])).toEqual([
      [102, 0, true, 0.5],
      [102, 1, false, 0.5],
      [103, 0, true, 0.5],
      [103, 1, true, 0.5],
      [104, 0, true, 0.5],
      [104, 1, false, 0.5],
      [105, 0, true, 0.5],
    ]);
    expect({ ...details.preloadHint }).toEqual({ TYPE: "PART", URI: "seg_00105.1.m4s" });
    expect(details.renditionReports!.map((r) => ({ ...r }))).toEqual([{ URI: "../360p/index.m3u8", "LAST-MSN": "105", "LAST-PART": "1" }]);
    expect([details.canBlockReload, details.partHoldBack, details.partTarget, details.canSkipUntil, details.targetduration]).toEqual([true, 1.5, 0.5, 6, 1]);
  });

  test("a delta update: the skipped segments are left for the previous playlist, the rest as in the full one", async () => {
    const parser = await hlsJsParser();
    const state = variantState({ complete: 10, openParts: 1 });
    const url = "https://edge.example/hls/live/source/index.m3u8";
    const delta = parser.parseLevelPlaylist(renderLlHlsMediaPlaylist(state, { ...options, skip: "v2" }), url, 0, "main", 0, null);
    const full = parser.parseLevelPlaylist(renderLlHlsMediaPlaylist(state, options), url, 0, "main", 0, null);
    expect(delta.playlistParsingError).toBeNull();
    expect(delta.version).toBe(9);
    expect(delta.skippedSegments).toBe(3);
    expect(delta.recentlyRemovedDateranges).toBeUndefined();
    expect(delta.fragments.slice(0, 3)).toEqual([null, null, null]);
    expect(delta.fragments.slice(3).map((f) => [f!.sn, f!.relurl, f!.initSegment?.relurl])).toEqual(full.fragments.slice(3).map((f) => [f!.sn, f!.relurl, INIT]));
    expect(delta.partList!.map((p) => p.relurl)).toEqual(full.partList!.map((p) => p.relurl));
  });

  test("an ended playlist is not live and hints nothing", async () => {
    const parser = await hlsJsParser();
    const details = parser.parseLevelPlaylist(renderLlHlsMediaPlaylist(variantState({ ended: true }), options), "https://edge.example/a/index.m3u8", 0, "main", 0, null);
    expect(details.playlistParsingError).toBeNull();
    expect(details.live).toBe(false);
    expect(details.preloadHint).toBeUndefined();
  });
});
