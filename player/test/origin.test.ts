/**
 * The player served by a real origin (`/player/`), playing a live stream published to it over
 * RTMP by a real FFmpeg and packaged into an ABR ladder: what a viewer of `live360 local` gets.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import type { Page } from "playwright-core";
import { getText, waitFor } from "@live360/testkit";
import { readCanvas, screenshot, snapshot, waitForPictureChange, waitForPlayback, type Frame } from "./harness.js";
import { startLiveOriginBench, type LiveOriginBench } from "./live-origin-bench.js";

/** How much of the picture is not black, and how many distinct colours it has. */
function describeFrame(frame: Frame): { lit: number; colours: number } {
  let lit = 0;
  const colours = new Set<number>();
  const pixels = frame.width * frame.height;
  for (let i = 0; i < pixels; i++) {
    const [r, g, b] = [frame.data[4 * i]!, frame.data[4 * i + 1]!, frame.data[4 * i + 2]!];
    if (r + g + b > 60) lit += 1;
    colours.add(((r >> 3) << 10) | ((g >> 3) << 5) | (b >> 3));
  }
  return { lit: lit / pixels, colours: colours.size };
}

describe("player: live from a real origin", () => {
  let bench: LiveOriginBench;
  let http: string;
  let page: Page;
  let requested: string[];

  beforeAll(async () => {
    bench = await startLiveOriginBench({ name: "player-origin", ladder: "source,320x160:300k", playerQuery: "&debug=1" });
    ({ http, page, requested } = bench);
  }, 180_000);

  afterAll(() => bench?.close(), 90_000);

  test("plays for 10 s of media; the canvas shows the moving pattern; latency comes from PROGRAM-DATE-TIME", async () => {
    await waitForPlayback(page, 10, 120_000);
    const first = await readCanvas(page);
    const { currentTime } = await snapshot(page);
    await waitFor("another second of video", async () => (await snapshot(page)).currentTime > currentTime + 1);
    // testsrc2 moves: the picture on the sphere changes as the video plays.
    await waitForPictureChange(page, first);
    await screenshot(page, "origin-live");
    const look = describeFrame(first);
    expect(look.lit).toBeGreaterThan(0.5);
    expect(look.colours).toBeGreaterThan(50);

    // A loaded machine may stall playback for a moment; what matters is that it plays again.
    const s = await waitFor("the player in the playing state", async () => {
      const now = await snapshot(page);
      return now.state === "playing" ? now : undefined;
    }, { timeoutMs: 30_000 });
    expect(s.latencySeconds).toBeGreaterThan(0);
    expect(s.latencySeconds).toBeLessThan(60);
    expect(await page.locator(".l360-live").isVisible()).toBe(true);
    expect(await page.locator(".l360-seek").isVisible()).toBe(false);
    expect(await page.locator(".l360-stats").textContent()).toMatch(/Live latency\s+\d+\.\d s/);
    // Everything came from the origin: no CDN, no third party.
    expect(requested.filter((url) => !url.startsWith(http) && !url.startsWith("blob:") && !url.startsWith("data:"))).toEqual([]);
  }, 180_000);

  test("every playlist and segment request carries CMCD in the query: one random session id, the stream as content id, what the player knows", () => {
    const media = requested.filter((url) => /\/hls\/test\/.*\.(m3u8|ts)(\?|$)/.test(url));
    expect(media.length).toBeGreaterThan(5);
    const cmcd = media.map((url) => {
      const raw = new URL(url).searchParams.get("CMCD");
      if (raw === null) throw new Error(`no CMCD on ${url}`);
      return new Map(raw.split(",").map((pair) => [pair.split("=")[0]!, pair.split("=").slice(1).join("=")]));
    });
    const sessions = new Set(cmcd.map((keys) => keys.get("sid")));
    expect(sessions.size).toBe(1);
    expect([...sessions][0]).toMatch(/^"[0-9a-f-]{36}"$/);
    for (const keys of cmcd) {
      expect(keys.get("cid")).toBe('"test"');
      expect(keys.get("sf")).toBe("h");
    }
    const segments = cmcd.filter((keys) => ["v", "av"].includes(keys.get("ot") ?? ""));
    expect(segments.length).toBeGreaterThan(0);
    // Encoded bitrate of the rung and the buffer length, as the player knew them.
    for (const keys of segments) expect(Number(keys.get("br"))).toBeGreaterThan(0);
    expect(segments.some((keys) => keys.has("bl"))).toBe(true);
    expect(cmcd.some((keys) => keys.get("st") === "l")).toBe(true);
  });

  test("the page is revalidated, its hashed files are cached for good, and the hls.js worker is fetched before the first segment", async () => {
    const page = await getText(`${http}/player/`);
    expect(page.headers.get("cache-control")).toBe("no-cache");
    const assets = [...page.body.matchAll(/(?:src|href)="\.\/([^"]+)"/g)].map((m) => m[1]!);
    expect(assets.length).toBeGreaterThan(0);
    for (const asset of assets) {
      expect((await getText(`${http}/player/${asset}`)).headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    }
    const worker = requested.findIndex((url) => /\/player\/hls\.worker-[0-9a-f]{8}\.js$/.test(url));
    const firstSegment = requested.findIndex((url) => url.includes("/hls/test/") && new URL(url).pathname.endsWith(".ts"));
    expect(worker).toBeGreaterThanOrEqual(0);
    expect(worker).toBeLessThan(firstSegment);
  });

  test("the quality menu lists the origin's rungs, and picking one loads its segments", async () => {
    await page.locator(".l360-quality").click();
    const labels = await page.locator(".l360-menu-item").allTextContents();
    expect(labels.map((l) => l.split(" · ")[0])).toEqual([expect.stringMatching(/^Auto/), "640×320", "320×160"]);
    const before = requested.length;
    await page.locator(".l360-menu-item", { hasText: "320×160" }).click();
    await waitFor("segments of the 160p rung", () => requested.slice(before).some((url) => url.includes("/hls/test/160p/seg_")), {
      timeoutMs: 30_000,
    });
    await waitFor("playback on the 160p rung", async () => (await snapshot(page)).rung?.height === 160, { timeoutMs: 30_000 });
  }, 90_000);

  test("paused behind the live edge, 'go to live' appears and brings the viewer back", async () => {
    await page.locator(".l360-play").click();
    const goLive = page.locator(".l360-golive");
    await goLive.waitFor({ state: "visible", timeout: 60_000 });
    await screenshot(page, "origin-behind-live");
    await goLive.click();
    await waitFor("playing at the live edge", async () => (await snapshot(page)).state === "playing" && !(await goLive.isVisible()), {
      timeoutMs: 30_000,
    });
  }, 120_000);
  test("an origin played directly has no insight: the beacon asks once, gets 404 and stops", async () => {
    const beacons = () => requested.filter((url) => new URL(url).pathname === "/insight/beacon").length;
    // The earlier tests played for well over two beacon intervals (10 s each).
    await waitFor("the first beacon", () => beacons() >= 1, { timeoutMs: 30_000 });
    // Two more intervals with something to say (the video playing), and no second beacon.
    await waitForPlayback(bench.page, 21, 60_000);
    expect(beacons()).toBe(1);
  }, 90_000);
});
