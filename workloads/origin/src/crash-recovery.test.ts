/**
 * An origin process SIGKILLed mid-recording (an OOM kill, a node lost): nothing of the recording
 * is lost but the last moments before the kill. The origin started again on the same data
 * directory finalizes the raw recording it finds and delivers it. A case of the fault matrix
 * (test/kit/src/fault-matrix.ts), the one without a healthy stream: the kill ends every stream.
 */
import { afterAll, describe, expect, test } from "@jest/globals";
import { readdir } from "node:fs/promises";
import path from "node:path";
import { probe } from "@live360/core";
import { freePort, makeTestClip, publishFile, reportFault, startOriginProcess, tempDir, waitFor, type OriginProcess } from "@live360/testkit";

describe("an origin killed mid-recording", () => {
  const started: OriginProcess[] = [];

  afterAll(async () => {
    for (const origin of started) await origin.process.stop();
  }, 60_000);

  test("SIGKILL after 8 s of a stream: the restarted origin delivers the recording, all but its last seconds", async () => {
    const dir = await tempDir("crash");
    const clip = await makeTestClip(dir, { seconds: 4, gopSeconds: 1, width: 320, height: 160, videoKbps: 300 });
    const ports = { rtmpPort: await freePort(), httpPort: await freePort() };
    const dataDir = path.join(dir, "data");
    const first = await startOriginProcess({ name: "origin", ...ports, dataDir, stream: "crash" });
    started.push(first);
    const publisher = await publishFile(clip, first.rtmp, { loop: true });
    const publishedAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 8000));
    first.process.child.kill("SIGKILL");
    const publishedSeconds = (Date.now() - publishedAt) / 1000;
    await publisher.exited;
    await first.process.stop();
    const recordingsDir = path.join(dataDir, "recordings");
    expect((await readdir(path.join(recordingsDir, ".incoming"))).filter((f) => f.endsWith(".flv"))).toHaveLength(1);

    const second = await startOriginProcess({ name: "origin", ...ports, dataDir, stream: "crash" });
    started.push(second);
    const [delivered] = await waitFor("the recovered recording", async () => {
      const mp4s = (await readdir(recordingsDir)).filter((f) => /^crash-\d{8}T\d{6}Z\.mp4$/.test(f));
      return mp4s.length > 0 ? mp4s : undefined;
    }, { timeoutMs: 30_000 });
    const info = await probe(path.join(recordingsDir, delivered!));
    const seconds = Number(info.format.duration);
    console.log(`crash recovery: ${publishedSeconds.toFixed(1)} s published before the SIGKILL, ${seconds.toFixed(1)} s delivered after the restart`);
    // What the kill can cost: the tags still in flight (batched for at most 40 ms) and FFmpeg's start-up.
    expect(seconds).toBeGreaterThan(publishedSeconds - 2);
    expect(info.streams.map((s) => s.codec_type).sort()).toEqual(["audio", "video"]);
    expect((await readdir(path.join(recordingsDir, ".incoming"))).filter((f) => f.endsWith(".flv"))).toEqual([]);
    await reportFault({
      case: "origin-sigkill-mid-recording",
      fault: "the origin process SIGKILLed 8 s into a stream, then started again on the same data directory",
      healthyStream: { notApplicable: "the kill ends every stream of the process" },
      lost: `the recording's last ${Math.max(0, publishedSeconds - seconds).toFixed(1)} s: ${publishedSeconds.toFixed(1)} s published before the kill, ${seconds.toFixed(1)} s delivered after the restart`,
      survived: false,
      recovery: "the restarted origin finalized and delivered the raw recording it found",
      measured: { publishedSeconds: Number(publishedSeconds.toFixed(2)), deliveredSeconds: Number(seconds.toFixed(2)) },
    });
  }, 120_000);
});
