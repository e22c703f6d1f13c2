/**
 * Driving the built player in real headless Chromium: open it, read its state and the pixels
 * it renders, save screenshots. Shared by the player's browser tests.
 */
import { access, mkdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Scene } from "aframe";
import type { Page } from "playwright-core";
import type { Player } from "@live360/player/lib/player.js";
import { waitFor } from "@live360/testkit";

declare global {
  interface Window {
    live360?: Player;
  }
}

const here = path.dirname(fileURLToPath(import.meta.url));
/** player/dist, the built site (player/test/dist/harness.js → player/dist). */
export const PLAYER_DIST = path.resolve(here, "../../dist");
const ARTIFACTS = path.resolve(here, "../../../test-artifacts/player");

export async function requireBuiltPlayer(): Promise<void> {
  try {
    await access(path.join(PLAYER_DIST, "index.html"));
  } catch {
    throw new Error(`the player is not built (${PLAYER_DIST}/index.html missing): run npm run build at the repository root`);
  }
}

export interface PlayerSnapshot {
  state: string;
  message: string;
  notice: string;
  currentTime: number;
  paused: boolean;
  muted: boolean;
  projection: string | undefined;
  rung: { width: number; height: number } | undefined;
  latencySeconds: number | undefined;
  targetLatencySeconds: number | undefined;
  firstFrameMs: number | undefined;
}

/** What the viewer sees and what the player reports, in one read. */
export function snapshot(page: Page): Promise<PlayerSnapshot> {
  return page.evaluate(() => {
    const player = window.live360;
    const stats = player?.stats();
    const text = (selector: string): string => {
      const node = document.querySelector<HTMLElement>(selector);
      return node && !node.hidden ? (node.textContent ?? "") : "";
    };
    return {
      state: document.getElementById("live360")?.dataset.state ?? "",
      message: text(".l360-message"),
      notice: text(".l360-notice"),
      currentTime: player?.video.currentTime ?? 0,
      paused: player?.video.paused ?? true,
      muted: player?.video.muted ?? false,
      projection: stats?.projection,
      rung: stats?.rung ? { width: stats.rung.width, height: stats.rung.height } : undefined,
      latencySeconds: stats?.latencySeconds,
      targetLatencySeconds: stats?.targetLatencySeconds,
      firstFrameMs: stats?.firstFrameMs,
    };
  });
}

/**
 * Waits until the video has played `seconds` of media from where it was when first seen
 * playing, checking that time never runs backwards: playback, not wall-clock speed.
 */
export async function waitForPlayback(page: Page, seconds: number, timeoutMs = 90_000): Promise<number[]> {
  const start = await waitFor("the video to start playing", async () => {
    const s = await snapshot(page);
    return s.currentTime > 0 && !s.paused ? s.currentTime : undefined;
  }, { timeoutMs });
  const samples = [start];
  await waitFor(`${seconds} s of playback`, async () => {
    const { currentTime } = await snapshot(page);
    if (currentTime < samples[samples.length - 1]! - 0.5) throw new Error(`time went backwards: ${samples.join(", ")} then ${currentTime}`);
    samples.push(currentTime);
    return currentTime - start >= seconds;
  }, { timeoutMs, intervalMs: 250 });
  return samples;
}

export interface Frame {
  width: number;
  height: number;
  /** RGBA, top row first. */
  data: Buffer;
}

/**
 * The WebGL canvas's pixels, rendered on demand and read back in the same task (the drawing
 * buffer is not preserved between frames, so a later read could see nothing).
 */
export async function readCanvas(page: Page): Promise<Frame> {
  // A background tab gets no animation frames, so its camera would not follow lookAt().
  await page.bringToFront();
  const { width, height, base64 } = await page.evaluate(async () => {
    for (let i = 0; i < 2; i++) await new Promise((resolve) => requestAnimationFrame(resolve));
    const scene = document.querySelector("a-scene") as unknown as Scene;
    scene.renderer.render(scene.object3D, scene.camera);
    const gl = scene.renderer.getContext();
    const w = gl.drawingBufferWidth;
    const h = gl.drawingBufferHeight;
    const pixels = new Uint8Array(w * h * 4);
    gl.readPixels(0, 0, w, h, gl.RGBA, gl.UNSIGNED_BYTE, pixels);
    let binary = "";
    for (let i = 0; i < pixels.length; i += 0x8000) binary += String.fromCharCode(...pixels.subarray(i, i + 0x8000));
    return { width: w, height: h, base64: btoa(binary) };
  });
  // readPixels starts at the bottom row; flip so that y grows downwards like the screen.
  const raw = Buffer.from(base64, "base64");
  const data = Buffer.alloc(raw.length);
  const stride = width * 4;
  for (let y = 0; y < height; y++) raw.copy(data, y * stride, (height - 1 - y) * stride, (height - y) * stride);
  return { width, height, data };
}

export function pixel(frame: Frame, x: number, y: number): [number, number, number] {
  const o = (Math.round(y) * frame.width + Math.round(x)) * 4;
  return [frame.data[o]!, frame.data[o + 1]!, frame.data[o + 2]!];
}

/** Mean of |a-b| over RGB in a rectangle of two frames of the same size. */
export function meanDifference(a: Frame, b: Frame, box = { x0: 0, y0: 0, x1: a.width, y1: a.height }): number {
  let sum = 0;
  let n = 0;
  for (let y = box.y0; y < box.y1; y++) {
    for (let x = box.x0; x < box.x1; x++) {
      const o = (y * a.width + x) * 4;
      for (let c = 0; c < 3; c++) sum += Math.abs(a.data[o + c]! - b.data[o + c]!);
      n += 3;
    }
  }
  return sum / n;
}

/**
 * Reads the canvas until its picture differs from `from` by more than `minDifference` (mean
 * |a-b| per channel) and returns that frame. A loaded machine can show a video frame on the
 * sphere some time after the element's currentTime has passed it, so one read a second later
 * proves little either way; a picture that never changes within the timeout is frozen.
 */
export async function waitForPictureChange(page: Page, from: Frame, minDifference = 1, timeoutMs = 30_000): Promise<Frame> {
  let largest = 0;
  try {
    return await waitFor("the picture on the sphere to change", async () => {
      const frame = await readCanvas(page);
      const difference = meanDifference(from, frame);
      largest = Math.max(largest, difference);
      return difference > minDifference ? frame : undefined;
    }, { timeoutMs, intervalMs: 250 });
  } catch (err) {
    throw new Error(`${(err as Error).message} (largest mean difference seen: ${largest.toFixed(2)}, needed > ${minDifference})`);
  }
}

export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

/** Turns the view to an absolute yaw/pitch in degrees (positive yaw: left, positive pitch: up). */
export async function lookAt(page: Page, yawDeg: number, pitchDeg: number): Promise<void> {
  await page.evaluate(
    ([yaw, pitch]) => {
      const player = window.live360!;
      const now = player.rotation();
      player.rotateBy((yaw! * Math.PI) / 180 - now.yaw, (pitch! * Math.PI) / 180 - now.pitch);
    },
    [yawDeg, pitchDeg],
  );
}
