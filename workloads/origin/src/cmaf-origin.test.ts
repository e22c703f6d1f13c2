/**
 * The origin in CMAF / LL-HLS mode end to end (issue #15): node-media-server ingest, an FFmpeg
 * publisher, the ladder FFmpeg writing fragmented MP4 to pipes, the packager, and HTTP as a
 * player or an edge sees it — playlists read by hls.js's own parser, media by ffprobe.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { createLogger, parseLadder, probe } from "@live360/core";
import { getText, loopbackOrigin, makeTestClip, publishFile, tempDir, waitFor, type Publisher } from "@live360/testkit";
import { resolveOriginConfig } from "./config.js";
import { startOrigin, type Origin } from "./origin.js";
import { hlsJsParser, type HlsJsLevelDetails } from "./ll-hls/hlsjs.fixture.js";

const quiet = { logger: createLogger("origin", { level: process.env.LIVE360_LOG_LEVEL === "debug" ? "debug" : "error" }) };

async function fetchBytes(url: string): Promise<{ status: number; type: string | null; cache: string | null; bytes: Buffer }> {
  const res = await fetch(url);
  return { status: res.status, type: res.headers.get("content-type"), cache: res.headers.get("cache-control"), bytes: Buffer.from(await res.arrayBuffer()) };
}

/** `#EXT-X-PRELOAD-HINT`'s URI as msn and part. */
function hintOf(playlist: string): { uri: string; msn: number; part: number } {
  const uri = /#EXT-X-PRELOAD-HINT:TYPE=PART,URI="([^"]+)"/.exec(playlist)?.[1];
  const match = uri && /^seg_(\d+)\.(\d+)\.m4s$/.exec(uri);
  if (!match) throw new Error(`no part hint in\n${playlist}`);
  return { uri: uri!, msn: Number(match[1]), part: Number(match[2]) };
}

describe("origin in CMAF / LL-HLS mode with a live publisher", () => {
  let dir: string;
  let origin: Origin;
  let http: string;
  let publisher: Publisher;
  let parse: (text: string) => HlsJsLevelDetails;

  beforeAll(async () => {
    dir = await tempDir("origin-cmaf");
    const clip = await makeTestClip(dir, { seconds: 4, gopSeconds: 1, fps: 25 });
    const local = await loopbackOrigin(dir);
    const config = resolveOriginConfig({
      ...local.settings,
      ladder: parseLadder("ladder", "source,320x160:300k"),
      lowLatency: true,
      hlsFormat: "cmaf",
      partTargetSeconds: 0.5,
      // Not the default three parts: the setting reaches the playlists.
      partHoldBackParts: 2.5,
      // Longer than the skip boundary (6 target durations), so delta updates skip something.
      windowSegments: 10,
      reconnectGraceSeconds: 2,
    });
    origin = await startOrigin(config, quiet);
    http = local.http;
    const parser = await hlsJsParser();
    parse = (text) => parser.parseLevelPlaylist(text, `${http}/hls/test/source/index.m3u8`, 0, "level", 0, null);
    publisher = await publishFile(clip, `${local.rtmp}/test`, { loop: true });
    await waitFor("the master playlist", async () => (await getText(`${http}/hls/test/master.m3u8`)).status === 200, { timeoutMs: 45_000, intervalMs: 250 });
  }, 90_000);

  afterAll(async () => {
    await publisher?.stop();
    await origin?.close();
  }, 60_000);

  test("the master playlist lists both variants with CODECS from their init segments and the 360° layout", async () => {
    const { status, body, headers } = await getText(`${http}/hls/test/master.m3u8`);
    expect(status).toBe(200);
    expect(headers.get("content-type")).toBe("application/vnd.apple.mpegurl");
    expect(body).toMatch(/^#EXT-X-VERSION:12$/m);
    const entries = body.split("\n").filter((l) => l.startsWith("#EXT-X-STREAM-INF:"));
    expect(entries).toHaveLength(2);
    for (const entry of entries) {
      expect(entry).toMatch(/CODECS="avc1\.[0-9A-Fa-f]{6},mp4a\.40\.2"/);
      expect(entry).toContain('REQ-VIDEO-LAYOUT="CH-MONO/PROJ-EQUI"');
      const frameRate = Number(/FRAME-RATE=([\d.]+)/.exec(entry)?.[1]);
      expect(frameRate).toBeGreaterThan(20);
      expect(frameRate).toBeLessThan(30);
    }
    expect(entries[0]).toContain("RESOLUTION=640x320");
    expect(entries[1]).toContain("RESOLUTION=320x160");
    expect(body.split("\n").filter((l) => l.endsWith("index.m3u8"))).toEqual(["source/index.m3u8", "160p/index.m3u8"]);
  });

  test("a media playlist is LL-HLS as hls.js reads it: parts, a preload hint, server control and a rendition report", async () => {
    // Enough for a complete segment with its parts listed.
    await waitFor("two complete segments", async () => (await getText(`${http}/hls/test/source/index.m3u8`)).body.split("\n").filter((l) => l.endsWith(".m4s") && !l.startsWith("#")).length >= 2, {
      timeoutMs: 20_000,
      intervalMs: 250,
    });
    const { body, headers } = await getText(`${http}/hls/test/source/index.m3u8`);
    expect(headers.get("cache-control")).toBe("public, max-age=1");
    const details = parse(body);
    expect(details.playlistParsingError).toBeNull();
    expect(details.live).toBe(true);
    expect(details.canBlockReload).toBe(true);
    expect(details.partTarget).toBe(0.5);
    expect(details.partHoldBack).toBe(1.25);
    expect(details.targetduration).toBe(1);
    expect(details.partList?.length).toBeGreaterThan(1);
    for (const part of details.partList!) expect(part.duration).toBeLessThanOrEqual(0.5);
    // A keyframe a second: every segment starts with an independent part.
    expect(details.partList!.filter((p) => p.index === 0).every((p) => p.independent)).toBe(true);
    expect(details.preloadHint?.URI).toMatch(/^seg_\d{5,}\.\d+\.m4s$/);
    expect(details.renditionReports?.map((r) => r.URI)).toEqual(["../160p/index.m3u8"]);
    expect(details.fragments[0]?.initSegment?.relurl).toMatch(/^init_[0-9a-f]{16}\.mp4$/);
  });

  test("a segment is its parts, and init + segment decode as one second of both tracks", async () => {
    const { body } = await getText(`${http}/hls/test/160p/index.m3u8`);
    const details = parse(body);
    const segment = details.fragments.find((f) => f !== null && details.partList!.some((p) => p.fragment.sn === f.sn))!;
    const parts = details.partList!.filter((p) => p.fragment.sn === segment.sn);
    const init = await fetchBytes(`${http}/hls/test/160p/${segment.initSegment!.relurl}`);
    expect(init).toMatchObject({ status: 200, type: "video/mp4", cache: "public, max-age=31536000, immutable" });
    expect(init.bytes.subarray(4, 8).toString("latin1")).toBe("ftyp");
    const whole = await fetchBytes(`${http}/hls/test/160p/${segment.relurl}`);
    expect(whole).toMatchObject({ status: 200, type: "video/mp4", cache: "public, max-age=31536000, immutable" });
    const partBytes = await Promise.all(parts.map(async (p) => (await fetchBytes(`${http}/hls/test/160p/${p.relurl}`)).bytes));
    expect(Buffer.concat(partBytes).equals(whole.bytes)).toBe(true);

    const file = path.join(dir, "segment.mp4");
    await writeFile(file, Buffer.concat([init.bytes, whole.bytes]));
    const info = await probe(file);
    expect(info.streams.find((s) => s.codec_type === "video")).toMatchObject({ codec_name: "h264", width: 320, height: 160 });
    expect(info.streams.find((s) => s.codec_type === "audio")).toMatchObject({ codec_name: "aac" });
    // The timeline is the encoder's plus the offset (-copyts): the segment starts well after 0.
    const seconds = Number(info.format.duration) - Number((info.format as { start_time?: string }).start_time);
    expect(seconds).toBeGreaterThan(0.8);
    expect(seconds).toBeLessThan(1.3);
  });

  test("both variants number the same media alike: their segments start at the same times", async () => {
    const [source, small] = await Promise.all(["source", "160p"].map(async (v) => parse((await getText(`${http}/hls/test/${v}/index.m3u8`)).body)));
    const timesOf = (d: HlsJsLevelDetails): Map<number, number> => new Map(d.fragments.filter((f) => f !== null).map((f) => [Number(f.sn), f.programDateTime!]));
    const [a, b] = [timesOf(source!), timesOf(small!)];
    const shared = [...a.keys()].filter((sn) => b.has(sn));
    expect(shared.length).toBeGreaterThan(1);
    for (const sn of shared) expect(Math.abs(a.get(sn)! - b.get(sn)!)).toBeLessThan(50);
  });

  test("a blocking reload for the hinted part is answered once that part exists, and lists it", async () => {
    const { body } = await getText(`${http}/hls/test/source/index.m3u8`);
    const hint = hintOf(body);
    const blocked = await getText(`${http}/hls/test/source/index.m3u8?_HLS_msn=${hint.msn}&_HLS_part=${hint.part}`);
    expect(blocked.status).toBe(200);
    // The answer is the playlist as of that part, cacheable as such.
    expect(blocked.headers.get("cache-control")).toBe("public, max-age=3");
    const listed = parse(blocked.body).partList!.map((p) => p.relurl);
    expect(listed).toContain(hint.uri);
    expect(hintOf(blocked.body).uri).not.toBe(hint.uri);
  });

  test("a request for the hinted part is held until the part is complete, then sent whole", async () => {
    const { body } = await getText(`${http}/hls/test/source/index.m3u8`);
    const hint = hintOf(body);
    const held = await fetchBytes(`${http}/hls/test/source/${hint.uri}`);
    expect(held).toMatchObject({ status: 200, type: "video/mp4", cache: "public, max-age=31536000, immutable" });
    expect(held.bytes.includes(Buffer.from("moof"))).toBe(true);
    expect(held.bytes.includes(Buffer.from("mdat"))).toBe(true);
    // Fetched again once listed: the same bytes.
    const again = await fetchBytes(`${http}/hls/test/source/${hint.uri}`);
    expect(again.bytes.equals(held.bytes)).toBe(true);
  });

  test("requests the spec refuses get 400, parts that will never exist 404, delta updates skip", async () => {
    const { body } = await getText(`${http}/hls/test/source/index.m3u8`);
    const hint = hintOf(body);
    const tooFar = await getText(`${http}/hls/test/source/index.m3u8?_HLS_msn=${hint.msn + 5}`);
    expect(tooFar.status).toBe(400);
    expect(tooFar.body).toMatch(/more than two segments past/);
    expect((await getText(`${http}/hls/test/source/index.m3u8?_HLS_part=1`)).status).toBe(400);
    expect((await getText(`${http}/hls/test/source/index.m3u8?_HLS_msn=007`)).status).toBe(400);
    expect((await fetchBytes(`${http}/hls/test/source/seg_${String(hint.msn + 9).padStart(5, "0")}.0.m4s`)).status).toBe(404);
    expect((await fetchBytes(`${http}/hls/test/source/init_0000000000000000.mp4`)).status).toBe(404);
    expect((await fetchBytes(`${http}/hls/test/nope/index.m3u8`)).status).toBe(404);
    // The TS names do not exist in CMAF mode.
    expect((await fetchBytes(`${http}/hls/test/source/seg_${String(hint.msn).padStart(5, "0")}.ts`)).status).toBe(404);
    // Once the window is longer than the skip boundary (6 s), a delta update leaves its oldest segments out.
    await waitFor("a window past the skip boundary", async () => parse((await getText(`${http}/hls/test/source/index.m3u8`)).body).fragments.length >= 8, { timeoutMs: 20_000, intervalMs: 500 });
    const delta = await getText(`${http}/hls/test/source/index.m3u8?_HLS_skip=YES`);
    expect(delta.status).toBe(200);
    expect(parse(delta.body).playlistParsingError).toBeNull();
    expect(delta.body).toMatch(/^#EXT-X-SKIP:SKIPPED-SEGMENTS=\d+$/m);
  });

  test("/stat and the segment counter see the CMAF ladder", async () => {
    const { body } = await getText(`${http}/metrics`);
    const count = (rendition: string): number => Number(new RegExp(`^live360_origin_segments_total\\{stream="test",rendition="${rendition}"\\} (\\d+)`, "m").exec(body)?.[1] ?? 0);
    expect(count("source")).toBeGreaterThan(0);
    expect(count("160p")).toBeGreaterThan(0);
    expect(body).toMatch(/^live360_origin_cmaf_packager_errors_total 0$/m);
  });

  test("when the publisher leaves, the playlists end and held requests are answered", async () => {
    const { body } = await getText(`${http}/hls/test/source/index.m3u8`);
    const hint = hintOf(body);
    // The segment after the open one: held until the stream ends (a far one would be a 400).
    const farHint = getText(`${http}/hls/test/source/index.m3u8?_HLS_msn=${hint.msn + 1}`);
    await publisher.stop();
    const answered = await farHint;
    expect(answered.status).toBe(200);
    await waitFor("the end list", async () => (await getText(`${http}/hls/test/source/index.m3u8`)).body.includes("#EXT-X-ENDLIST"), { timeoutMs: 15_000, intervalMs: 250 });
    const ended = parse((await getText(`${http}/hls/test/source/index.m3u8`)).body);
    expect(ended.live).toBe(false);
    expect(ended.preloadHint).toBeUndefined();
  });
});
