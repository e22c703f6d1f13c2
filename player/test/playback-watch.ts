/**
 * A stall meter inside the page: how long the video stood still, every hls.js error and every
 * player state, while a test breaks something underneath (an origin, a node, a network). Shared
 * by the player's failover test and the kind end-to-end suite (test/kind).
 */
import type { Page } from "playwright-core";
import "./harness.js";

/** What the page records about itself (installed by watchPlayback). */
export interface PlaybackWatch {
  /** Every hls.js ERROR event, fatal or not, with the HTTP status and path of a failed load. */
  errors: { at: number; type: string; details: string; fatal: boolean; status?: number; path?: string }[];
  states: { at: number; state: string }[];
  /** Longest time currentTime stood still, since `since` (page clock, ms). */
  longestStallMs: number;
  stallEndedAt: number;
  /** Whether hls.js was replaced (the player's recovery by reload). */
  hlsReplaced: boolean;
  samples: number;
}

interface WatchedWindow {
  __watch?: PlaybackWatch & { reset(): void };
}

/**
 * Samples video.currentTime every 50 ms inside the page. A stall is the time from the last
 * sample where the video advanced to the last sample where it still had not: a page whose timers
 * are starved by a busy machine sees the video advance across the gap and records no stall, so
 * only the video really standing still counts.
 */
export async function watchPlayback(page: Page): Promise<void> {
  await page.evaluate(() => {
    type ErrorLike = { type: string; details: string; fatal: boolean; response?: { code: number }; context?: { url?: string } };
    type HlsLike = { on(event: string, handler: (event: string, data: ErrorLike) => void): void };
    const player = window.live360 as unknown as { engine?: { hls?: HlsLike }; video: HTMLVideoElement; on(event: "state", h: (s: string) => void): void };
    const hls = player.engine?.hls;
    if (!hls) throw new Error("the player is not using hls.js");
    const watch = {
      errors: [] as PlaybackWatch["errors"],
      states: [] as PlaybackWatch["states"],
      longestStallMs: 0,
      stallEndedAt: 0,
      hlsReplaced: false,
      samples: 0,
      reset() {
        this.samples = 0;
        this.errors.length = 0;
        this.states.length = 0;
        this.longestStallMs = 0;
        this.stallEndedAt = 0;
      },
    };
    (window as WatchedWindow).__watch = watch;
    // Events.ERROR of hls.js; the player itself reacts only to fatal ones.
    hls.on("hlsError", (_event, data) => {
      const url = data.context?.url;
      watch.errors.push({
        at: performance.now(),
        type: data.type,
        details: data.details,
        fatal: data.fatal,
        ...(data.response ? { status: data.response.code } : {}),
        ...(url ? { path: new URL(url, location.href).pathname } : {}),
      });
    });
    player.on("state", (state) => watch.states.push({ at: performance.now(), state }));
    let lastTime = player.video.currentTime;
    let advancedAt = performance.now();
    setInterval(() => {
      const now = performance.now();
      const time = player.video.currentTime;
      watch.samples += 1;
      if (player.engine?.hls !== hls) watch.hlsReplaced = true;
      if (time > lastTime) {
        advancedAt = now;
        lastTime = time;
      } else if (now - advancedAt > watch.longestStallMs) {
        watch.longestStallMs = now - advancedAt;
        watch.stallEndedAt = now;
      }
    }, 50);
  });
}

export const readWatch = (page: Page): Promise<PlaybackWatch> =>
  // JSON leaves the reset() function behind.
  page.evaluate(() => JSON.parse(JSON.stringify((window as WatchedWindow).__watch!)) as PlaybackWatch);

/** Starts a new measuring window (errors, states and the longest stall so far are forgotten). */
export const resetWatch = (page: Page): Promise<void> => page.evaluate(() => (window as WatchedWindow).__watch!.reset());
