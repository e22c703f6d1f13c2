/**
 * The player on a CMAF / LL-HLS stream from a real origin through a real edge (issue #15):
 * hls.js's low-latency mode (`latency=low`) with blocking playlist reloads and parts, the quality
 * menu and go-to-live, in headless Chromium.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import type { Page } from "playwright-core";
import { waitFor } from "@live360/testkit";
import { readCanvas, screenshot, snapshot, waitForPictureChange, waitForPlayback } from "./harness.js";
import { startLiveOriginBench, type LiveOriginBench } from "./live-origin-bench.js";

describe("player: LL-HLS (CMAF parts) from a real origin through the edge", () => {
  let bench: LiveOriginBench;
  let page: Page;
  let requested: string[];

  beforeAll(async () => {
    bench = await startLiveOriginBench({
      name: "player-ll-hls",
      ladder: "source,320x160:300k",
      gopSeconds: 1,
      origin: { hlsFormat: "cmaf", lowLatency: true, partTargetSeconds: 0.5 },
      throughEdge: true,
      playerQuery: "&latency=low&debug=1",
    });
    ({ page, requested } = bench);
  }, 180_000);

  afterAll(() => bench?.close(), 90_000);

  test("plays, the picture moves, and the live latency is shown", async () => {
    await waitForPlayback(page, 5, 120_000);
    const first = await readCanvas(page);
    await waitForPictureChange(page, first);
    await screenshot(page, "origin-ll-hls");
    const playing = await waitFor("the player in the playing state", async () => {
      const now = await snapshot(page);
      return now.state === "playing" ? now : undefined;
    }, { timeoutMs: 30_000 });
    expect(playing.latencySeconds).toBeGreaterThan(0);
    // The playlist's PART-HOLD-BACK (three 0.5 s parts, 1.5 s), not two whole 1 s segments: hls.js
    // ignores the playlist's hold-back once liveSyncDurationCount is configured. After a stall
    // hls.js adds a whole second (liveSyncOnStallIncrease, at most one target duration).
    expect([1.5, 2.5]).toContain(playing.targetLatencySeconds);
    expect(await page.locator(".l360-stats").textContent()).toMatch(/Live latency\s+\d+\.\d s/);
  }, 180_000);

  test("hls.js asks for blocking playlist reloads and fetches parts, not only whole segments", () => {
    const path = (url: string): string => new URL(url).pathname;
    const blocking = requested.filter((url) => /\/index\.m3u8\?(?:.*&)?_HLS_msn=\d+/.test(url));
    const parts = requested.filter((url) => /\/seg_\d+\.\d+\.m4s$/.test(path(url)));
    const inits = requested.filter((url) => /\/init_[0-9a-f]{16}\.mp4$/.test(path(url)));
    expect(blocking.length).toBeGreaterThan(2);
    expect(parts.length).toBeGreaterThan(2);
    expect(inits.length).toBeGreaterThan(0);
    // Nothing of the TS format.
    expect(requested.filter((url) => path(url).endsWith(".ts"))).toEqual([]);
  });

  test("the quality menu lists the rungs, and picking the other one loads its parts and plays it", async () => {
    await page.locator(".l360-quality").click();
    const labels = await page.locator(".l360-menu-item").allTextContents();
    expect(labels.map((l) => l.split(" · ")[0])).toEqual([expect.stringMatching(/^Auto/), "640×320", "320×160"]);
    // Whichever rung Auto plays now, the test picks the other.
    const [label, variant, height] = (await snapshot(page)).rung?.height === 160 ? ["640×320", "source", 320] : ["320×160", "160p", 160];
    const before = requested.length;
    await page.locator('.l360-menu-item:not([data-rung="-1"])', { hasText: label }).click();
    await waitFor(`parts of the ${variant} rung`, () => requested.slice(before).some((url) => new RegExp(`/hls/test/${variant}/seg_\\d+(\\.\\d+)?\\.m4s`).test(url)), { timeoutMs: 30_000 });
    await waitFor(`playback on the ${variant} rung`, async () => (await snapshot(page)).rung?.height === height, { timeoutMs: 30_000 });
  }, 90_000);

  test("a short pause leaves the viewer behind its target: the player plays faster (at most 1.25×) until it is back, then at 1×", async () => {
    const playing = async (): Promise<{ latency: number; target: number; rate: number }> => {
      const now = await snapshot(page);
      return {
        latency: now.state === "playing" ? (now.latencySeconds ?? Number.NaN) : Number.NaN,
        target: now.targetLatencySeconds ?? Number.NaN,
        rate: await page.evaluate(() => window.live360!.video.playbackRate),
      };
    };
    // Settled first: at its target, at plain speed.
    const settled = await waitFor("playing at 1× near the target", async () => {
      const now = await playing();
      return now.rate === 1 && Number.isFinite(now.latency) && Number.isFinite(now.target) ? now : undefined;
    }, { timeoutMs: 60_000 });
    await page.evaluate(() => window.live360!.video.pause());
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await page.evaluate(() => window.live360!.video.play());
    const rates: number[] = [];
    // hls.js alone would not speed up here (it wants more than a second buffered, and its own catch-up is off).
    await waitFor("faster playback", async () => {
      const { rate } = await playing();
      rates.push(rate);
      return rate > 1;
    }, { timeoutMs: 20_000, intervalMs: 100 });
    // Back where it was, or where hls.js now aims: a stall on a loaded machine raises its target
    // by a second (liveSyncOnStallIncrease), and the catch-up rightly stops there.
    let last = settled;
    await waitFor("back near the target latency, at 1×", async () => {
      last = await playing();
      rates.push(last.rate);
      return last.rate === 1 && last.latency < settled.latency + Math.max(0, last.target - settled.target) + 0.4;
    }, { timeoutMs: 90_000, intervalMs: 100 }).catch((error: Error) => {
      throw new Error(`${error.message} (settled ${JSON.stringify(settled)}, last ${JSON.stringify(last)}, rates seen ${[...new Set(rates)].join(", ")})`);
    });
    expect(Math.max(...rates)).toBeLessThanOrEqual(1.25);
  }, 200_000);

  test("paused behind the live edge, 'go to live' appears and brings the viewer back", async () => {
    await page.locator(".l360-play").click();
    const goLive = page.locator(".l360-golive");
    await goLive.waitFor({ state: "visible", timeout: 60_000 });
    await goLive.click();
    await waitFor("playing at the live edge", async () => (await snapshot(page)).state === "playing" && !(await goLive.isVisible()), { timeoutMs: 30_000 });
  }, 120_000);
});
