import { spawn, type ChildProcess } from "node:child_process";
import { rm, stat } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { createLogger, parseFrameRate, probe, resolveBinary } from "@live360/core";
import { freePort, keyframeTimes, tempDir, videoFrameHashes, waitFor } from "@live360/testkit";
import { startTestSource, type TestSource, type TestSourceOutcome } from "./test-source.js";

const quiet = createLogger("test", { level: "error" });

/**
 * A real RTMP server for one publish: `ffmpeg -listen 1` accepts a publisher and stores
 * exactly what arrives, and exits when the publisher leaves. Killing it is "the origin went away".
 * Its warnings include one for a publisher whose stream name differs from the one it listens for.
 */
class RtmpReceiver {
  readonly exited: Promise<number | null>;
  private stderr = "";
  private constructor(
    readonly process: ChildProcess,
    readonly file: string,
  ) {
    this.exited = new Promise((resolve) => process.once("close", (code) => resolve(code)));
    process.stderr!.on("data", (d: Buffer) => (this.stderr += d.toString()));
  }

  static async listen(url: string, file: string): Promise<RtmpReceiver> {
    const ffmpeg = await resolveBinary("ffmpeg");
    const args = ["-hide_banner", "-loglevel", "warning", "-listen", "1", "-i", url, "-map", "0", "-c", "copy", "-f", "flv", file];
    return new RtmpReceiver(spawn(ffmpeg.path, args, { stdio: ["ignore", "ignore", "pipe"] }), file);
  }

  warnings(): string {
    return this.stderr;
  }

  kill(): Promise<number | null> {
    if (this.process.exitCode === null && this.process.signalCode === null) this.process.kill("SIGKILL");
    return this.exited;
  }
}

function next<T extends unknown[]>(source: TestSource, event: "publishing" | "disconnected", timeoutMs = 60_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${timeoutMs} ms`)), timeoutMs);
    source.once(event, (...args: unknown[]) => {
      clearTimeout(timer);
      resolve(args as T);
    });
  });
}

describe("test source publishing to a real RTMP receiver", () => {
  let dir: string;
  const receivers: RtmpReceiver[] = [];
  const sources: TestSource[] = [];

  beforeAll(async () => {
    dir = await tempDir("test-source");
  });

  afterAll(async () => {
    await Promise.all(sources.map((s) => s.close()));
    await Promise.all(receivers.map((r) => r.kill()));
    await rm(dir, { recursive: true, force: true });
  });

  test("sends the configured size, rate, codecs and keyframe interval, and ends cleanly after --duration", async () => {
    const url = `rtmp://127.0.0.1:${await freePort()}/live/test`;
    const receiver = await RtmpReceiver.listen(url, path.join(dir, "duration.flv"));
    receivers.push(receiver);
    const source = await startTestSource(
      { urls: [url], width: 640, height: 320, fps: 25, keyframeIntervalSeconds: 1, videoBitrateKbps: 800, durationSeconds: 4 },
      { logger: quiet },
    );
    sources.push(source);
    const ended: TestSourceOutcome[] = [];
    source.on("ended", (o) => ended.push(o));

    await expect(source.done).resolves.toEqual({ reason: "duration" });
    expect(ended).toEqual([{ reason: "duration" }]);
    // The receiver sees a clean end of stream, not a dropped connection.
    await expect(receiver.exited).resolves.toBe(0);

    const info = await probe(receiver.file);
    const video = info.streams.find((s) => s.codec_type === "video");
    const audio = info.streams.find((s) => s.codec_type === "audio");
    expect(video).toMatchObject({ codec_name: "h264", width: 640, height: 320 });
    expect(parseFrameRate(video?.avg_frame_rate)).toBeCloseTo(25, 3);
    expect(audio).toMatchObject({ codec_name: "aac" });
    expect(Number(info.format.duration)).toBeGreaterThan(3.5);
    expect(Number(info.format.duration)).toBeLessThan(4.6);
    expect(source.framesSent).toBeGreaterThanOrEqual(95);

    const keyframes = await keyframeTimes(receiver.file);
    expect(keyframes.length).toBeGreaterThanOrEqual(4);
    for (let i = 1; i < keyframes.length; i++) expect(keyframes[i]! - keyframes[i - 1]!).toBeCloseTo(1, 2);
  }, 120_000);

  test("reconnects with backoff after the receiver is killed, and keeps publishing to its replacement", async () => {
    const url = `rtmp://127.0.0.1:${await freePort()}/live/test`;
    const first = await RtmpReceiver.listen(url, path.join(dir, "first.flv"));
    receivers.push(first);
    const source = await startTestSource(
      { urls: [url], width: 320, height: 160, fps: 15, videoBitrateKbps: 300, reconnectInitialDelayMs: 200, reconnectMaxDelayMs: 1000 },
      { logger: quiet },
    );
    sources.push(source);
    const reconnecting: number[] = [];
    source.on("reconnecting", (attempt) => reconnecting.push(attempt));
    await waitFor("frames to flow to the first receiver", () => source.framesSent >= 15, { timeoutMs: 60_000 });

    const lost = next<[Error]>(source, "disconnected");
    await first.kill();
    const [error] = await lost;
    expect(error.message).toMatch(/test-source/);
    // While nobody listens, attempts keep failing and are retried.
    await waitFor("repeated reconnect attempts", () => reconnecting.length >= 2, { timeoutMs: 30_000 });
    const framesBefore = source.framesSent;

    const republished = next<[number]>(source, "publishing");
    const second = await RtmpReceiver.listen(url, path.join(dir, "second.flv"));
    receivers.push(second);
    await republished;
    await waitFor("frames to flow to the second receiver", () => source.framesSent >= framesBefore + 15, { timeoutMs: 60_000 });
    // The frame counter carries on across connections instead of restarting at 0.
    expect(source.framesSent).toBeGreaterThan(framesBefore);
    expect(source.reconnects).toBeGreaterThanOrEqual(2);

    await source.close();
    await expect(source.done).resolves.toEqual({ reason: "closed" });
    await expect(second.exited).resolves.toBe(0);
    expect((await stat(second.file)).size).toBeGreaterThan(0);
    const video = (await probe(second.file)).streams.find((s) => s.codec_type === "video");
    expect(video).toMatchObject({ codec_name: "h264", width: 320, height: 160 });
  }, 180_000);

  test("several URLs: one encode reaches each receiver, URLs with the tee's special characters intact, and each ends cleanly", async () => {
    // The tee splits its outputs at `|` and unescapes `\` and `'`: sent as they are, these URLs
    // would be cut in two or lose characters, and the receivers would warn of an unexpected stream.
    const urls = [`rtmp://127.0.0.1:${await freePort()}/live/a|b'c`, `rtmp://127.0.0.1:${await freePort()}/live/[d]\\e`];
    const both = await Promise.all(urls.map((url, i) => RtmpReceiver.listen(url, path.join(dir, `tee-${i}.flv`))));
    receivers.push(...both);
    const source = await startTestSource(
      { urls, width: 320, height: 160, fps: 15, keyframeIntervalSeconds: 1, videoBitrateKbps: 300, durationSeconds: 3 },
      { logger: quiet },
    );
    sources.push(source);
    await expect(source.done).resolves.toEqual({ reason: "duration" });
    for (const receiver of both) {
      await expect(receiver.exited).resolves.toBe(0);
      expect(receiver.warnings()).not.toMatch(/Unexpected stream/);
      const info = await probe(receiver.file);
      expect(info.streams.find((s) => s.codec_type === "video")).toMatchObject({ codec_name: "h264", width: 320, height: 160 });
      expect(Number(info.format.duration)).toBeGreaterThan(2.5);
    }
    expect(source.reconnects).toBe(0);
  }, 120_000);

  test("several URLs: keeps encoding while no receiver is up, and one that comes up later gets a decodable stream", async () => {
    const urls = [`rtmp://127.0.0.1:${await freePort()}/live/test`, `rtmp://127.0.0.1:${await freePort()}/live/test`];
    const source = await startTestSource({ urls, width: 320, height: 160, fps: 15, keyframeIntervalSeconds: 1, videoBitrateKbps: 300 }, { logger: quiet });
    sources.push(source);
    const disconnects: Error[] = [];
    source.on("disconnected", (error) => disconnects.push(error));
    await waitFor("frames encoded with no receiver up", () => source.framesSent >= 30, { timeoutMs: 60_000 });

    const late = await RtmpReceiver.listen(urls[1]!, path.join(dir, "late.flv"));
    receivers.push(late);
    const framesAtListen = source.framesSent;
    await waitFor("three more seconds of frames", () => source.framesSent >= framesAtListen + 45, { timeoutMs: 60_000 });
    await source.close();
    await expect(late.exited).resolves.toBe(0);
    const info = await probe(late.file);
    expect(info.streams.find((s) => s.codec_type === "video")).toMatchObject({ codec_name: "h264", width: 320, height: 160 });
    expect(info.streams.find((s) => s.codec_type === "audio")).toMatchObject({ codec_name: "aac" });
    expect((await videoFrameHashes(late.file)).length).toBeGreaterThanOrEqual(15);
    // The unreachable receivers were FFmpeg's own business: it never exited, so nothing restarted it.
    expect(disconnects).toEqual([]);
    expect(source.reconnects).toBe(0);
  }, 120_000);

  test("without its font it warns and publishes the pattern without text", async () => {
    const url = `rtmp://127.0.0.1:${await freePort()}/live/test`;
    const receiver = await RtmpReceiver.listen(url, path.join(dir, "nofont.flv"));
    receivers.push(receiver);
    const lines: string[] = [];
    const logger = createLogger("test", { level: "warn", sink: (line) => lines.push(line) });
    const source = await startTestSource(
      { urls: [url], width: 320, height: 160, fps: 15, durationSeconds: 2, fontFile: path.join(dir, "missing-font.ttf") },
      { logger },
    );
    sources.push(source);
    await expect(source.done).resolves.toEqual({ reason: "duration" });
    await expect(receiver.exited).resolves.toBe(0);
    const warning = lines.map((l) => JSON.parse(l) as { level: string; msg: string; reason?: string }).find((l) => l.level === "warn");
    expect(warning?.msg).toBe("publishing without the timecode and labels");
    expect(warning?.reason).toMatch(/missing-font\.ttf is missing/);
    const video = (await probe(receiver.file)).streams.find((s) => s.codec_type === "video");
    expect(video).toMatchObject({ codec_name: "h264", width: 320, height: 160 });
  }, 120_000);
});
