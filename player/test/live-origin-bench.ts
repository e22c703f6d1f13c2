/**
 * A real origin serving the built player, a real FFmpeg publishing the looping test clip to it
 * over RTMP, and headless Chromium on the player page: the set-up of the live player tests.
 */
import { rm } from "node:fs/promises";
import path from "node:path";
import type { Page } from "playwright-core";
import { createLogger, parseLadder } from "@live360/core";
import { resolveEdgeConfig, runEdge, type EdgeRunner } from "@live360/edge";
import { resolveOriginConfig, startOrigin, type Origin, type OriginConfigInput } from "@live360/origin";
import { freePort, getText, launchChromium, loopbackEdge, makeTestClip, publishFile, tempDir, waitFor, type ChromiumSession, type Publisher } from "@live360/testkit";
import { PLAYER_DIST, requireBuiltPlayer } from "./harness.js";

export interface LiveOriginBench {
  /** The origin's HTTP base URL. */
  http: string;
  /** The edge (real nginx, viewer insight on) the page plays through, when asked for. */
  edge: EdgeRunner | undefined;
  page: Page;
  /** Every URL the page requested, in order. */
  requested: string[];
  close(): Promise<void>;
}

export interface LiveOriginBenchOptions {
  /** The temporary directory's name. */
  name: string;
  ladder: string;
  /** Added to the player's URL after `?url=/hls/test/master.m3u8`. */
  playerQuery?: string;
  origin?: Pick<OriginConfigInput, "hlsEncryption" | "hlsFormat" | "lowLatency" | "partTargetSeconds">;
  /** The test clip's keyframe interval (2 s). */
  gopSeconds?: number;
  /** Play through an edge in front of the origin, with viewer insight on. */
  throughEdge?: boolean;
}

/** Stream `test` live on a new origin, and the player page playing it. */
export async function startLiveOriginBench(options: LiveOriginBenchOptions): Promise<LiveOriginBench> {
  await requireBuiltPlayer();
  const dir = await tempDir(options.name);
  let origin: Origin | undefined;
  let publisher: Publisher | undefined;
  let session: ChromiumSession | undefined;
  let edge: EdgeRunner | undefined;
  const close = async (): Promise<void> => {
    await session?.close();
    await edge?.close();
    await publisher?.stop();
    await origin?.close();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const clip = await makeTestClip(dir, { width: 640, height: 320, seconds: 4, gopSeconds: options.gopSeconds ?? 2 });
    const [rtmpPort, httpPort] = [await freePort(), await freePort()];
    origin = await startOrigin(
      resolveOriginConfig({
        rtmpPort,
        httpPort,
        bindAddress: "127.0.0.1",
        dataDir: path.join(dir, "data"),
        ladder: parseLadder("ladder", options.ladder),
        playerDir: PLAYER_DIST,
        ...options.origin,
      }),
      { logger: createLogger("origin", { level: "error" }) },
    );
    const http = `http://127.0.0.1:${httpPort}`;
    publisher = await publishFile(clip, `rtmp://127.0.0.1:${rtmpPort}/live/test`, { loop: true });
    await waitFor("the master playlist", async () => (await getText(`${http}/hls/test/master.m3u8`)).status === 200, { timeoutMs: 60_000 });
    if (options.throughEdge) {
      const work = path.join(dir, "edge");
      edge = await runEdge(
        resolveEdgeConfig({
          origins: [http],
          ...(await loopbackEdge(work)),
          insightPort: await freePort(),
          drainDelaySeconds: 0,
          shutdownGraceSeconds: 5,
        }),
        { logger: createLogger("edge", { level: "error" }) },
      );
    }
    session = await launchChromium({ viewport: { width: 640, height: 360 } });
    const page = await session.newPage();
    const requested: string[] = [];
    page.on("request", (request) => requested.push(request.url()));
    await page.goto(`${edge?.url ?? http}/player/?url=/hls/test/master.m3u8${options.playerQuery ?? ""}`);
    return { http, edge, page, requested, close };
  } catch (error) {
    await close();
    throw error;
  }
}
