/**
 * An encrypted on-demand asset as a viewer gets it: a recording transcoded and AES-128 encrypted
 * by the real VOD worker (FFmpeg) into a real S3-compatible bucket (versitygw, `vod/*` readable
 * without credentials as the egress bucket's VPC-endpoint policy allows), served by a real edge
 * (nginx + njs) that checks the signed link and derives each period's key, and played by the
 * player in headless Chromium from a link minted by signedMasterPlaylistUrl.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import type { Page } from "playwright-core";
import { S3Storage, createLogger, parseLadder, recordingToMetadata } from "@live360/core";
import { resolveEdgeConfig, runEdge, signedMasterPlaylistUrl } from "@live360/edge";
import { resolveVodWorkerConfig, runVodJob } from "@live360/vod-worker";
import { Cleanup, launchChromium, loopbackEdge, makeTestClip, startS3Server, startStaticServer, tempDir, waitFor, type ChromiumSession } from "@live360/testkit";
import { PLAYER_DIST, readCanvas, requireBuiltPlayer, snapshot, waitForPictureChange, waitForPlayback } from "./harness.js";

const logger = createLogger("player-vod-encrypted", { level: "warn" });
const SECRET = "player-vod-hls-secret-0123456789abcdef0123";
const SIGNING_KEY = { id: "k1", secret: "player-vod-signing-0123456789abcdef012345" };
const STREAM = "vault";

describe("player: an encrypted VOD asset through the edge", () => {
  const cleanup = new Cleanup();
  let session: ChromiumSession;
  let page: Page;
  let edgeUrl: string;
  let asset: string;
  const requested: string[] = [];

  beforeAll(async () => {
    await requireBuiltPlayer();
    const dir = await tempDir("player-vod-encrypted");
    const s3 = cleanup.add(await startS3Server({ buckets: ["ingest", "egress"] }), (server) => server.stop());
    await s3.allowAnonymousRead("egress", "vod/");
    const storage = new S3Storage({ endpoint: s3.endpoint, region: s3.region, credentials: s3.credentials });
    const clip = await makeTestClip(dir, { seconds: 8, container: "mp4" });
    const startedAt = new Date("2026-12-07T10:15:00Z");
    const key = `recordings/${STREAM}/20261207T101500Z.mp4`;
    await storage.putFile("ingest", key, clip, { contentType: "video/mp4", metadata: recordingToMetadata({ stream: STREAM, startedAt, durationSeconds: 8, projection: "equirectangular" }) });
    const worker = resolveVodWorkerConfig({
      egressBucket: "egress",
      ladder: parseLadder("ladder", "source,320x160:300k"),
      segmentSeconds: 2,
      workDir: path.join(dir, "work"),
      // A key per segment: the player crosses several key periods.
      hlsEncryption: { secret: SECRET, rotationSegments: 1 },
    });
    const outcome = await runVodJob(worker, { storage, logger }, `s3://ingest/${key}`, new AbortController().signal);
    asset = outcome.prefix.replace(/^vod\//, "").replace(/\/$/, "");

    // The edge's origins serve the player's files (as an origin does); the asset comes from the bucket.
    const player = cleanup.add(await startStaticServer([{ prefix: "/player/", dir: PLAYER_DIST }]), (server) => server.close());
    const work = await tempDir("player-vod-edge");
    const secretFile = path.join(work, "hls-secret");
    await writeFile(secretFile, SECRET);
    const edge = await runEdge(
      resolveEdgeConfig({
        origins: [player.origin],
        ...(await loopbackEdge(work)),
        vodOrigin: `${s3.endpoint}/egress`,
        signingKeys: new Map([[SIGNING_KEY.id, SIGNING_KEY.secret]]),
        hlsEncryptionSecretFile: secretFile,
      }),
      { logger },
    );
    cleanup.add(edge, (running) => running.close());
    edgeUrl = edge.url;
    session = cleanup.add(await launchChromium({ viewport: { width: 640, height: 360 } }), (chromium) => chromium.close());
    page = await session.newPage();
    page.on("request", (request) => requested.push(request.url()));
  }, 240_000);

  afterAll(() => cleanup.run(), 90_000);

  test("a signed link plays across key periods, each key fetched from the edge under the link's prefix; the picture is the moving pattern", async () => {
    expect(asset).toBe(`${STREAM}/20261207T101500Z`);
    const master = signedMasterPlaylistUrl(edgeUrl, SIGNING_KEY, { asset }, 600);
    await page.goto(`${edgeUrl}/player/?url=${encodeURIComponent(master)}&analytics=0`);
    await waitForPlayback(page, 5, 120_000).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}\n${session.log()}`);
    });
    const first = await readCanvas(page);
    let lit = 0;
    for (let i = 0; i < first.data.length; i += 4) if (first.data[i]! + first.data[i + 1]! + first.data[i + 2]! > 60) lit += 1;
    // Decrypted with a wrong key the decoder gets noise and shows nothing: lit, moving pixels mean real frames.
    expect(lit / (first.data.length / 4)).toBeGreaterThan(0.5);
    await waitForPictureChange(page, first);
    const prefix = new URL(master).pathname.replace(/master\.m3u8$/, "");
    const keys = new Set(requested.filter((url) => new URL(url).pathname.startsWith(`${prefix}keys/`)));
    expect(keys.size).toBeGreaterThanOrEqual(2);
    // Everything of the asset went through the signed prefix: nothing asked for /vod/ unsigned.
    expect(requested.filter((url) => new URL(url).pathname.startsWith("/vod/"))).toEqual([]);
    expect((await snapshot(page)).state).not.toBe("error");
  }, 180_000);

  test("the same asset with an expired link does not play: the player says the link is not valid, once, without retrying", async () => {
    const expired = signedMasterPlaylistUrl(edgeUrl, SIGNING_KEY, { asset }, -60);
    const other = await session.newPage();
    const asked: string[] = [];
    other.on("request", (request) => asked.push(request.url()));
    await other.goto(`${edgeUrl}/player/?url=${encodeURIComponent(expired)}&analytics=0`);
    await waitFor("the player's error state", async () => (await snapshot(other)).state === "error", { timeoutMs: 60_000 });
    expect(await other.locator("body").innerText()).toContain("This link isn't valid (any more)");
    // A refusal is final: the master playlist was asked for once.
    expect(asked.filter((url) => url === expired)).toHaveLength(1);
    await other.close();
  }, 90_000);
});
