/**
 * On-demand assets through the edge: real nginx (with njs) in front of a real S3-compatible
 * server (versitygw) holding an AES-128 asset laid out and encrypted as the VOD worker does it
 * (real FFmpeg, encryptVariant from @live360/core), its bucket readable without credentials for
 * vod/* only, as the egress bucket's policy grants the cluster's VPC endpoint on EKS.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { createDecipheriv } from "node:crypto";
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { S3Storage, createLogger, encryptVariant, periodKey, renderMasterPlaylist, resolveBinary, runOnce, segmentIv } from "@live360/core";
import { Cleanup, HlsStandIn, freePort, headerOf, httpGet, loopbackEdge, parseMediaPlaylist, startS3Server, tempDir, type S3Server } from "@live360/testkit";
import { resolveEdgeConfig, type EdgeConfigInput } from "./config.js";
import { runEdge, type EdgeRunner } from "./runner.js";
import { signedPrefix, signedStreamPrefix } from "./signing.js";

const logger = createLogger("edge-vod-test", { level: "warn" });
const SECRET = "vod-edge-test-secret-0123456789abcdef0123";
const ASSET = "show/20261207T101500Z";
const KEY = { id: "k1", secret: "edge-vod-signing-0123456789abcdef0123456789" };
const cleanup = new Cleanup();
let s3: S3Server;
let root: string;
let secretFile: string;
/** Any origin: live media is not what these tests ask for, but an edge needs one. */
let origin: HlsStandIn;

/** Three 1-s segments of one rung, a key per segment, uploaded where the VOD worker puts them. */
async function uploadEncryptedAsset(storage: S3Storage): Promise<void> {
  const dir = path.join(root, "asset");
  const variant = path.join(dir, "360p");
  await mkdir(variant, { recursive: true });
  await runOnce(await resolveBinary("ffmpeg"), [
    "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=320x160:rate=25", "-t", "3",
    "-c:v", "libx264", "-preset", "veryfast", "-g", "25", "-keyint_min", "25", "-sc_threshold", "0", "-pix_fmt", "yuv420p",
    "-f", "hls", "-hls_time", "1", "-hls_playlist_type", "vod", "-hls_segment_filename", path.join(variant, "seg_%05d.ts"), path.join(variant, "index.m3u8"),
  ], { timeoutMs: 60_000 });
  await encryptVariant(variant, `vod/${ASSET}`, { secret: SECRET, rotationSegments: 1 });
  await writeFile(path.join(dir, "master.m3u8"), renderMasterPlaylist([{ uri: "360p/index.m3u8", bandwidth: 300_000, averageBandwidth: 250_000, width: 320, height: 160, frameRate: 25, codecs: ["avc1.42C01E"] }]));
  for (const file of ["master.m3u8", ...(await readdir(variant)).map((name) => `360p/${name}`)]) {
    const contentType = file.endsWith(".m3u8") ? "application/vnd.apple.mpegurl" : "video/mp2t";
    await storage.putFile("egress", `vod/${ASSET}/${file}`, path.join(dir, file), { contentType });
  }
  // Outside vod/: the bucket's policy does not admit anonymous reads there.
  await storage.putFile("egress", "private.txt", path.join(dir, "master.m3u8"));
}

async function startEdge(over: EdgeConfigInput): Promise<EdgeRunner> {
  const work = await tempDir("edge-vod");
  const config = resolveEdgeConfig({
    origins: [origin.url],
    ...(await loopbackEdge(work)),
    drainDelaySeconds: 1,
    shutdownGraceSeconds: 15,
    vodOrigin: `${s3.endpoint}/egress`,
    ...over,
  });
  return cleanup.add(await runEdge(config, { logger }), (edge) => edge.close());
}

beforeAll(async () => {
  root = await tempDir("edge-vod-root");
  s3 = cleanup.add(await startS3Server({ buckets: ["egress"] }), (server) => server.stop());
  await s3.allowAnonymousRead("egress", "vod/");
  await uploadEncryptedAsset(new S3Storage({ endpoint: s3.endpoint, region: s3.region, credentials: s3.credentials }));
  secretFile = path.join(root, "hls-secret");
  await writeFile(secretFile, `${SECRET}\n`);
  origin = cleanup.add(await HlsStandIn.start({ root, port: await freePort() }), (server) => server.kill());
}, 120_000);

afterAll(async () => {
  await cleanup.run();
  await rm(root, { recursive: true, force: true });
}, 60_000);

const inAnHour = (): number => Math.floor(Date.now() / 1000) + 3600;

describe("an encrypted VOD asset through a signing edge", () => {
  let edge: EdgeRunner;

  beforeAll(async () => {
    edge = await startEdge({ signingKeys: new Map([[KEY.id, KEY.secret]]), hlsEncryptionSecretFile: secretFile });
  }, 60_000);

  test("a signed link plays it: playlists and segments from the bucket through the cache, each period's key derived at the edge, and the segments decrypt to MPEG-TS", async () => {
    const prefix = signedPrefix(KEY, { asset: ASSET }, inAnHour());
    expect(prefix).toMatch(new RegExp(`^/s/k1/\\d+/[A-Za-z0-9_-]{43}/vod/${ASSET}/$`));
    const master = await httpGet(`${edge.url}${prefix}master.m3u8`);
    expect(master.status).toBe(200);
    expect(master.body.toString()).toContain("360p/index.m3u8");
    const variant = await httpGet(`${edge.url}${prefix}360p/index.m3u8`);
    expect(variant.status).toBe(200);
    const playlist = variant.body.toString();
    const segments = parseMediaPlaylist(playlist).segments;
    expect(segments).toHaveLength(3);
    expect(playlist.match(/#EXT-X-KEY:METHOD=AES-128,URI="\.\.\/keys\/(\d+)\.key"/g)).toHaveLength(3);
    for (const [number, segment] of segments.entries()) {
      // The player resolves ../keys/<period>.key under the same signed prefix.
      const key = await httpGet(`${edge.url}${prefix}keys/${number}.key`);
      expect(key.status).toBe(200);
      expect(headerOf(key, "cache-control")).toBe("no-store");
      expect(key.body.equals(periodKey(SECRET, `vod/${ASSET}`, number))).toBe(true);
      const body = await httpGet(`${edge.url}${prefix}360p/${segment}`);
      expect(body.status).toBe(200);
      expect(body.body[0]).not.toBe(0x47);
      const decipher = createDecipheriv("aes-128-cbc", key.body, segmentIv(number));
      const clear = Buffer.concat([decipher.update(body.body), decipher.final()]);
      expect(clear[0]).toBe(0x47);
      expect(clear[188]).toBe(0x47);
    }
    // The bucket sends no Cache-Control: a CDN may keep a signed answer as long as its link is good.
    const cacheControl = headerOf(await httpGet(`${edge.url}${prefix}360p/${segments[0]}`), "cache-control") ?? "";
    expect(Number(/^max-age=(\d+)$/.exec(cacheControl)?.[1])).toBeGreaterThan(3500);
    expect(Number(/^max-age=(\d+)$/.exec(cacheControl)?.[1])).toBeLessThanOrEqual(3600);
    // The second viewer's segment comes from the edge's cache, whatever its link's expiry.
    const again = await httpGet(`${edge.url}${signedPrefix(KEY, { asset: ASSET }, inAnHour() + 60)}360p/${segments[0]}`);
    expect(headerOf(again, "x-cache-status")).toBe("HIT");
  });

  test("unsigned, signed for another asset or for the live stream, tampered: the same 403 for media and keys", async () => {
    const other = signedPrefix(KEY, { asset: "show/20261207T111500Z" }, inAnHour());
    const live = signedStreamPrefix(KEY, "show", inAnHour());
    const refused = [
      `/vod/${ASSET}/master.m3u8`,
      `/vod/${ASSET}/keys/0.key`,
      `${other.replace("/vod/show/20261207T111500Z/", `/vod/${ASSET}/`)}master.m3u8`,
      `${other.replace("/vod/show/20261207T111500Z/", `/vod/${ASSET}/`)}keys/0.key`,
      `${live.replace("/hls/show/", `/vod/${ASSET}/`)}keys/0.key`,
      `${signedPrefix({ id: KEY.id, secret: "someone-else-0123456789abcdef0123456789" }, { asset: ASSET }, inAnHour())}keys/0.key`,
    ];
    for (const url of refused) {
      const res = await httpGet(`${edge.url}${url}`);
      expect(`${url}: ${res.status} ${res.body.toString()}`).toBe(`${url}: 403 forbidden\n`);
    }
  });

  test("what the bucket does not hold, or holds outside vod/, is a plain 404 that tells nothing about the bucket", async () => {
    const prefix = signedPrefix(KEY, { asset: ASSET }, inAnHour());
    for (const missing of [`${prefix}360p/seg_00099.ts`, `${prefix}../../../private.txt`, `${prefix}360p/../../../../private.txt`]) {
      const res = await httpGet(`${edge.url}${missing}`);
      // A path climbing out of the asset is normalised by nginx before any location matches: it
      // leaves the signed prefix (refused) or lands outside /vod/ (not found), never in the bucket.
      expect(missing.includes("seg_00099") ? [404] : [403, 404]).toContain(res.status);
      expect(res.body.toString()).not.toMatch(/xml|AccessDenied|NoSuchKey/i);
      expect(Object.keys(res.headers).filter((h) => h.startsWith("x-amz"))).toEqual([]);
    }
  });

  test("a secret file that cannot be read gives no key (503) and nothing else changes", async () => {
    await rm(secretFile);
    try {
      const prefix = signedPrefix(KEY, { asset: ASSET }, inAnHour());
      expect((await httpGet(`${edge.url}${prefix}keys/0.key`)).status).toBe(503);
      expect((await httpGet(`${edge.url}${prefix}master.m3u8`)).status).toBe(200);
    } finally {
      await writeFile(secretFile, `${SECRET}\n`);
    }
    const prefix = signedPrefix(KEY, { asset: ASSET }, inAnHour());
    expect((await httpGet(`${edge.url}${prefix}keys/0.key`)).body.equals(periodKey(SECRET, `vod/${ASSET}`, 0))).toBe(true);
  });
});

describe("VOD at an edge without signing or secret", () => {
  test("assets are served openly (clear ones play as from the CDN) but no key is ever handed out", async () => {
    const edge = await startEdge({});
    const master = await httpGet(`${edge.url}/vod/${ASSET}/master.m3u8`);
    expect(master.status).toBe(200);
    expect(headerOf(master, "access-control-allow-origin")).toBe("*");
    expect((await httpGet(`${edge.url}/vod/${ASSET}/keys/0.key`)).status).toBe(403);
    expect((await httpGet(`${edge.url}/vod/not-an-asset/master.m3u8`)).status).toBe(404);
  }, 60_000);

  test("the configuration refuses a secret without signing, and a bucket URL with a path that is not a bucket", () => {
    expect(() => resolveEdgeConfig({ origins: [origin.url], vodOrigin: `${s3.endpoint}/egress`, hlsEncryptionSecretFile: secretFile })).toThrow(/hlsEncryptionSecretFile.*signed requests only/s);
    expect(() => resolveEdgeConfig({ origins: [origin.url], signedUrls: true, hlsEncryptionSecretFile: secretFile })).toThrow(/give vodOrigin/);
    expect(() => resolveEdgeConfig({ origins: [origin.url], vodOrigin: `${s3.endpoint}/egress/vod` })).toThrow(/vodOrigin \(--vod-origin\).*bucket name/s);
    expect(() => resolveEdgeConfig({ origins: [origin.url], vodOrigin: "ftp://bucket" })).toThrow(/use http:\/\/ or https:\/\//);
  });
});
