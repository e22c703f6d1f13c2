/**
 * The "glass" of glass-to-glass: a live source whose every frame carries the wall-clock time it was
 * handed to the encoder, as a row of black and white blocks a player page can read back from the
 * `<video>` (drawImage into a canvas). Frames are made in Node and paced to the frame rate, then
 * encoded by one FFmpeg (x264 zerolatency, a keyframe a second) and sent to every ingest at once
 * (tee), so every system under test gets the same encode at the same moment.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { resolveBinary } from "@live360/core";
import { catchUpRate, catchUpStateOf } from "@live360/player/lib/live-catch-up.js";
import { launchChromium, startStaticServer, type Cleanup } from "@live360/testkit";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

export const GLASS_WIDTH = 640;
export const GLASS_HEIGHT = 320;
export const GLASS_FPS = 25;
/** Milliseconds since the epoch fit in 42 bits until the year 2109. */
export const STAMP_BITS = 42;
/** Each bit a square block this size, left to right from STAMP_LEFT, at STAMP_TOP. */
export const STAMP_BLOCK = 14;
export const STAMP_LEFT = 8;
export const STAMP_TOP = 4;

const Y_BLACK = 16;
const Y_WHITE = 235;

/** A YUV 4:2:0 frame: a moving gradient (so the encoder has work) with `stampMs` in the top row. */
export function glassFrame(index: number, stampMs: number): Buffer {
  const ySize = GLASS_WIDTH * GLASS_HEIGHT;
  const frame = Buffer.alloc(ySize * 1.5, 128);
  for (let y = 0; y < GLASS_HEIGHT; y++) {
    const row = y * GLASS_WIDTH;
    for (let x = 0; x < GLASS_WIDTH; x++) frame[row + x] = y < STAMP_TOP + STAMP_BLOCK + 4 ? 128 : 40 + ((x + y + 4 * index) & 127);
  }
  for (let bit = 0; bit < STAMP_BITS; bit++) {
    const on = Math.floor(stampMs / 2 ** (STAMP_BITS - 1 - bit)) % 2 === 1;
    const left = STAMP_LEFT + bit * STAMP_BLOCK;
    for (let y = STAMP_TOP; y < STAMP_TOP + STAMP_BLOCK; y++) frame.fill(on ? Y_WHITE : Y_BLACK, y * GLASS_WIDTH + left, y * GLASS_WIDTH + left + STAMP_BLOCK);
  }
  return frame;
}

/**
 * Reads the stamp from RGBA pixels of the frame's top STAMP_TOP + STAMP_BLOCK rows (what
 * `getImageData(0, 0, GLASS_WIDTH, …)` returns), by the mean luma of each block's centre.
 * Written to run in the page too: `decodeStamp.toString()` is evaluated there.
 */
export function decodeStamp(rgba: ArrayLike<number>, width: number, bits: number, block: number, left: number, top: number): number {
  let value = 0;
  for (let bit = 0; bit < bits; bit++) {
    const cx = left + bit * block + Math.floor(block / 2);
    const cy = top + Math.floor(block / 2);
    let sum = 0;
    for (let dy = -2; dy <= 2; dy++) {
      for (let dx = -2; dx <= 2; dx++) {
        const i = 4 * ((cy + dy) * width + cx + dx);
        sum += 0.299 * rgba[i]! + 0.587 * rgba[i + 1]! + 0.114 * rgba[i + 2]!;
      }
    }
    value = value * 2 + (sum / 25 > 128 ? 1 : 0);
  }
  return value;
}

/**
 * JavaScript for a glass page, shared by the latency benches: `glassVideo()` appends a muted
 * `<video>` and returns it with `stampLatencyMs()`, now − the stamp of the frame it presents
 * (undefined before the first frame or when the stamp is unreadable); `hlsLog(keepMs)` is an
 * hls.js `debug` logger (debug build) keeping its lines of the last `keepMs` as `{ t (Unix ms), text }`.
 */
export function glassPageHelpers(): string {
  const rows = STAMP_TOP + STAMP_BLOCK + 2;
  return `
const decodeStamp = ${decodeStamp.toString()};
const glassVideo = () => {
  const video = document.createElement("video");
  video.muted = true;
  video.playsInline = true;
  document.body.append(video);
  const canvas = document.createElement("canvas");
  canvas.width = ${GLASS_WIDTH};
  canvas.height = ${rows};
  const context = canvas.getContext("2d", { willReadFrequently: true });
  const stampLatencyMs = () => {
    if (video.videoWidth !== ${GLASS_WIDTH}) return undefined;
    context.drawImage(video, 0, 0);
    const rgba = context.getImageData(0, 0, ${GLASS_WIDTH}, ${rows}).data;
    const latency = Date.now() - decodeStamp(rgba, ${GLASS_WIDTH}, ${STAMP_BITS}, ${STAMP_BLOCK}, ${STAMP_LEFT}, ${STAMP_TOP});
    return latency > -100 && latency < 60000 ? latency : undefined;
  };
  return { video, stampLatencyMs };
};
// The player's low-latency catch-up (player/src/live-catch-up.ts), for an hls.js whose own is off
// (maxLiveSyncPlaybackRate 1): the benches measure what the player does.
const catchUpRate = ${catchUpRate.toString()};
const catchUpStateOf = ${catchUpStateOf.toString()};
const liveCatchUp = (hls, video) => video.addEventListener("timeupdate", () => {
  const state = catchUpStateOf(hls, video);
  if (!state) return;
  const rate = catchUpRate(state);
  if (video.playbackRate !== rate) video.playbackRate = rate;
});
const hlsLog = (keepMs) => {
  const lines = [];
  const note = (level) => (...args) => {
    lines.push({ t: Date.now(), text: level + " " + args.map(String).join(" ").slice(0, 300) });
    while (lines.length > 0 && Date.now() - lines[0].t > keepMs) lines.shift();
  };
  return { lines, debug: { trace: () => undefined, debug: note("debug"), log: note("log"), info: note("info"), warn: note("warn"), error: note("error") } };
};
`;
}

/**
 * A glass page in headless Chromium: `script` (with glassPageHelpers) after the player's own
 * hls.js — its debug build, whose log lines tell what the player did before a stall — served from
 * `dir`; the page, and hls.js's version for the report. Closed by `cleanup`.
 */
export async function openGlassPage(cleanup: Cleanup, dir: string, script: string, viewport: { width: number; height: number }) {
  const require = createRequire(path.join(ROOT, "player/package.json"));
  const hlsDist = path.dirname(require.resolve("hls.js/dist/hls.js"));
  const hlsVersion = (JSON.parse(await readFile(path.join(hlsDist, "../package.json"), "utf8")) as { version: string }).version;
  const pageDir = path.join(dir, "page");
  await mkdir(pageDir, { recursive: true });
  await writeFile(path.join(pageDir, "index.html"), `<!doctype html><meta charset="utf-8"><body><script src="/hls/hls.js"></script><script>${script}</script></body>`);
  const pages = cleanup.add(await startStaticServer([{ prefix: "/hls/", dir: hlsDist }, { prefix: "/", dir: pageDir }]), (s) => s.close());
  const browser = cleanup.add(await launchChromium({ viewport }), (b) => b.close());
  const page = await browser.newPage();
  await page.goto(`${pages.origin}/index.html`);
  return { page, hlsVersion };
}

export interface GlassSource {
  readonly framesSent: number;
  stop(): Promise<void>;
}

/** Starts encoding and sending to every RTMP URL; frames go out at GLASS_FPS by the wall clock. */
export async function startGlassSource(rtmpUrls: readonly string[], kbps = 1500): Promise<GlassSource> {
  const ffmpeg = await resolveBinary("ffmpeg");
  const targets = rtmpUrls.map((url) => `[f=flv:onfail=ignore]${url}`).join("|");
  const args = [
    ...["-hide_banner", "-loglevel", "error"],
    ...["-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", `${GLASS_WIDTH}x${GLASS_HEIGHT}`, "-r", String(GLASS_FPS), "-i", "pipe:0"],
    ...["-map", "0:v", "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-pix_fmt", "yuv420p"],
    ...["-g", String(GLASS_FPS), "-keyint_min", String(GLASS_FPS), "-sc_threshold", "0"],
    ...["-b:v", `${kbps}k`, "-maxrate", `${kbps}k`, "-bufsize", `${kbps / 2}k`, "-flags", "+global_header"],
    ...["-f", "tee", targets],
  ];
  const child: ChildProcess = spawn(ffmpeg.path, args, { stdio: ["pipe", "ignore", "inherit"] });
  child.stdin!.on("error", () => undefined);
  const startedAt = Date.now();
  let sent = 0;
  let stopped = false;
  const tick = (): void => {
    if (stopped) return;
    // Catch up by frame count, never by bursts longer than a frame's worth of lateness.
    while (sent <= (Date.now() - startedAt) / (1000 / GLASS_FPS)) {
      child.stdin!.write(glassFrame(sent, Date.now()));
      sent += 1;
    }
    setTimeout(tick, Math.max(1, startedAt + (sent * 1000) / GLASS_FPS - Date.now()));
  };
  tick();
  return {
    get framesSent() {
      return sent;
    },
    async stop() {
      stopped = true;
      child.stdin!.end();
      await new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
        child.once("close", () => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}
