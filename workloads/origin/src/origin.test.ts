/**
 * The origin end to end with real processes: node-media-server ingest, FFmpeg publishers,
 * the ladder FFmpeg, ffprobe on what comes out, and HTTP as a player or an edge sees it.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import path from "node:path";
import { createLogger, parseLadder, parseMediaPlaylist as parseSegments, probe, resolveBinary, runOnce } from "@live360/core";
import {
  loopbackOrigin,
  getText,
  httpGet,
  keyframeTimes,
  makeTestClip,
  parseMediaPlaylist,
  publishFile,
  tempDir,
  videoFrameHashes,
  waitFor,
  type Publisher,
} from "@live360/testkit";
import { resolveOriginConfig, type OriginConfig } from "./config.js";
import { startOrigin, type Origin } from "./origin.js";
import { metric } from "./healthy-origin.fixture.js";

const LADDER = parseLadder("ladder", "source,480x240:600k,320x160:300k");
// Errors only: the tests assert on metrics and HTTP, and LIVE360_LOG_LEVEL=debug shows everything.
const quiet = { logger: createLogger("origin", { level: process.env.LIVE360_LOG_LEVEL === "debug" ? "debug" : "error" }) };

async function originOn(dir: string, over: Partial<OriginConfig> = {}): Promise<{ origin: Origin; http: string; rtmp: string }> {
  const local = await loopbackOrigin(dir);
  const config = resolveOriginConfig({
    ...local.settings,
    ladder: LADDER,
    reconnectGraceSeconds: 2,
    ...over,
  });
  const origin = await startOrigin(config, quiet);
  return { origin, http: local.http, rtmp: local.rtmp };
}

function segmentsOf(playlist: string): string[] {
  return playlist.split("\n").filter((l) => l.endsWith(".ts"));
}

describe("origin with a live publisher", () => {
  let dir: string;
  let clip: string;
  let env: Awaited<ReturnType<typeof originOn>>;
  let publisher: Publisher;

  beforeAll(async () => {
    dir = await tempDir("origin");
    // Black first: the first segment's rate is far from the average (AVERAGE-BANDWIDTH test).
    clip = await makeTestClip(dir, { seconds: 4, gopSeconds: 2, blackSeconds: 2 });
    env = await originOn(dir);
    publisher = await publishFile(clip, `${env.rtmp}/test`, { loop: true });
    await waitFor("master playlist", async () => (await getText(`${env.http}/hls/test/master.m3u8`)).status === 200, {
      timeoutMs: 45_000,
    });
  }, 90_000);

  afterAll(async () => {
    await publisher?.stop();
    await env?.origin.close();
  }, 60_000);

  test("the master playlist lists every variant with BANDWIDTH, AVERAGE-BANDWIDTH, RESOLUTION, FRAME-RATE and CODECS", async () => {
    const { body, headers } = await getText(`${env.http}/hls/test/master.m3u8`);
    expect(headers.get("content-type")).toBe("application/vnd.apple.mpegurl");
    const entries = body.split("\n").filter((l) => l.startsWith("#EXT-X-STREAM-INF:"));
    expect(entries).toHaveLength(3);
    const uris = body.split("\n").filter((l) => l.endsWith("index.m3u8"));
    expect(uris).toEqual(["source/index.m3u8", "240p/index.m3u8", "160p/index.m3u8"]);
    for (const [entry, resolution] of [
      [entries[0]!, "640x320"],
      [entries[1]!, "480x240"],
      [entries[2]!, "320x160"],
    ] as const) {
      expect(entry).toMatch(/BANDWIDTH=\d{5,}/);
      expect(entry).toMatch(/AVERAGE-BANDWIDTH=\d{5,}/);
      expect(entry).toContain(`RESOLUTION=${resolution}`);
      expect(entry).toContain("FRAME-RATE=30.000");
      expect(entry).toMatch(/CODECS="avc1\.64[0-9A-F]{4},mp4a\.40\.2"/);
    }
  });

  test("each variant's segments have the rung's resolution and H.264 + AAC", async () => {
    for (const [variant, width, height] of [
      ["source", 640, 320],
      ["240p", 480, 240],
      ["160p", 320, 160],
    ] as const) {
      const file = path.join(dir, "data", "hls", "test", variant, segmentsOf((await getText(`${env.http}/hls/test/${variant}/index.m3u8`)).body)[0]!);
      const info = await probe(file);
      const video = info.streams.find((s) => s.codec_type === "video")!;
      expect([video.codec_name, video.width, video.height]).toEqual(["h264", width, height]);
      expect(info.streams.find((s) => s.codec_type === "audio")?.codec_name).toBe("aac");
    }
  });

  test("the top variant is the source passed through bit for bit", async () => {
    const source = await videoFrameHashes(clip);
    const playlist = await waitFor("two segments", async () => {
      const body = (await getText(`${env.http}/hls/test/240p/index.m3u8`)).body;
      return segmentsOf(body).length >= 2 ? body : undefined;
    });
    const segment = path.join(dir, "data", "hls", "test", "source", segmentsOf(playlist)[1]!);
    const frames = await videoFrameHashes(segment);
    expect(frames.length).toBeGreaterThanOrEqual(30);
    const start = source.indexOf(frames[0]!);
    expect(start).toBeGreaterThanOrEqual(0);
    // The clip loops, so compare modulo its length.
    expect(frames.map((_, i) => source[(start + i) % source.length])).toEqual(frames);
    // A transcoded rung is not bit-identical: the check above can fail.
    const lower = await videoFrameHashes(path.join(dir, "data", "hls", "test", "240p", segmentsOf(playlist)[1]!));
    expect(source).not.toContain(lower[0]);
  });

  test("segment boundaries are keyframe-aligned across variants", async () => {
    await waitFor("three segments", async () => segmentsOf((await getText(`${env.http}/hls/test/160p/index.m3u8`)).body).length >= 3, {
      timeoutMs: 30_000,
    });
    const lists = await Promise.all(
      ["source", "240p", "160p"].map(async (v) => segmentsOf((await getText(`${env.http}/hls/test/${v}/index.m3u8`)).body)),
    );
    // From the second segment on: the first one starts wherever FFmpeg joined the stream.
    const common = lists[0]!.slice(1).filter((s) => lists.every((l) => l.includes(s))).slice(0, 3);
    expect(common.length).toBeGreaterThanOrEqual(2);
    for (const segment of common) {
      const starts = await Promise.all(
        ["source", "240p", "160p"].map(async (v) => (await keyframeTimes(path.join(dir, "data", "hls", "test", v, segment)))[0]!),
      );
      // Same picture starts every variant's segment: within one frame (33 ms) of each other.
      expect([segment, starts, Math.max(...starts) - Math.min(...starts) < 0.034]).toEqual([segment, starts, true]);
    }
  });

  test("segments are numbered by the wall clock: one number per segment duration since the epoch", async () => {
    const playlist = parseMediaPlaylist((await getText(`${env.http}/hls/test/source/index.m3u8`)).body);
    const newest = Number(/^seg_(\d+)\.ts$/.exec(playlist.segments.at(-1)!)![1]);
    expect(playlist.mediaSequence + playlist.segments.length - 1).toBe(newest);
    // The stream is live: its newest segment is numbered within a few segments of now.
    expect(Math.abs(Math.floor(Date.now() / 2000) - newest)).toBeLessThanOrEqual(10);
  });

  test("cache headers: short for playlists, immutable for segments; CORS open", async () => {
    const playlist = await getText(`${env.http}/hls/test/source/index.m3u8`);
    expect(playlist.headers.get("cache-control")).toBe("public, max-age=1");
    expect(playlist.headers.get("access-control-allow-origin")).toBe("*");
    const segment = await fetch(`${env.http}/hls/test/source/${segmentsOf(playlist.body)[0]!}`);
    expect(segment.status).toBe(200);
    expect(segment.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(segment.headers.get("content-type")).toBe("video/mp2t");
    await segment.arrayBuffer();
  });

  test("unknown streams and files are 404, and no path leaves the HLS root", async () => {
    await writeFile(path.join(dir, "data", "secret.txt"), "secret");
    for (const p of [
      "/hls/nostream/master.m3u8",
      "/hls/test/source/seg_99999.ts",
      "/hls/test/../../secret.txt",
      "/hls/test/%2e%2e/%2e%2e/secret.txt",
      "/hls/test/source/..%2f..%2f..%2fsecret.txt",
      "/hls/test/source/%2e%2e%2fmaster.m3u8",
      "/hls/..%252f..%252fsecret.txt",
      "/player/../data/secret.txt",
    ]) {
      // Raw sockets: fetch would normalise the dots away before sending.
      const status = await rawGetStatus(env.http, p);
      expect([p, status]).toEqual([p, 404]);
    }
  });

  test("a second publisher on a live stream is refused with a reason and the first keeps streaming", async () => {
    const before = await metric(env.http, "live360_origin_publish_refused_total", 'reason="already-publishing"');
    const intruder = await publishFile(clip, `${env.rtmp}/test`);
    expect(await intruder.exited).not.toBe(0);
    expect(await metric(env.http, "live360_origin_publish_refused_total", 'reason="already-publishing"')).toBe(before + 1);
    const stat = JSON.parse((await getText(`${env.http}/stat`)).body) as { streams: { publisher: { sessionId: string } }[] };
    expect(stat.streams).toHaveLength(1);
    const last = segmentsOf((await getText(`${env.http}/hls/test/source/index.m3u8`)).body).at(-1);
    await waitFor("the first publisher's stream to advance", async () =>
      segmentsOf((await getText(`${env.http}/hls/test/source/index.m3u8`)).body).at(-1) !== last,
    );
  });

  test("/stat reports the stream; /metrics, /healthz and /readyz answer", async () => {
    const stat = JSON.parse((await getText(`${env.http}/stat`)).body) as {
      streams: Array<{ stream: string; video: { codec: string; width: number }; inputBitrateBps: number; inputFps: number; ffmpeg: { speed: number } }>;
    };
    expect(stat.streams[0]).toMatchObject({ stream: "test", video: { codec: "h264", width: 640 } });
    expect(stat.streams[0]!.inputBitrateBps).toBeGreaterThan(100_000);
    expect(stat.streams[0]!.inputFps).toBeGreaterThan(10);
    expect((await getText(`${env.http}/healthz`)).status).toBe(200);
    expect((await getText(`${env.http}/readyz`)).status).toBe(200);
    expect(await metric(env.http, "live360_origin_streams_live")).toBe(1);
  });

  test("every segment a variant playlist gains is counted once: live360_origin_segments_total{stream,rendition} keeps pace with each playlist", async () => {
    const renditions = [...(await getText(`${env.http}/hls/test/master.m3u8`)).body.matchAll(/^(\S+)\/index\.m3u8$/gm)].map((m) => m[1]!);
    expect(renditions).toHaveLength(3);
    /** The newest segment's number in the playlist minus the count: constant while each new segment is counted once. */
    const offsets = async (): Promise<number[]> =>
      Promise.all(
        renditions.map(async (rendition) => {
          const newest = Math.max(...segmentsOf((await getText(`${env.http}/hls/test/${rendition}/index.m3u8`)).body).map((uri) => Number(/seg_(\d+)\.ts/.exec(uri)![1])));
          return newest - (await metric(env.http, "live360_origin_segments_total", `stream="test",rendition="${rendition}"`));
        }),
      );
    const counted = async (): Promise<number[]> => Promise.all(renditions.map((r) => metric(env.http, "live360_origin_segments_total", `stream="test",rendition="${r}"`)));
    const before = await offsets();
    const countsBefore = await counted();
    expect(countsBefore.every((c) => c >= 1)).toBe(true);
    await waitFor("three more segments counted in every variant", async () => (await counted()).every((c, i) => c >= countsBefore[i]! + 3), { timeoutMs: 30_000 });
    // A segment listed between the read of the playlist and the count's next sample shifts one offset by one.
    const after = await offsets();
    after.forEach((offset, i) => expect(Math.abs(offset - before[i]!)).toBeLessThanOrEqual(1));
  });

  test("once a window of segments exists, AVERAGE-BANDWIDTH is their measured average (within 5 %) for every variant", async () => {
    /** Bits per second over the segments a variant lists now, from their sizes and durations. */
    const measured = async (uri: string): Promise<number> => {
      const variant = path.dirname(uri);
      const playlist = parseSegments((await getText(`${env.http}/hls/test/${uri}`)).body);
      const sizes = await Promise.all(playlist.segments.map(async (s) => (await httpGet(`${env.http}/hls/test/${variant}/${s.uri}`)).body.length));
      return (sizes.reduce((a, b) => a + b, 0) * 8) / playlist.segments.reduce((a, s) => a + s.duration, 0);
    };
    const declared = (master: string) =>
      [...master.matchAll(/AVERAGE-BANDWIDTH=(\d+)[^\n]*\n(\S+)/g)].map((m) => ({ average: Number(m[1]), uri: m[2]! }));
    const compared = await waitFor("the master playlist's measured rates", async () => {
      const variants = declared((await getText(`${env.http}/hls/test/master.m3u8`)).body);
      const ratios = await Promise.all(variants.map(async (v) => ({ uri: v.uri, ratio: v.average / (await measured(v.uri)) })));
      return ratios.every((r) => Math.abs(r.ratio - 1) <= 0.05) ? ratios : undefined;
    }, { timeoutMs: 40_000, intervalMs: 1000 });
    expect(compared.map((c) => c.uri)).toEqual(["source/index.m3u8", "240p/index.m3u8", "160p/index.m3u8"]);
  }, 60_000);

  test("when the publisher stops: end list at once, 404 after the reconnect grace, recording finalized", async () => {
    await publisher.stop();
    await waitFor("#EXT-X-ENDLIST", async () => (await getText(`${env.http}/hls/test/source/index.m3u8`)).body.includes("#EXT-X-ENDLIST"), {
      timeoutMs: 15_000,
    });
    await waitFor("404 after the grace", async () => (await getText(`${env.http}/hls/test/master.m3u8`)).status === 404, {
      timeoutMs: 15_000,
    });
    expect((await getText(`${env.http}/hls/test/source/index.m3u8`)).status).toBe(404);
    const recordings = await waitFor("a finalized recording", async () =>
      (await readdir(path.join(dir, "data", "recordings"))).filter((f) => /^test-\d{8}T\d{6}Z\.mp4$/.test(f)),
    );
    expect(recordings.length).toBeGreaterThanOrEqual(1);
    // Per-stream series go with the stream: publishers choose the names, so kept labels would grow without bound.
    const { body } = await getText(`${env.http}/metrics`);
    expect(body.split("\n").filter((line) => line.includes('stream="test"'))).toEqual([]);
  });
});

/** Sends the path exactly as given (no URL normalisation) and returns the status code. */
function rawGetStatus(base: string, rawPath: string): Promise<number> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(`GET ${rawPath} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
    let data = "";
    socket.on("data", (d) => (data += d.toString()));
    socket.on("end", () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0)));
    socket.on("error", reject);
  });
}

describe("origin publish rules, recording and robustness", () => {
  let dir: string;
  let clip: string;
  let env: Awaited<ReturnType<typeof originOn>>;
  const keysFileStream = "keyed";

  beforeAll(async () => {
    dir = await tempDir("origin-rules");
    clip = await makeTestClip(dir, { seconds: 5, gopSeconds: 1 });
    env = await originOn(dir, {
      publishKeys: new Map([[keysFileStream, "let-me-in"]]),
      adminToken: "admin-token-0123456789",
      // The event's stream only, as the operator starts its origins.
      allowedStreams: [keysFileStream],
      reconnectGraceSeconds: 1,
    });
  }, 60_000);

  afterAll(async () => {
    await env?.origin.close();
  }, 60_000);

  test.each([
    ["Bad_Name?key=let-me-in", "invalid-stream-name"],
    [`${keysFileStream}`, "missing-key"],
    [`${keysFileStream}?key=wrong`, "wrong-key"],
    // As long as the right one, differing in the last character only.
    [`${keysFileStream}?key=let-me-ix`, "wrong-key"],
    // Another name, even with the event's key: the origin takes only its own stream.
    ["other-event?key=let-me-in", "unknown-stream"],
  ])("publishing to %s is refused (%s), counted, and starts nothing", async (name, reason) => {
    const before = await metric(env.http, "live360_origin_publish_refused_total", `reason="${reason}"`);
    const attempt = await publishFile(clip, `${env.rtmp}/${name}`);
    expect(await attempt.exited).not.toBe(0);
    expect(await metric(env.http, "live360_origin_publish_refused_total", `reason="${reason}"`)).toBe(before + 1);
    const stat = JSON.parse((await getText(`${env.http}/stat`)).body) as { streams: unknown[] };
    expect(stat.streams).toHaveLength(0);
    const hls = await readdir(path.join(dir, "data", "hls"));
    expect(hls).toEqual([]);
    const incoming = await readdir(path.join(dir, "data", "recordings", ".incoming")).catch(() => []);
    expect(incoming).toEqual([]);
  });

  test("with the right key the stream plays, and the recording is a valid MP4 of the published length", async () => {
    const published = await publishFile(clip, `${env.rtmp}/${keysFileStream}?key=let-me-in`);
    await waitFor("variant playlist", async () => (await getText(`${env.http}/hls/${keysFileStream}/source/index.m3u8`)).status === 200, {
      timeoutMs: 30_000,
    });
    expect(await published.exited).toBe(0);
    const [mp4] = await waitFor("recording", async () => {
      const files = (await readdir(path.join(dir, "data", "recordings"))).filter((f) => f.startsWith(`${keysFileStream}-`) && f.endsWith(".mp4"));
      return files.length ? files : undefined;
    });
    const info = await probe(path.join(dir, "data", "recordings", mp4!));
    expect(Number(info.format.duration)).toBeGreaterThan(4.5);
    expect(Number(info.format.duration)).toBeLessThan(5.5);
    expect(info.streams.map((s) => s.codec_name).sort()).toEqual(["aac", "h264"]);
    // faststart: the index (moov) precedes the media (mdat).
    const head = (await readFile(path.join(dir, "data", "recordings", mp4!))).subarray(0, 64 * 1024).toString("latin1");
    expect(head.indexOf("moov")).toBeGreaterThan(0);
    expect(head.indexOf("moov")).toBeLessThan(head.indexOf("mdat") === -1 ? Infinity : head.indexOf("mdat"));
  });

  test("garbage bytes and half handshakes on the RTMP port disturb nothing", async () => {
    const live = await publishFile(clip, `${env.rtmp}/${keysFileStream}?key=let-me-in`, { loop: true });
    try {
      await waitFor("stream live", async () => (await getText(`${env.http}/hls/${keysFileStream}/source/index.m3u8`)).body.includes(".ts") &&
        !(await getText(`${env.http}/hls/${keysFileStream}/source/index.m3u8`)).body.includes("#EXT-X-ENDLIST"), { timeoutMs: 30_000 });
      const port = Number(new URL(env.rtmp.replace("rtmp:", "http:")).port);
      const garbage = [Buffer.from("GET / HTTP/1.1\r\n\r\n"), Buffer.alloc(5000, 0xff), Buffer.concat([Buffer.from([3]), Buffer.alloc(700, 1)])];
      for (const bytes of garbage) {
        await new Promise<void>((resolve) => {
          const socket = connect(port, "127.0.0.1", () => {
            socket.write(bytes);
            setTimeout(() => socket.destroy(), 200);
          });
          socket.on("close", () => resolve());
          socket.on("error", () => resolve());
        });
      }
      expect((await getText(`${env.http}/healthz`)).status).toBe(200);
      const last = segmentsOf((await getText(`${env.http}/hls/${keysFileStream}/source/index.m3u8`)).body).at(-1);
      await waitFor("the stream to keep advancing", async () =>
        segmentsOf((await getText(`${env.http}/hls/${keysFileStream}/source/index.m3u8`)).body).at(-1) !== last,
      );
    } finally {
      await live.stop();
    }
  });

  test("a publisher that vanishes mid-stream (SIGKILL) ends its stream cleanly and its recording is kept", async () => {
    await waitFor("previous stream to expire", async () => JSON.parse((await getText(`${env.http}/stat`)).body).streams.length === 0, { timeoutMs: 20_000 });
    const before = (await readdir(path.join(dir, "data", "recordings"))).filter((f) => f.endsWith(".mp4")).length;
    const live = await publishFile(clip, `${env.rtmp}/${keysFileStream}?key=let-me-in`, { loop: true });
    await waitFor("segments", async () => (await getText(`${env.http}/hls/${keysFileStream}/source/index.m3u8`)).body.includes(".ts"), { timeoutMs: 30_000 });
    live.process.kill("SIGKILL");
    await waitFor("end list", async () => (await getText(`${env.http}/hls/${keysFileStream}/source/index.m3u8`)).body.includes("#EXT-X-ENDLIST"), {
      timeoutMs: 15_000,
    });
    await waitFor("recording kept", async () =>
      (await readdir(path.join(dir, "data", "recordings"))).filter((f) => f.endsWith(".mp4")).length === before + 1,
    );
    expect((await getText(`${env.http}/healthz`)).status).toBe(200);
  });

  test("publishers that leave during their stream's setup (a clip sent flat out, five times) end their stream: the name does not stay live", async () => {
    const ffmpeg = await resolveBinary("ffmpeg");
    for (let i = 0; i < 5; i++) {
      // No -re: the whole clip goes out in tens of milliseconds, inside the origin's setup. A
      // name left live would refuse the next round as a second publisher.
      await runOnce(ffmpeg, ["-hide_banner", "-loglevel", "error", "-i", clip, "-c", "copy", "-f", "flv", `${env.rtmp}/${keysFileStream}?key=let-me-in`], { timeoutMs: 30_000 });
    }
    await waitFor("every stream ended and removed after the reconnect grace", async () => JSON.parse((await getText(`${env.http}/stat`)).body).streams.length === 0, {
      timeoutMs: 20_000,
    });
    expect(await metric(env.http, "live360_origin_streams_live")).toBe(0);
    // Their per-stream series went with them.
    expect((await getText(`${env.http}/metrics`)).body).not.toMatch(/^live360_origin_segments_total\{/m);
  });

  test("a file published faster than real time is recorded whole", async () => {
    const long = await makeTestClip(dir, { seconds: 20, gopSeconds: 1 });
    const recordings = path.join(dir, "data", "recordings");
    // The recordings of the tests before (remuxed from .flv through .mp4.partial) finished first,
    // so that a late one is not taken for this one.
    await waitFor("earlier recordings finished", async () => !(await readdir(recordings).catch(() => [])).some((f) => f.endsWith(".flv") || f.endsWith(".partial")), { timeoutMs: 30_000 });
    const before = new Set(await readdir(recordings).catch(() => []));
    const ffmpeg = await resolveBinary("ffmpeg");
    await runOnce(ffmpeg, ["-hide_banner", "-loglevel", "error", "-i", long, "-c", "copy", "-f", "flv", `${env.rtmp}/${keysFileStream}?key=let-me-in`], { timeoutMs: 30_000 });
    const recording = await waitFor("the recording", async () => (await readdir(recordings).catch(() => [])).find((f) => f.endsWith(".mp4") && !before.has(f)), { timeoutMs: 30_000 });
    const duration = Number((await probe(path.join(recordings, recording))).format.duration);
    expect(duration).toBeGreaterThan(19.5);
  });

  test("the full /stat and POST /control/drop need the admin token; the drop disconnects the publisher", async () => {
    await waitFor("previous stream to expire", async () => JSON.parse((await getText(`${env.http}/stat`)).body).streams.length === 0, { timeoutMs: 20_000 });
    const live = await publishFile(clip, `${env.rtmp}/${keysFileStream}?key=let-me-in`, { loop: true });
    // Segments first: an end list needs a playlist, which a slow machine may not have written yet.
    await waitFor("segments", async () => (await getText(`${env.http}/hls/${keysFileStream}/source/index.m3u8`)).body.includes(".ts"), { timeoutMs: 30_000 });

    type Stat = { ffmpeg: { path?: string }; streams: Array<{ stream: string; publisher: { sessionId: string; address?: string } }> };
    const anonymous = await getText(`${env.http}/stat`);
    const redacted = JSON.parse(anonymous.body) as Stat;
    expect(redacted.streams.map((s) => s.stream)).toEqual([keysFileStream]);
    expect(redacted.streams[0]!.publisher.sessionId).toBeTruthy();
    // Neither the publisher's address nor a local path reaches whoever can reach the port.
    expect(anonymous.body).not.toContain("127.0.0.1");
    expect(redacted.streams[0]!.publisher.address).toBeUndefined();
    expect(redacted.ffmpeg.path).toBeUndefined();
    expect(anonymous.headers.get("cache-control")).toBe("no-store");
    const stale = await getText(`${env.http}/stat`, { headers: { Authorization: "Bearer wrong-token-0123456789" } });
    expect(stale.status).toBe(401);
    const full = JSON.parse((await getText(`${env.http}/stat`, { headers: { Authorization: "Bearer admin-token-0123456789" } })).body) as Stat;
    expect(full.streams[0]!.publisher.address).toMatch(/127\.0\.0\.1/);
    expect(full.ffmpeg.path).toBeTruthy();

    const url = `${env.http}/control/drop/${keysFileStream}`;
    expect((await fetch(url, { method: "POST" })).status).toBe(401);
    expect((await fetch(url, { method: "POST", headers: { Authorization: "Bearer wrong-token-0123456789" } })).status).toBe(401);
    const ok = await fetch(url, { method: "POST", headers: { Authorization: "Bearer admin-token-0123456789" } });
    expect(ok.status).toBe(200);
    expect(await live.exited).not.toBeUndefined();
    await waitFor("end list after the drop", async () =>
      (await getText(`${env.http}/hls/${keysFileStream}/source/index.m3u8`)).body.includes("#EXT-X-ENDLIST"), { timeoutMs: 15_000 });
  });

  test("closing: readiness fails at once, playlists answer 503 (the edge fails over), new publishers are refused, live streams end cleanly", async () => {
    await waitFor("previous stream to expire", async () => JSON.parse((await getText(`${env.http}/stat`)).body).streams.length === 0, { timeoutMs: 20_000 });
    const live = await publishFile(clip, `${env.rtmp}/${keysFileStream}?key=let-me-in`, { loop: true });
    await waitFor("segments", async () => (await getText(`${env.http}/hls/${keysFileStream}/source/index.m3u8`)).body.includes(".ts"), { timeoutMs: 30_000 });
    const closing = env.origin.close();
    expect((await getText(`${env.http}/readyz`)).status).toBe(503);
    // Its playlists are about to end: the edge must take them from the other origin instead.
    expect((await getText(`${env.http}/hls/${keysFileStream}/source/index.m3u8`)).status).toBe(503);
    const late = await publishFile(clip, `${env.rtmp}/late`);
    expect(await late.exited).not.toBe(0);
    await closing;
    expect(await live.exited).not.toBeUndefined();
    const playlist = await readFile(path.join(dir, "data", "hls", keysFileStream, "source", "index.m3u8"), "utf8");
    expect(playlist).toContain("#EXT-X-ENDLIST");
  });
});

describe("a video-only publish (no audio track, as a camera or the latency bench's encoder sends)", () => {
  test.each([["ts"], ["cmaf"]] as const)("makes the ladder in %s, without audio", async (hlsFormat) => {
    const dir = await tempDir(`origin-video-only-${hlsFormat}`);
    const clip = await makeTestClip(dir, { seconds: 4, gopSeconds: 1, audio: false });
    const env = await originOn(dir, { hlsFormat, lowLatency: true, ladder: parseLadder("ladder", "source") });
    const publisher = await publishFile(clip, `${env.rtmp}/quiet`, { loop: true });
    try {
      // FFmpeg waits for every track an FLV header announces: announced with audio, it never started.
      const master = await waitFor("the master playlist", async () => {
        const res = await getText(`${env.http}/hls/quiet/master.m3u8`);
        return res.status === 200 ? res.body : undefined;
      }, { timeoutMs: 30_000, intervalMs: 250 });
      expect(master).toMatch(/CODECS="avc1\.[0-9A-Fa-f]{6}"/);
      expect(master).not.toContain("mp4a");
    } finally {
      await publisher.stop();
      await env.origin.close();
    }
  }, 90_000);
});
