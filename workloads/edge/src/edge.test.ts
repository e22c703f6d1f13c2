/**
 * The edge with real nginx (Debian) in front of two origin stand-ins that serve one live HLS
 * tree written by a real FFmpeg (same names on both, as two origins fed identical encoder
 * output would have). The stand-ins count every request, can answer 404, send slowly or die.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { readFile, writeFile, mkdir } from "node:fs/promises";
import path from "node:path";
import { createLogger, renderMasterPlaylist } from "@live360/core";
import {
  Cleanup,
  freePort,
  headerOf,
  HlsStandIn,
  httpGet,
  loopbackEdge,
  parseMediaPlaylist,
  startLiveHlsWriter,
  statusOf,
  tempDir,
  waitFor,
  type HttpResult,
  type LiveHlsWriter,
} from "@live360/testkit";
import { ORIGIN_VERIFY_HEADER, resolveEdgeConfig, type EdgeConfigInput } from "./config.js";
import { parsePeerSource } from "./insight/peers.js";
import { runEdge, type EdgeRunner, type RunEdgeOptions } from "./runner.js";
import { signedStreamPrefix } from "./signing.js";

const STREAM = "live";
const VARIANT_PATH = `/hls/${STREAM}/source/index.m3u8`;
const logger = createLogger("edge-test", { level: "warn" });

interface Bench {
  root: string;
  writer: LiveHlsWriter;
  primary: HlsStandIn;
  backup: HlsStandIn;
}

async function startBench(cleanup: Cleanup): Promise<Bench> {
  const root = await tempDir("edge-origin");
  const variantDir = path.join(root, STREAM, "source");
  await mkdir(variantDir, { recursive: true });
  await writeFile(
    path.join(root, STREAM, "master.m3u8"),
    renderMasterPlaylist([
      { uri: "source/index.m3u8", bandwidth: 500_000, averageBandwidth: 450_000, width: 640, height: 320, frameRate: 25, codecs: ["avc1.42C01E", "mp4a.40.2"] },
    ]),
  );
  const writer = cleanup.add(await startLiveHlsWriter({ dir: variantDir, segmentSeconds: 1, listSize: 6 }), (w) => w.stop());
  const primary = cleanup.add(await HlsStandIn.start({ root, port: await freePort() }), (s) => s.kill());
  const backup = cleanup.add(await HlsStandIn.start({ root, port: await freePort() }), (s) => s.kill());
  await writer.waitForSegments(3);
  return { root, writer, primary, backup };
}

async function startEdge(cleanup: Cleanup, bench: Bench, over: EdgeConfigInput = {}, options: Omit<RunEdgeOptions, "logger"> = {}): Promise<EdgeRunner> {
  const work = await tempDir("edge");
  const config = resolveEdgeConfig({
    origins: [bench.primary.url, bench.backup.url],
    ...(await loopbackEdge(work)),
    drainDelaySeconds: 1,
    shutdownGraceSeconds: 15,
    ...over,
  });
  return cleanup.add(await runEdge(config, { logger, ...options }), (edge) => edge.close());
}

async function originPlaylist(bench: Bench): Promise<ReturnType<typeof parseMediaPlaylist>> {
  return parseMediaPlaylist(await readFile(bench.writer.playlistPath, "utf8"));
}

/** Waits for a segment that appeared after `known` and that nobody has asked the edge for yet. */
async function nextNewSegment(bench: Bench, known: ReadonlySet<string>): Promise<string> {
  return waitFor(
    "a new segment",
    async () => (await originPlaylist(bench)).segments.find((s) => !known.has(s)),
    { timeoutMs: 20_000, intervalMs: 20 },
  );
}

function segmentPath(name: string): string {
  return `/hls/${STREAM}/source/${name}`;
}

// One live stream and its two stand-in origins for the whole file; each describe runs its own edge.
const cleanup = new Cleanup();
let bench: Bench;
beforeAll(async () => {
  bench = await startBench(cleanup);
}, 120_000);
afterAll(() => cleanup.run(), 60_000);

describe("edge in front of two origins", () => {
  let edge: EdgeRunner;
  const requested = new Set<string>();

  beforeAll(async () => {
    edge = await startEdge(cleanup, bench);
  }, 60_000);

  test("playback path: master, variant playlist and every listed segment, from the primary", async () => {
    const master = await httpGet(`${edge.url}/hls/${STREAM}/master.m3u8`);
    expect(master.status).toBe(200);
    expect(master.body.toString()).toContain("source/index.m3u8");
    expect(headerOf(master, "x-served-by")).toBe("primary");
    expect(headerOf(master, "access-control-allow-origin")).toBe("*");

    const variant = await httpGet(`${edge.url}${VARIANT_PATH}`);
    expect(variant.status).toBe(200);
    expect(headerOf(variant, "cache-control")).toBe("public, max-age=1");
    const playlist = parseMediaPlaylist(variant.body.toString());
    expect(playlist.segments.length).toBeGreaterThanOrEqual(3);
    expect(playlist.programDateTimes.every((t) => Number.isFinite(t))).toBe(true);
    for (const name of playlist.segments) {
      requested.add(name);
      const viaEdge = await httpGet(`${edge.url}${segmentPath(name)}`);
      // The window slides while we download: a segment deleted meanwhile is a 404 on both sides.
      const onDisk = await readFile(path.join(bench.writer.dir, name)).catch(() => undefined);
      if (!onDisk) continue;
      expect(viaEdge.status).toBe(200);
      expect(headerOf(viaEdge, "content-type")).toBe("video/mp2t");
      expect(viaEdge.body.equals(onDisk)).toBe(true);
      expect(viaEdge.body[0]).toBe(0x47); // MPEG-TS sync byte
      const again = await httpGet(`${edge.url}${segmentPath(name)}`);
      expect(headerOf(again, "x-cache-status")).toBe("HIT");
    }
  });

  test("50 concurrent clients asking for the same new segment cost exactly one origin request", async () => {
    for (let round = 0; round < 3; round++) {
      const name = await nextNewSegment(bench, requested);
      requested.add(name);
      const url = `${edge.url}${segmentPath(name)}`;
      const results = await Promise.all(Array.from({ length: 50 }, () => httpGet(url)));
      const bodies = new Set(results.map((r) => r.body.toString("base64")));
      expect(results.map((r) => r.status)).toEqual(Array(50).fill(200));
      expect(bodies.size).toBe(1);
      expect(bench.primary.count(segmentPath(name)) + bench.backup.count(segmentPath(name))).toBe(1);
      const statuses = results.map((r) => headerOf(r, "x-cache-status"));
      expect(statuses.filter((s) => s === "MISS")).toHaveLength(1);
    }
  });

  test("live playlists refresh at their TTL: collapsed at the origin, never stale beyond TTL", async () => {
    // Ground truth: when each media sequence first appeared in the origin's playlist on disk.
    const firstSeen = new Map<number, number>();
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const seq = (await originPlaylist(bench).catch(() => undefined))?.mediaSequence;
        if (seq !== undefined && !firstSeen.has(seq)) firstSeen.set(seq, Date.now());
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const before = bench.primary.count(VARIANT_PATH) + bench.backup.count(VARIANT_PATH);
    const windowMs = 8000;
    const started = Date.now();
    const served: Array<{ at: number; seq: number }> = [];
    const failures: number[] = [];
    try {
      // 20 players polling every 100 ms: 1600 playlist requests in the window.
      await Promise.all(
        Array.from({ length: 20 }, async () => {
          while (Date.now() - started < windowMs) {
            // Staleness is judged at the request's start: a slow answer is not a stale one.
            const at = Date.now();
            const res = await httpGet(`${edge.url}${VARIANT_PATH}`);
            if (res.status !== 200) failures.push(res.status);
            else served.push({ at, seq: parseMediaPlaylist(res.body.toString()).mediaSequence });
            await new Promise((r) => setTimeout(r, 100));
          }
        }),
      );
    } finally {
      watching = false;
      await watcher;
    }
    expect(failures).toEqual([]);
    const originRequests = bench.primary.count(VARIANT_PATH) + bench.backup.count(VARIANT_PATH) - before;
    // How long after the origin had a newer playlist did the edge still serve an older one?
    let worstStalenessMs = 0;
    for (const { at, seq } of served) {
      const newer = [...firstSeen].filter(([s, t]) => s > seq && t < at).map(([, t]) => t);
      if (newer.length > 0) worstStalenessMs = Math.max(worstStalenessMs, at - Math.min(...newer));
    }
    logger.warn("playlist pace", { clientRequests: served.length, originRequests, worstStalenessMs });
    expect(served.length).toBeGreaterThan(400);
    // One origin fetch per TTL (nginx's cache clock ticks in whole seconds: 1–2 s per fetch).
    expect(originRequests).toBeGreaterThanOrEqual(Math.floor(windowMs / 2000));
    expect(originRequests).toBeLessThanOrEqual(Math.ceil(windowMs / 1000) + 2);
    // max-age=1 on nginx's one-second clock: at most 2 s, plus one origin round trip.
    expect(worstStalenessMs).toBeLessThanOrEqual(2500);
  });

  test("metrics sidecar exports stub_status under the exporter's names", async () => {
    const res = await httpGet(`http://127.0.0.1:${edge.config.metricsPort}/metrics`);
    const text = res.body.toString();
    expect(text).toMatch(/^nginx_up 1$/m);
    expect(Number(/^nginx_http_requests_total (\d+)$/m.exec(text)?.[1])).toBeGreaterThan(500);
    expect(text).toMatch(/^nginx_connections_active \d+$/m);
    expect(text).toMatch(/^live360_edge_draining 0$/m);
  });

  test("both origins gone: cached segments are still served, the live playlist is not served stale", async () => {
    const cachedName = await nextNewSegment(bench, requested);
    requested.add(cachedName);
    expect((await httpGet(`${edge.url}${segmentPath(cachedName)}`)).status).toBe(200);
    await bench.primary.kill();
    await bench.backup.kill();
    try {
      // After the TTL (≤ 2 s on nginx's clock) the playlist must fail, not replay the last one.
      const failed = await waitFor("the playlist to stop being served", async () => ((await statusOf(`${edge.url}${VARIANT_PATH}`)) === 502 ? true : undefined), {
        timeoutMs: 5000,
        intervalMs: 100,
      });
      expect(failed).toBe(true);
      const cached = await httpGet(`${edge.url}${segmentPath(cachedName)}`);
      expect(cached.status).toBe(200);
      expect(headerOf(cached, "x-cache-status")).toBe("HIT");
      expect(await statusOf(`${edge.url}/readyz`)).toBe(502);
      expect(await statusOf(`${edge.url}/healthz`)).toBe(200);
    } finally {
      await bench.primary.revive();
      await bench.backup.revive();
    }
  });
});

describe("primary's host hung (accepts connections, never answers)", () => {
  test("every request is answered by the backup; all workers together try the hung primary about once per fail_timeout", async () => {
    const failTimeoutSeconds = 5;
    const edge = await startEdge(cleanup, bench, { workerProcesses: 2, failTimeoutSeconds });
    expect(headerOf(await httpGet(`${edge.url}${VARIANT_PATH}`), "x-served-by")).toBe("primary");
    bench.primary.mode = "hung";
    bench.primary.resetCounts();
    const answers: { status: number; servedBy: string | undefined }[] = [];
    const started = Date.now();
    try {
      // Four viewers at a time, playlists and the newest listed segment, over new connections
      // spread across both nginx workers.
      while (Date.now() - started < 9000) {
        const playlists = await Promise.all(Array.from({ length: 4 }, () => httpGet(`${edge.url}${VARIANT_PATH}`)));
        const newest = parseMediaPlaylist(playlists[0]!.body.toString()).segments.at(-1);
        const segment = newest === undefined ? [] : [await httpGet(`${edge.url}${segmentPath(newest)}`)];
        for (const res of [...playlists, ...segment]) answers.push({ status: res.status, servedBy: headerOf(res, "x-served-by") });
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      bench.primary.mode = "serve";
    }
    const elapsedMs = Date.now() - started;
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    expect(answers.filter((a) => a.servedBy === "primary")).toEqual([]);
    expect(answers.some((a) => a.servedBy === "backup")).toBe(true);
    // The hang was met (the primary was tried), and the failure is shared by the workers: one
    // probe per fail_timeout, not one per worker or per request.
    const triedPrimary = bench.primary.countMatching(/^\/hls\//);
    expect(triedPrimary).toBeGreaterThanOrEqual(1);
    expect(triedPrimary).toBeLessThanOrEqual(Math.ceil(elapsedMs / (failTimeoutSeconds * 1000)) + 1);
  }, 60_000);
});

describe("the primary gone and the backup slow once", () => {
  test("the next requests are answered by the backup at once, never refused as 'no live upstreams'", async () => {
    const edge = await startEdge(cleanup, bench, { workerProcesses: 1 });
    expect(headerOf(await httpGet(`${edge.url}${VARIANT_PATH}`), "x-served-by")).toBe("primary");
    await bench.primary.kill();
    // Past the playlist's cache lifetime (1 s, counted by nginx in whole seconds), so the next
    // request goes to the origins.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    try {
      // One playlist request meets a backup that does not answer within the playlist read timeout.
      bench.backup.mode = "hung";
      const slow = await httpGet(`${edge.url}${VARIANT_PATH}`);
      expect(slow.status).toBeGreaterThanOrEqual(500);
      bench.backup.mode = "serve";
      const next = await Promise.all(Array.from({ length: 5 }, () => httpGet(`${edge.url}${VARIANT_PATH}`)));
      expect(next.map((res) => res.status)).toEqual(new Array(5).fill(200));
      // One went to the backup; the others shared its answer through the cache.
      expect(next.map((res) => headerOf(res, "x-served-by")).filter((by) => by !== "cache")).toEqual(["backup"]);
    } finally {
      bench.backup.mode = "serve";
      await bench.primary.revive();
    }
  }, 60_000);
});

describe("drain on SIGTERM", () => {
  test("readiness fails first, an in-flight slow download completes, then nginx quits", async () => {
    const edge = await startEdge(cleanup, bench, { drainDelaySeconds: 2, shutdownGraceSeconds: 20 });
    cleanup.add(bench.primary, (origin) => (origin.throttle = undefined));
    const name = (await originPlaylist(bench)).segments.at(-1)!;
    const expected = await readFile(path.join(bench.writer.dir, name));
    // About 5 s for the whole segment: it is still downloading when nginx is told to quit.
    bench.primary.throttle = { path: /\.ts$/, bytesPerSecond: Math.max(1000, Math.round(expected.length / 5)) };
    let received = 0;
    let completed = false;
    const download = httpGet(`${edge.url}${segmentPath(name)}`, { onData: (c) => (received += c.length) }).finally(() => (completed = true));
    await waitFor("the download to start", () => received > 0, { timeoutMs: 10_000, intervalMs: 10 });
    expect(await statusOf(`${edge.url}/readyz`)).toBe(200);

    const closing = edge.close();
    await waitFor("readiness to fail", async () => (await statusOf(`${edge.url}/readyz`)) === 503, { timeoutMs: 2000, intervalMs: 20 });
    // Still serving during the drain delay: only readiness changed.
    expect(await statusOf(`${edge.url}/healthz`)).toBe(200);
    // After the drain delay nginx quits: new connections are refused, the download goes on.
    await waitFor("nginx to stop accepting", async () => (await statusOf(`${edge.url}/healthz`)) === "ECONNREFUSED", { timeoutMs: 5000, intervalMs: 50 });
    expect(completed).toBe(false);

    const done = await download;
    expect(done.status).toBe(200);
    expect(done.body.equals(expected)).toBe(true);
    await closing;
  }, 60_000);
});

describe("signed URLs", () => {
  // Two keys at once, as during a rotation: links of both are good.
  const current = { id: "k2", secret: "test-secret-two-0123456789abcdef0123456789" };
  const previous = { id: "k1", secret: "test-secret-one-0123456789abcdef0123456789" };
  let edge: EdgeRunner;

  beforeAll(async () => {
    edge = await startEdge(cleanup, bench, { signingKeys: new Map([[previous.id, previous.secret], [current.id, current.secret]]), signingMaxLifetimeSeconds: 7200 });
  }, 60_000);

  const inAnHour = (): number => Math.floor(Date.now() / 1000) + 3600;
  const refusal = async (url: string): Promise<string> => {
    const res = await httpGet(url);
    return `${res.status} ${res.body.toString()}`;
  };

  test("a good signature plays master, variant and segments through relative URIs, with either key of a rotation", async () => {
    for (const key of [current, previous]) {
      const prefix = signedStreamPrefix(key, STREAM, inAnHour());
      const master = await httpGet(`${edge.url}${prefix}master.m3u8`);
      expect(master.status).toBe(200);
      const variant = await httpGet(`${edge.url}${prefix}source/index.m3u8`);
      expect(variant.status).toBe(200);
      const segment = parseMediaPlaylist(variant.body.toString()).segments.at(-1)!;
      const res = await httpGet(`${edge.url}${prefix}source/${segment}`);
      expect(res.status).toBe(200);
      expect(res.body[0]).toBe(0x47);
      // The cache is shared with every other signature: the key is the origin path.
      const other = await httpGet(`${edge.url}${signedStreamPrefix(key, STREAM, inAnHour() + 60)}source/${segment}`);
      expect(headerOf(other, "x-cache-status")).toBe("HIT");
    }
  });

  test("expired, unknown key id, another key's signature, tampered path or signature, a lifetime over the maximum, unsigned: all the same 403", async () => {
    const good = signedStreamPrefix(current, STREAM, inAnHour());
    const [, , id, expires, signature] = good.split("/");
    const flipped = `${signature!.slice(0, -1)}${signature!.endsWith("A") ? "B" : "A"}`;
    const refused = [
      `${edge.url}${signedStreamPrefix(current, STREAM, Math.floor(Date.now() / 1000) - 5)}master.m3u8`,
      `${edge.url}${signedStreamPrefix({ id: "k9", secret: current.secret }, STREAM, inAnHour())}master.m3u8`,
      `${edge.url}/s/${previous.id}/${expires}/${signature}/hls/${STREAM}/master.m3u8`,
      `${edge.url}${signedStreamPrefix(current, "other", inAnHour()).replace("/hls/other/", `/hls/${STREAM}/`)}master.m3u8`,
      `${edge.url}/s/${id}/${expires}/${flipped}/hls/${STREAM}/master.m3u8`,
      `${edge.url}/s/${id}/${Number(expires) + 1}/${signature}/hls/${STREAM}/master.m3u8`,
      `${edge.url}${signedStreamPrefix(current, STREAM, Math.floor(Date.now() / 1000) + 3 * 3600)}master.m3u8`,
      `${edge.url}/hls/${STREAM}/master.m3u8`,
    ];
    for (const url of refused) expect(await refusal(url)).toBe("403 forbidden\n");
    expect(await statusOf(`${edge.url}${good}master.m3u8`)).toBe(200);
    expect(await statusOf(`${edge.url}/healthz`)).toBe(200);
  });

  test("a CDN may keep a signed answer no longer than its link is good for: max-age is cut to the link's remaining lifetime, the origin's shorter one is kept", async () => {
    const maxAge = (res: HttpResult): number => Number(/max-age=(\d+)/.exec(headerOf(res, "cache-control") ?? "")?.[1]);
    const soon = signedStreamPrefix(current, STREAM, Math.floor(Date.now() / 1000) + 120);
    const variant = await httpGet(`${edge.url}${soon}source/index.m3u8`);
    const segment = parseMediaPlaylist(variant.body.toString()).segments.at(-1)!;
    const res = await httpGet(`${edge.url}${soon}source/${segment}`);
    expect(res.status).toBe(200);
    // The origin says a year (immutable): the link has two minutes left.
    expect(headerOf(res, "cache-control")).toMatch(/^public, max-age=\d+, immutable$/);
    expect(maxAge(res)).toBeGreaterThan(100);
    expect(maxAge(res)).toBeLessThanOrEqual(120);
    // From the edge's cache the same: the cut is per link, not per copy.
    const hit = await httpGet(`${edge.url}${signedStreamPrefix(current, STREAM, Math.floor(Date.now() / 1000) + 30)}source/${segment}`);
    expect(headerOf(hit, "x-cache-status")).toBe("HIT");
    expect(maxAge(hit)).toBeLessThanOrEqual(30);
    // A playlist's 1 s is shorter than any link: kept.
    expect(maxAge(variant)).toBe(1);
  });

  test("an HLS encryption key goes to signed requests only, and is never cached", async () => {
    // What an encrypting origin serves at /hls/<stream>/keys/<period>.key.
    const key = Buffer.from("00112233445566778899aabbccddeeff", "hex");
    await mkdir(path.join(bench.root, STREAM, "keys"), { recursive: true });
    await writeFile(path.join(bench.root, STREAM, "keys", "7.key"), key);
    const prefix = signedStreamPrefix(current, STREAM, inAnHour());
    const signed = await httpGet(`${edge.url}${prefix}keys/7.key`);
    expect(signed.status).toBe(200);
    expect(signed.body.equals(key)).toBe(true);
    const before = bench.primary.count(`/hls/${STREAM}/keys/7.key`) + bench.backup.count(`/hls/${STREAM}/keys/7.key`);
    const again = await httpGet(`${edge.url}${prefix}keys/7.key`);
    expect(again.status).toBe(200);
    expect(bench.primary.count(`/hls/${STREAM}/keys/7.key`) + bench.backup.count(`/hls/${STREAM}/keys/7.key`)).toBe(before + 1);
    expect(await statusOf(`${edge.url}/hls/${STREAM}/keys/7.key`)).toBe(403);
  });

  test("an edge without signed URLs hands out no keys at all", async () => {
    const unsigned = await startEdge(cleanup, bench);
    expect(await statusOf(`${unsigned.url}/hls/${STREAM}/master.m3u8`)).toBe(200);
    expect(await statusOf(`${unsigned.url}/hls/${STREAM}/keys/7.key`)).toBe(403);
  }, 60_000);
});

describe("CDN-only edge (origin-verify header)", () => {
  // Two values at once, as during a rotation of the CDN's header.
  const values = ["cdn-verify-old-0123456789abcdef0123456789", "cdn-verify-new-0123456789abcdef0123456789"];
  let edge: EdgeRunner;
  let valuesFile: string;

  beforeAll(async () => {
    // From a file, as a mounted Secret: nginx reads it per request.
    valuesFile = path.join(await tempDir("edge-verify"), "values");
    await writeFile(valuesFile, values.join("\n"));
    edge = await startEdge(cleanup, bench, { originVerifyFile: valuesFile });
  }, 60_000);

  const get = async (pathname: string, verify?: string): Promise<string> => {
    const res = await httpGet(`${edge.url}${pathname}`, { headers: verify === undefined ? {} : { [ORIGIN_VERIFY_HEADER]: verify } });
    return `${res.status} ${res.status === 403 ? res.body.toString() : ""}`;
  };

  test("with either value of a rotation: playlists and segments as usual, and the secret goes no further than the edge", async () => {
    for (const value of values) {
      expect(await get(`/hls/${STREAM}/master.m3u8`, value)).toBe("200 ");
      const variant = await httpGet(`${edge.url}${VARIANT_PATH}`, { headers: { [ORIGIN_VERIFY_HEADER]: value } });
      expect(variant.status).toBe(200);
      const segment = parseMediaPlaylist(variant.body.toString()).segments.at(-1)!;
      expect(await get(segmentPath(segment), value)).toBe("200 ");
    }
    expect(bench.primary.headerNames.has(ORIGIN_VERIFY_HEADER.toLowerCase())).toBe(false);
    expect(bench.backup.headerNames.has(ORIGIN_VERIFY_HEADER.toLowerCase())).toBe(false);
  });

  test("no header, an empty one, a wrong value, a value of the right length, a prefix of the right one: the same 403 everywhere but the health checks", async () => {
    const right = values[1]!;
    const wrong = [undefined, "", "nope", right.replace(/.$/, right.endsWith("9") ? "8" : "9"), right.slice(0, -1), `${right}x`];
    for (const verify of wrong) {
      for (const pathname of [`/hls/${STREAM}/master.m3u8`, VARIANT_PATH, "/player/index.html", "/anything-else"]) {
        expect(`${pathname} ${await get(pathname, verify)}`).toBe(`${pathname} 403 forbidden\n`);
      }
    }
    expect(await statusOf(`${edge.url}/healthz`)).toBe(200);
    expect(await statusOf(`${edge.url}/readyz`)).toBe(200);
    // Through the CDN, what is not there is still a plain 404.
    expect(await get("/anything-else", right)).toBe("404 ");
  });

  test("a rotation written to the file counts at once, without a restart; from the environment the values work too", async () => {
    const next = "cdn-verify-next-0123456789abcdef012345678";
    expect(await get(`/hls/${STREAM}/master.m3u8`, next)).toBe("403 forbidden\n");
    await writeFile(valuesFile, `${values[1]}\n${next}\n`);
    expect(await get(`/hls/${STREAM}/master.m3u8`, next)).toBe("200 ");
    expect(await get(`/hls/${STREAM}/master.m3u8`, values[0])).toBe("403 forbidden\n");
    // An unreadable file lets nothing through.
    await writeFile(valuesFile, "");
    expect(await get(`/hls/${STREAM}/master.m3u8`, next)).toBe("403 forbidden\n");
    const fromEnv = await startEdge(cleanup, bench, { originVerifyValues: [next] });
    expect((await httpGet(`${fromEnv.url}/hls/${STREAM}/master.m3u8`, { headers: { [ORIGIN_VERIFY_HEADER]: next } })).status).toBe(200);
    expect(await statusOf(`${fromEnv.url}/hls/${STREAM}/master.m3u8`)).toBe(403);
  }, 60_000);
});

describe("viewer insight (CMCD and beacons through real nginx)", () => {
  let edge: EdgeRunner;
  let metricsUrl: string;

  beforeAll(async () => {
    edge = await startEdge(cleanup, bench, { insightPort: await freePort(), signedUrls: false });
    metricsUrl = `http://127.0.0.1:${edge.config.metricsPort}/metrics`;
  }, 60_000);

  const cmcdQuery = (sid: string, extra: string): string => `CMCD=${encodeURIComponent(`cid="${STREAM}",${extra},sid="${sid}",st=l`)}`;
  const metric = async (pattern: RegExp): Promise<number | undefined> => {
    const match = pattern.exec((await httpGet(metricsUrl)).body.toString());
    return match ? Number(match[1]) : undefined;
  };
  const postBeacon = async (body: string): Promise<number> => {
    const res = await fetch(`${edge.url}/insight/beacon`, { method: "POST", body, headers: { "Content-Type": "text/plain" } });
    await res.arrayBuffer();
    return res.status;
  };

  test("requests carrying CMCD count viewers and bytes per rung; a beacon feeds the histograms and the heatmap; bad input is counted and dropped", async () => {
    const { segments } = await originPlaylist(bench);
    const segment = `/hls/${STREAM}/source/${segments.at(-1)}`;
    const served = await httpGet(`${edge.url}${segment}?${cmcdQuery("viewer-one", "br=450,ot=av")}`);
    expect(served.status).toBe(200);
    // A playlist request counts only when it reports a starvation (nginx logs no other: segment
    // requests and beacons carry the rest of what a playlist's CMCD says).
    await httpGet(`${edge.url}${VARIANT_PATH}?${cmcdQuery("viewer-two", "bs,ot=m")}`);
    await httpGet(`${edge.url}${VARIANT_PATH}?${cmcdQuery("playlists-only", "ot=m")}`);
    // Without CMCD, or with CMCD that is not, nothing is counted for a viewer.
    await httpGet(`${edge.url}${segment}`);
    await httpGet(`${edge.url}${segment}?CMCD=${encodeURIComponent("sid=unquoted")}`);
    await httpGet(`${edge.url}${segment}?CMCD=%E0%A4%A`);
    // nginx spools the lines; the insight server reads each second's file once it is over.
    await waitFor("two viewers", async () => (await metric(new RegExp(`live360_edge_viewers\\{stream="${STREAM}"\\} (\\d+)`))) === 2, { timeoutMs: 10_000 });
    expect(await metric(new RegExp(`live360_edge_viewer_delivered_bytes_total\\{stream="${STREAM}",rung="source"\\} (\\d+)`))).toBe(served.body.length);
    await waitFor("both bad CMCD lines counted", async () => (await metric(/live360_edge_insight_rejected_total\{reason="cmcd-bad-value"\} (\d+)/)) === 2, { timeoutMs: 10_000 });
    expect(await metric(new RegExp(`live360_edge_viewer_buffer_starvations_total\\{stream="${STREAM}"\\} (\\d+)`))).toBe(1);
    // The stub_status metrics are still there beside the insight.
    expect(await metric(/nginx_up (\d+)/)).toBe(1);

    const beacon = {
      v: 1,
      sid: "viewer-one",
      cid: STREAM,
      startupMs: 1200,
      playedMs: 9500,
      rebufferMs: 500,
      rebuffers: 1,
      droppedFrames: 2,
      rungSwitches: 1,
      errors: [{ kind: "network", fatal: false }],
      views: [
        [30, 12, 80],
        [31, 13, 80],
        [-100, -20, 80],
      ],
    };
    expect(await postBeacon(JSON.stringify(beacon))).toBe(204);
    await waitFor("the beacon folded", async () => (await metric(new RegExp(`live360_edge_viewer_startup_seconds_count\\{stream="${STREAM}"\\} (\\d+)`))) === 1, { timeoutMs: 10_000 });
    expect(await metric(new RegExp(`live360_edge_viewer_startup_seconds_bucket\\{le="1.5",stream="${STREAM}"\\} (\\d+)`))).toBe(1);
    expect(await metric(new RegExp(`live360_edge_viewer_startup_seconds_bucket\\{le="1",stream="${STREAM}"\\} (\\d+)`))).toBe(0);
    expect(await metric(new RegExp(`live360_edge_viewer_rebuffer_ratio_bucket\\{le="0.05",stream="${STREAM}"\\} (\\d+)`))).toBe(1);
    expect(await metric(new RegExp(`live360_edge_viewer_errors_total\\{stream="${STREAM}",kind="network",fatal="false"\\} (\\d+)`))).toBe(1);
    const heatmap = await httpGet(`${edge.url}/hls/${STREAM}/heatmap.json`);
    expect(heatmap.status).toBe(200);
    const map = JSON.parse(heatmap.body.toString()) as { samples: number; columns: number; cells: number[] };
    expect(map.samples).toBe(3);
    // yaw 30/31, pitch 12/13 → column (30 + 180) / 10 = 21, row floor((90 - 12) / 10) = 7.
    expect(map.cells[7 * map.columns + 21]).toBe(2);
    expect((await httpGet(`${edge.url}/hls/nobody-watches/heatmap.json`)).status).toBe(404);

    // Whatever a beacon holds, nginx answers 204 (the sender learns nothing); the insight server
    // judges it later and counts what it drops.
    expect(await postBeacon("{not json")).toBe(204);
    expect(await postBeacon(JSON.stringify({ ...beacon, email: "viewer@example.com" }))).toBe(204);
    // Larger than nginx lets through, and larger than a beacon but under nginx's limit.
    expect(await postBeacon("x".repeat(64 * 1024))).toBe(413);
    expect(await postBeacon(JSON.stringify({ ...beacon, views: [], pad: "x".repeat(9000) }))).toBe(204);
    expect((await fetch(`${edge.url}/insight/beacon`)).status).toBe(405);
    await waitFor("the bad beacons counted", async () => (await metric(/live360_edge_insight_rejected_total\{reason="beacon-too-large"\} (\d+)/)) === 2, { timeoutMs: 10_000 });
    expect(await metric(/live360_edge_insight_rejected_total\{reason="beacon-not-json"\} (\d+)/)).toBe(1);
    expect(await metric(/live360_edge_insight_rejected_total\{reason="beacon-bad-field"\} (\d+)/)).toBe(1);
  }, 60_000);

  test("every error answer is counted by its code, CMCD or not; answers that succeed add nothing", async () => {
    const code = async (c: string): Promise<number> => (await metric(new RegExp(`live360_edge_error_responses_total\\{code="${c}"\\} (\\d+)`))) ?? 0;
    const [notFoundBefore, tooLargeBefore] = [await code("404"), await code("413")];
    const missing = `/hls/${STREAM}/source/seg_999999999.ts`;
    expect((await httpGet(`${edge.url}${missing}`)).status).toBe(404);
    expect((await httpGet(`${edge.url}${missing}?${cmcdQuery("viewer-404", "ot=av")}`)).status).toBe(404);
    expect((await httpGet(`${edge.url}/no/such/thing`)).status).toBe(404);
    expect(await postBeacon("x".repeat(64 * 1024))).toBe(413);
    // Successes, with and without CMCD: no error line.
    const { segments } = await originPlaylist(bench);
    expect((await httpGet(`${edge.url}/hls/${STREAM}/source/${segments.at(-1)}`)).status).toBe(200);
    expect((await httpGet(`${edge.url}${VARIANT_PATH}?${cmcdQuery("viewer-404", "ot=m")}`)).status).toBe(200);
    await waitFor("the three 404s counted", async () => (await code("404")) - notFoundBefore === 3, { timeoutMs: 10_000 });
    expect((await code("413")) - tooLargeBefore).toBe(1);
    // Give a late line the time to arrive: still three.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect((await code("404")) - notFoundBefore).toBe(3);
    expect((await httpGet(metricsUrl)).body.toString()).not.toMatch(/live360_edge_error_responses_total\{code="(200|204|206|304)"\}/);
  }, 60_000);

  test("a flood of beacons from one session is held to its rate and answered the same", async () => {
    const beacon = JSON.stringify({ v: 1, sid: "flooder", cid: STREAM, playedMs: 0, rebufferMs: 0, rebuffers: 0, droppedFrames: 0, rungSwitches: 0, errors: [], views: [[0, 0, 90]] });
    const statuses = await Promise.all(Array.from({ length: 50 }, () => postBeacon(beacon)));
    expect(new Set(statuses)).toEqual(new Set([204]));
    await waitFor("the flood held to its rate", async () => (await metric(/live360_edge_insight_rejected_total\{reason="rate-limited"\} (\d+)/)) === 47, { timeoutMs: 10_000 });
  }, 60_000);
  test("two edges, each with its own viewers: either edge's heatmap adds the other's grid; a dead peer is left out", async () => {
    const other = await startEdge(cleanup, bench, { insightPort: await freePort(), signedUrls: false });
    const dead = `http://127.0.0.1:${await freePort()}`;
    const merging = await startEdge(cleanup, bench, { insightPort: await freePort(), signedUrls: false }, {
      insightPeers: parsePeerSource("--insight-peers", `http://127.0.0.1:${other.config.metricsPort},${dead}`),
    });
    const post = (edgeUrl: string, sid: string, views: number[][]) =>
      fetch(`${edgeUrl}/insight/beacon`, {
        method: "POST",
        body: JSON.stringify({ v: 1, sid, cid: "merged", playedMs: 1000, rebufferMs: 0, rebuffers: 0, droppedFrames: 0, rungSwitches: 0, errors: [], views }),
      }).then((res) => res.status);
    expect(await post(merging.url, "here", [[30, 12, 80]])).toBe(204);
    expect(await post(other.url, "there", [[-100, -25, 80], [-100, -25, 80]])).toBe(204);
    // Both beacons folded before asking (an answer is cached for 5 s).
    for (const e of [merging, other]) {
      await waitFor("the beacon folded", async () => (await httpGet(`http://127.0.0.1:${e.config.metricsPort}/metrics`)).body.toString().includes('live360_edge_viewer_played_seconds_total{stream="merged"} 1\n'), { timeoutMs: 10_000 });
    }
    const res = await httpGet(`${merging.url}/hls/merged/heatmap.json`);
    expect(res.status).toBe(200);
    const map = JSON.parse(res.body.toString()) as { samples: number; columns: number; edges: number; cells: number[] };
    expect(map).toMatchObject({ samples: 3, edges: 2 });
    expect(map.cells[7 * map.columns + 21]).toBe(1);
    // yaw −100 → column 8, pitch −25 → row floor(115 / 10) = 11.
    expect(map.cells[11 * map.columns + 8]).toBe(2);
    // The other edge, without peers, knows only its own viewer.
    const alone = JSON.parse((await httpGet(`${other.url}/hls/merged/heatmap.json`)).body.toString()) as { samples: number; edges: number };
    expect(alone).toMatchObject({ samples: 2, edges: 1 });
  }, 60_000);
});
