/**
 * The player on an AES-128 encrypted live stream from a real origin: hls.js in headless Chromium
 * fetches the period keys the playlists name and decrypts what the origin serves; the picture is
 * the test pattern, not noise.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import type { Page } from "playwright-core";
import { waitFor } from "@live360/testkit";
import { readCanvas, snapshot, waitForPictureChange, waitForPlayback } from "./harness.js";
import { startLiveOriginBench, type LiveOriginBench } from "./live-origin-bench.js";

describe("player: an AES-128 encrypted live stream", () => {
  let bench: LiveOriginBench;
  let page: Page;

  beforeAll(async () => {
    bench = await startLiveOriginBench({
      name: "player-encrypted",
      ladder: "source",
      // Also: no CMCD when the page says analytics=0.
      playerQuery: "&analytics=0",
      // A new key every 2 segments: the player crosses several key periods within the test.
      origin: { hlsEncryption: { secret: "player-test-hls-secret-0123456789abcdef", rotationSegments: 2 } },
    });
    page = bench.page;
  }, 180_000);

  afterAll(() => bench?.close(), 90_000);

  test("plays 8 s of media across key periods, fetching each period's key; the picture is the moving pattern", async () => {
    await waitForPlayback(page, 8, 120_000);
    const first = await readCanvas(page);
    const { currentTime } = await snapshot(page);
    await waitFor("another second of video", async () => (await snapshot(page)).currentTime > currentTime + 1);
    // testsrc2 moves: the picture on the sphere changes as the video plays.
    await waitForPictureChange(page, first);
    // Decrypted with a wrong key the decoder gets noise and shows nothing: lit, moving pixels mean real frames.
    let lit = 0;
    for (let i = 0; i < first.data.length; i += 4) if (first.data[i]! + first.data[i + 1]! + first.data[i + 2]! > 60) lit += 1;
    expect(lit / (first.data.length / 4)).toBeGreaterThan(0.5);
    const keys = new Set(bench.requested.filter((url) => /\/hls\/test\/keys\/\d+\.key$/.test(url)));
    expect(keys.size).toBeGreaterThanOrEqual(2);
    expect((await snapshot(page)).state).not.toBe("error");
    expect(bench.requested.filter((url) => url.includes("CMCD="))).toEqual([]);
  }, 180_000);
});
