/**
 * The player on an AES-128 encrypted live stream from a real origin: hls.js in headless Chromium
 * fetches the period keys the playlists name and decrypts what the origin serves; the picture is
 * the test pattern, not noise.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { rm } from "node:fs/promises";
import path from "node:path";
import type { Page } from "playwright-core";
import { createLogger, parseLadder } from "@live360/core";
import { resolveOriginConfig, startOrigin, type Origin } from "@live360/origin";
import { freePort, getText, launchChromium, makeTestClip, publishFile, tempDir, waitFor, type ChromiumSession, type Publisher } from "@live360/testkit";
import { PLAYER_DIST, meanDifference, readCanvas, requireBuiltPlayer, snapshot, waitForPlayback } from "./harness.js";

describe("player: an AES-128 encrypted live stream", () => {
  let dir: string;
  let origin: Origin;
  let http: string;
  let publisher: Publisher;
  let session: ChromiumSession;
  let page: Page;
  const requested: string[] = [];

  beforeAll(async () => {
    await requireBuiltPlayer();
    dir = await tempDir("player-encrypted");
    const clip = await makeTestClip(dir, { width: 640, height: 320, seconds: 4, gopSeconds: 2 });
    const [rtmpPort, httpPort] = [await freePort(), await freePort()];
    origin = await startOrigin(
      resolveOriginConfig({
        rtmpPort,
        httpPort,
        bindAddress: "127.0.0.1",
        dataDir: path.join(dir, "data"),
        ladder: parseLadder("ladder", "source"),
        playerDir: PLAYER_DIST,
        // A new key every 2 segments: the player crosses several key periods within the test.
        hlsEncryption: { secret: "player-test-hls-secret-0123456789abcdef", rotationSegments: 2 },
      }),
      { logger: createLogger("origin", { level: "error" }) },
    );
    http = `http://127.0.0.1:${httpPort}`;
    publisher = await publishFile(clip, `rtmp://127.0.0.1:${rtmpPort}/live/test`, { loop: true });
    await waitFor("the master playlist", async () => (await getText(`${http}/hls/test/master.m3u8`)).status === 200, { timeoutMs: 60_000 });
    session = await launchChromium({ viewport: { width: 640, height: 360 } });
    page = await session.newPage();
    page.on("request", (request) => requested.push(request.url()));
    await page.goto(`${http}/player/?url=/hls/test/master.m3u8`);
  }, 180_000);

  afterAll(async () => {
    await session?.close();
    await publisher?.stop();
    await origin?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 90_000);

  test("plays 8 s of media across key periods, fetching each period's key; the picture is the moving pattern", async () => {
    await waitForPlayback(page, 8, 120_000);
    const first = await readCanvas(page);
    const { currentTime } = await snapshot(page);
    await waitFor("another second of video", async () => (await snapshot(page)).currentTime > currentTime + 1);
    const second = await readCanvas(page);
    // Decrypted with a wrong key the decoder gets noise and shows nothing: lit, moving pixels mean real frames.
    let lit = 0;
    for (let i = 0; i < first.data.length; i += 4) if (first.data[i]! + first.data[i + 1]! + first.data[i + 2]! > 60) lit += 1;
    expect(lit / (first.data.length / 4)).toBeGreaterThan(0.5);
    expect(meanDifference(first, second)).toBeGreaterThan(1);
    const keys = new Set(requested.filter((url) => /\/hls\/test\/keys\/\d+\.key$/.test(url)));
    expect(keys.size).toBeGreaterThanOrEqual(2);
    expect((await snapshot(page)).state).not.toBe("error");
  }, 180_000);
});
