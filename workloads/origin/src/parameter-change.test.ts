/**
 * A publisher whose video changes resolution mid-stream (an encoder reconfigured live, OBS
 * switching its output size), against a real origin process: the ladder is replaced after a
 * discontinuity and goes on with the new source, the master playlist describes the new media,
 * the recording is split into parts that each hold one set of codec parameters, and re-sent
 * unchanged headers change nothing. Then an encoder reconnecting within the grace with other
 * parameters gets a recording of its own.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { readdir } from "node:fs/promises";
import path from "node:path";
import { parseMediaPlaylist, probe } from "@live360/core";
import {
  RtmpTestClient,
  freePort,
  getText,
  makeTestClip,
  readFlvTags,
  sendFlvTagsLive,
  startOriginProcess,
  tempDir,
  waitFor,
  type FlvFileTag,
  type OriginProcess,
} from "@live360/testkit";
import { metric } from "./healthy-origin.fixture.js";

const STREAM = "reconfigured";

describe("codec parameters changing mid-stream", () => {
  let dir: string;
  let origin: OriginProcess;
  let large: FlvFileTag[];
  let small: FlvFileTag[];

  const playlist = async (variant: string) => parseMediaPlaylist((await getText(`${origin.http}/hls/${STREAM}/${variant}/index.m3u8`)).body);
  const sizeOf = async (variant: string, uri: string): Promise<string> => {
    const file = path.join(origin.dataDir, "hls", STREAM, variant, uri);
    const video = (await probe(file)).streams.find((s) => s.codec_type === "video")!;
    return `${video.width}x${video.height}`;
  };
  const recordings = async (): Promise<string[]> => (await readdir(path.join(origin.dataDir, "recordings"))).filter((f) => f.endsWith(".mp4")).sort();

  beforeAll(async () => {
    dir = await tempDir("parameter-change");
    large = await readFlvTags(await makeTestClip(dir, { seconds: 4, gopSeconds: 1, width: 640, height: 320 }));
    small = await readFlvTags(await makeTestClip(dir, { seconds: 4, gopSeconds: 1, width: 320, height: 160 }));
    origin = await startOriginProcess({
      name: "origin", rtmpPort: await freePort(), httpPort: await freePort(), dataDir: path.join(dir, "data"), stream: STREAM,
      ladder: "source,240x120:200k", args: ["--low-latency", "--reconnect-grace", "30", "--window", "30"],
    });
  }, 120_000);

  afterAll(async () => {
    await origin?.process.stop();
  }, 60_000);

  test("a resolution change: discontinuity, the ladder goes on from the new source, the master describes it, the recording splits", async () => {
    const client = await RtmpTestClient.connect(origin.rtmpPort);
    expect((await client.publish("live", STREAM, { port: origin.rtmpPort }))?.code).toBe("NetStream.Publish.Start");
    // The first clip twice: its headers re-sent unchanged must not restart anything.
    await sendFlvTagsLive(client, large, 0, 2);
    await sendFlvTagsLive(client, large, 4000, 2);
    await waitFor("segments of the first source", async () => (await playlist("source")).segments.length >= 4, { timeoutMs: 30_000 });
    await waitFor("the master playlist", async () => (await getText(`${origin.http}/hls/${STREAM}/master.m3u8`)).body.includes("RESOLUTION=640x320"), { timeoutMs: 20_000 });
    const recordingsBefore = await recordings();

    // Paced (at twice real time) like an encoder: the new ladder starts from the change on.
    const sending = (async () => {
      await sendFlvTagsLive(client, small, 8000, 2);
      await sendFlvTagsLive(client, small, 12_000, 2);
    })();
    /** A variant's segments before and after its discontinuity, once two follow it. */
    const aroundDiscontinuity = (variant: string) =>
      waitFor(`${variant}: segments after a discontinuity`, async () => {
        const { segments } = await playlist(variant);
        const cut = segments.findIndex((s) => s.discontinuity);
        return cut > 0 && segments.length - cut >= 2 ? { before: segments.slice(0, cut), after: segments.slice(cut) } : undefined;
      }, { timeoutMs: 30_000 });
    const [source, lower] = await Promise.all([aroundDiscontinuity("source"), aroundDiscontinuity("120p")]);
    await sending;
    expect(await sizeOf("source", source.before.at(-1)!.uri)).toBe("640x320");
    expect(await sizeOf("source", source.after[0]!.uri)).toBe("320x160");
    // The transcoded rung keeps its size, now scaled from the new source.
    expect(await sizeOf("120p", lower.after[0]!.uri)).toBe("240x120");
    await waitFor("the master playlist describing the new source", async () => (await getText(`${origin.http}/hls/${STREAM}/master.m3u8`)).body.includes("RESOLUTION=320x160"), { timeoutMs: 20_000 });
    // A replaced ladder is no FFmpeg death.
    expect(await metric(origin.http, "live360_origin_ffmpeg_restarts_total", `stream="${STREAM}"`)).toBe(0);

    // The part before the change is finalized while the stream goes on.
    const [firstPart] = await waitFor("the first recording part", async () => {
      const now = (await recordings()).filter((f) => !recordingsBefore.includes(f));
      return now.length >= 1 ? now : undefined;
    }, { timeoutMs: 30_000 });
    await client.close();
    const parts = await waitFor("both recording parts", async () => {
      const now = (await recordings()).filter((f) => !recordingsBefore.includes(f));
      return now.length === 2 ? now : undefined;
    }, { timeoutMs: 30_000 });
    expect(parts[0]).toBe(firstPart);
    const described = await Promise.all(parts.map(async (file) => {
      const info = await probe(path.join(origin.dataDir, "recordings", file));
      const video = info.streams.find((s) => s.codec_type === "video")!;
      return { size: `${video.width}x${video.height}`, seconds: Math.round(Number(info.format.duration)), audio: info.streams.some((s) => s.codec_type === "audio") };
    }));
    expect(described).toEqual([
      { size: "640x320", seconds: 8, audio: true },
      { size: "320x160", seconds: 8, audio: true },
    ]);
  }, 120_000);

  test("an encoder reconnecting within the grace with other parameters: playlists continue after a discontinuity, a recording of its own", async () => {
    const before = await recordings();
    const client = await RtmpTestClient.connect(origin.rtmpPort);
    expect((await client.publish("live", STREAM, { port: origin.rtmpPort }))?.code).toBe("NetStream.Publish.Start");
    await sendFlvTagsLive(client, large, 0, 2);
    await sendFlvTagsLive(client, large, 4000, 2);
    await waitFor("the reconnected stream's 640x320 segments", async () => {
      const { segments } = await playlist("source");
      const newest = segments.at(-1);
      return newest !== undefined && !newest.discontinuity && (await sizeOf("source", newest.uri)) === "640x320";
    }, { timeoutMs: 30_000 });
    // Nothing of the previous publisher's (NMS keeps its headers and GOP across a reconnect) opens the new run.
    const { segments } = await playlist("source");
    const seam = segments.findLastIndex((s) => s.discontinuity);
    expect(seam).toBeGreaterThan(0);
    expect(await sizeOf("source", segments[seam]!.uri)).toBe("640x320");
    await client.close();
    const [own] = await waitFor("its recording", async () => {
      const now = (await recordings()).filter((f) => !before.includes(f));
      return now.length === 1 ? now : undefined;
    }, { timeoutMs: 30_000 });
    const info = await probe(path.join(origin.dataDir, "recordings", own!));
    expect(info.streams.find((s) => s.codec_type === "video")).toMatchObject({ width: 640, height: 320 });
    expect(Math.round(Number(info.format.duration))).toBe(8);
  }, 120_000);
});
