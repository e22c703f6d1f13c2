/**
 * What a viewer is told when something is wrong, in real headless Chromium: never a blank
 * black page, and streams that start late or come back after a network outage play on
 * without a reload.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { mkdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import type { Page } from "playwright-core";
import {
  launchChromium,
  startLiveHlsWriter,
  startStaticServer,
  tempDir,
  waitFor,
  type ChromiumSession,
  type LiveHlsWriter,
  type StaticServer,
} from "@live360/testkit";
import { PLAYER_DIST, requireBuiltPlayer, screenshot, snapshot, waitForPlayback } from "./harness.js";
import { readWatch, watchPlayback } from "./playback-watch.js";

describe("player: messages and recovery in headless Chromium", () => {
  let dir: string;
  let server: StaticServer;
  let session: ChromiumSession;
  const writers: LiveHlsWriter[] = [];

  beforeAll(async () => {
    await requireBuiltPlayer();
    dir = await tempDir("player-errors");
    server = await startStaticServer([
      { prefix: "/player/", dir: PLAYER_DIST },
      { prefix: "/live/", dir },
    ]);
    session = await launchChromium({ viewport: { width: 640, height: 360 } });
  }, 60_000);

  afterAll(async () => {
    await Promise.all(writers.map((w) => w.stop()));
    await session?.close();
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, 60_000);

  async function open(query: string, prepare?: (page: Page) => Promise<unknown>): Promise<Page> {
    const page = await session.newPage();
    await prepare?.(page);
    await page.goto(`${server.origin}/player/${query}`);
    return page;
  }

  async function messageOf(page: Page, state: string): Promise<string> {
    return waitFor(`state ${state}`, async () => {
      const s = await snapshot(page);
      return s.state === state ? s.message : undefined;
    });
  }

  test("no url: says how to give one", async () => {
    const page = await open("");
    try {
      const message = await messageOf(page, "no-url");
      expect(message).toContain("No stream selected");
      expect(message).toContain("?url=");
      await screenshot(page, "no-url");
    } finally {
      await page.close();
    }
  });

  test("a url that is not http(s) is refused with the reason", async () => {
    const page = await open(`?url=${encodeURIComponent("javascript:alert(1)")}`);
    try {
      expect(await messageOf(page, "no-url")).toContain("must be an http:// or https:// URL");
    } finally {
      await page.close();
    }
  });

  test("a browser without MSE or native HLS is told so", async () => {
    const page = await open("?url=/live/x/index.m3u8", (p) =>
      p.addInitScript(() => {
        const w = window as unknown as Record<string, unknown>;
        delete w.MediaSource;
        delete w.ManagedMediaSource;
        delete w.WebKitMediaSource;
        HTMLMediaElement.prototype.canPlayType = () => "";
      }),
    );
    try {
      expect(await messageOf(page, "unsupported")).toContain("can't play");
      await screenshot(page, "unsupported");
    } finally {
      await page.close();
    }
  });

  test("a stream that is not live yet: 'waiting', then it plays without a reload once it starts, and survives a network outage", async () => {
    const streamDir = path.join(dir, "late");
    await mkdir(streamDir, { recursive: true });
    const page = await open("?url=/live/late/index.m3u8&debug=1");
    let navigations = 0;
    page.on("framenavigated", () => (navigations += 1));
    try {
      expect(await messageOf(page, "waiting")).toContain("Waiting for the stream");
      await screenshot(page, "waiting");
      // It keeps asking: more than one 404 before the stream exists.
      await waitFor("repeated playlist requests", () => server.requests.filter((p) => p === "/live/late/index.m3u8").length >= 2, {
        timeoutMs: 20_000,
      });

      writers.push(await startLiveHlsWriter({ dir: streamDir, segmentSeconds: 1, listSize: 6 }));
      await waitForPlayback(page, 3);
      expect(navigations).toBe(0);
      expect((await snapshot(page)).message).toBe("");
      await screenshot(page, "late-start-playing");

      // The network goes away: the viewer is told, and playback resumes once it is back.
      server.block(/^\/live\/late\//);
      expect(await messageOf(page, "reconnecting")).toContain("Connection lost");
      await screenshot(page, "reconnecting");
      server.block(undefined);
      await waitForPlayback(page, 3);
      expect(navigations).toBe(0);
      // Back to "playing" and no message: right after the outage hls.js may still be refilling a
      // one-segment buffer (a moment of "buffering" on a loaded machine), so it is given a few seconds.
      await waitFor("the player back to playing, its message gone", async () => {
        const { state, message } = await snapshot(page);
        return state === "playing" && message === "";
      }, { timeoutMs: 15_000 });
    } finally {
      await page.close();
    }
  }, 180_000);
  // What the edge can answer for a moment while an origin fails back (a restarted origin has no
  // playlist yet; an edge pod going away drops its keep-alive connections): hls.js's defaults turn
  // a few seconds of that into a fatal error and a reload; the player asks again instead.
  test("a live playlist answering 404 or dropping the connection for 4.5 s: no fatal error, no reload, the video goes on", async () => {
    const streamDir = path.join(dir, "flaky");
    await mkdir(streamDir, { recursive: true });
    writers.push(await startLiveHlsWriter({ dir: streamDir, segmentSeconds: 1, listSize: 6 }));
    await waitFor("the flaky stream's playlist", async () => ((await readFile(path.join(streamDir, "index.m3u8"), "utf8").catch(() => "")).match(/#EXTINF/g)?.length ?? 0) >= 3, {
      timeoutMs: 30_000,
    });
    const page = await open("?url=/live/flaky/index.m3u8");
    try {
      await waitForPlayback(page, 3);
      await watchPlayback(page);
      let refused = 0;
      await page.route(/\/live\/flaky\/index\.m3u8/, async (route) => {
        refused += 1;
        // Alternate the two failures hls.js does not retry by itself.
        if (refused % 2 === 1) await route.fulfill({ status: 404, body: "not found\n" });
        else await route.abort("connectionreset");
      });
      await new Promise((resolve) => setTimeout(resolve, 4500));
      await page.unroute(/\/live\/flaky\/index\.m3u8/);
      const { currentTime } = await snapshot(page);
      await waitFor("5 s of playback after the playlist came back", async () => (await snapshot(page)).currentTime >= currentTime + 5, { timeoutMs: 60_000 });
      const watch = await readWatch(page);
      expect(refused).toBeGreaterThanOrEqual(2);
      expect(watch.errors.filter((e) => e.details === "levelLoadError").length).toBeGreaterThanOrEqual(2);
      expect(watch.errors.filter((e) => e.fatal)).toEqual([]);
      expect(watch.hlsReplaced).toBe(false);
      expect(watch.states.map((s) => s.state).filter((s) => s !== "playing" && s !== "buffering")).toEqual([]);
    } finally {
      await page.close();
    }
  }, 120_000);
});
