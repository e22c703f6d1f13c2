/**
 * GStreamer as the encoder (the ingest must take OBS-like encoders other than FFmpeg): one
 * pipeline pushing the same x264enc Constrained Baseline + AAC stream to a primary and a backup
 * origin at once through two rtmp2sink branches of a tee, as a redundant encoder setup does.
 * Both origins must make HLS of it, and advertise the codec their segments' SPS really has
 * (GStreamer's x264 sets constraint_set1 only: avc1.42C0xx, which a profile-name table got wrong).
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import path from "node:path";
import {
  freePort,
  getText,
  readFlvTags,
  startOriginProcess,
  startProcess,
  tempDir,
  waitFor,
  type ManagedProcess,
  type OriginProcess,
} from "@live360/testkit";

const VIDEO = "videotestsrc is-live=true pattern=smpte ! video/x-raw,width=640,height=320,framerate=25/1 ! x264enc tune=zerolatency speed-preset=veryfast key-int-max=25 bitrate=800 ! video/x-h264,profile=constrained-baseline ! h264parse";
const AUDIO = "audiotestsrc is-live=true wave=sine freq=1000 ! audioconvert ! audioresample ! avenc_aac bitrate=96000 ! aacparse";

/** gst-launch arguments: the encoded video and audio into a tee, one flvmux + sink per output. */
function pipeline(outputs: readonly string[]): string[] {
  const branches = outputs.flatMap((sink, i) => [`tv.`, "!", "queue", "!", `m${i}.`, `ta.`, "!", "queue", "!", `m${i}.`, `flvmux`, `name=m${i}`, "streamable=true", "!", ...sink.split(" ")]);
  return ["-q", ...VIDEO.split(" "), "!", "tee", "name=tv", ...AUDIO.split(" "), "!", "tee", "name=ta", ...branches];
}

describe("GStreamer publishing to a primary and a backup origin at once", () => {
  let dir: string;
  const origins: OriginProcess[] = [];
  let encoder: ManagedProcess;
  let sourceCodec: string;

  beforeAll(async () => {
    dir = await tempDir("gstreamer");
    // The codec string the encoder's own sequence header declares, read from an FLV file it wrote.
    const flv = path.join(dir, "gst.flv");
    const writer = startProcess("gst-launch-1.0", pipeline([`filesink location=${flv}`]).map((a) => a.replace("is-live=true", "num-buffers=50")));
    const written = await Promise.race([writer.exited, new Promise((resolve) => setTimeout(resolve, 60_000, "timeout"))]);
    await writer.stop();
    expect(written).toMatchObject({ code: 0 });
    const header = (await readFlvTags(flv)).find((t) => t.type === 9 && t.body[1] === 0)!;
    const hex = (n: number): string => n.toString(16).toUpperCase().padStart(2, "0");
    // The record's profile, compatibility and level bytes copy the SPS's.
    sourceCodec = `avc1.${hex(header.body[6]!)}${hex(header.body[7]!)}${hex(header.body[8]!)}`;
    for (const name of ["primary", "backup"]) {
      origins.push(await startOriginProcess({ name, rtmpPort: await freePort(), httpPort: await freePort(), dataDir: path.join(dir, name), ladder: "source,320x160:300k" }));
    }
    encoder = startProcess("gst-launch-1.0", pipeline(origins.map((o) => `rtmp2sink location=${o.rtmp}`)));
  }, 120_000);

  afterAll(async () => {
    await encoder?.stop();
    for (const origin of origins) await origin.process.stop();
  }, 60_000);

  test("the encoder's header is Constrained Baseline as x264 writes it (constraint_set0 and set1: 42C0)", () => {
    expect(sourceCodec).toMatch(/^avc1\.42C0[0-9A-F]{2}$/);
  });

  test("both origins make HLS from it, and the source rung's CODECS is the SPS's own profile, flags and level", async () => {
    for (const origin of origins) {
      const master = await waitFor(`${origin.name}'s master playlist`, async () => {
        const { status, body } = await getText(`${origin.http}/hls/test/master.m3u8`);
        return status === 200 ? body : undefined;
      }, { timeoutMs: 60_000, intervalMs: 500 });
      const entries = master.split("\n").filter((l) => l.startsWith("#EXT-X-STREAM-INF:"));
      expect(entries).toHaveLength(2);
      expect(entries[0]).toContain("RESOLUTION=640x320");
      expect(entries[0]).toContain(`CODECS="${sourceCodec},mp4a.40.2"`);
      // The transcoded rung is the origin's own x264 (veryfast: High profile).
      expect(entries[1]).toMatch(/CODECS="avc1\.6400[0-9A-F]{2},mp4a\.40\.2"/);
      const media = (await getText(`${origin.http}/hls/test/source/index.m3u8`)).body;
      expect(media.split("\n").filter((l) => l.endsWith(".ts")).length).toBeGreaterThan(0);
    }
    expect(encoder.child.exitCode).toBeNull();
  }, 120_000);
});
