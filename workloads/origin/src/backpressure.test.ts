/**
 * Slow consumers and full disks, against a real origin process beside a healthy stream: a
 * publisher pushing media flat out (far faster than FFmpeg transcodes it) must not grow the
 * origin's memory without bound — the ladder skips to a keyframe, counted — and a recordings
 * volume that fills up fails the recording loudly, at once, while live HLS goes on and nothing
 * half-written is delivered. Both are cases of the fault matrix (test/kit/src/fault-matrix.ts).
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { execFile } from "node:child_process";
import { mkdir, readFile, readdir, stat } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { probe } from "@live360/core";
import { RtmpTestClient, getText, makeTestClip, readFlvTags, sendFlvTags, tempDir, waitFor, watchPlaylist, type FlvFileTag, type OriginProcess } from "@live360/testkit";
import { OriginWithHealthyStream, healthyOriginSuite, metric } from "./healthy-origin.fixture.js";

const execFileAsync = promisify(execFile);

async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

async function recordingResults(origin: OriginProcess): Promise<{ delivered: number; failed: number }> {
  return {
    delivered: await metric(origin.http, "live360_origin_recordings_total", 'result="delivered"'),
    failed: await metric(origin.http, "live360_origin_recordings_total", 'result="failed"'),
  };
}

async function liveStreams(origin: OriginProcess): Promise<string[]> {
  return (JSON.parse((await getText(`${origin.http}/stat`)).body) as { streams: { stream: string }[] }).streams.map((s) => s.stream);
}

describe("a publisher far faster than real time", () => {
  const suite = healthyOriginSuite("backpressure", { seconds: 4, gopSeconds: 1, width: 640, height: 320, videoKbps: 1500 }, ["--ladder", "source,320x160:300k"]);
  let fixture: OriginWithHealthyStream;
  let origin: OriginProcess;
  let tags: FlvFileTag[];

  beforeAll(async () => {
    ({ fixture, origin } = suite);
    tags = await readFlvTags(suite.clip);
  });

  test("≈ 100 MB pushed flat out: the ladder skips to keyframes (counted), memory stays bounded, the stream is gone after its grace", async () => {
    await fixture.faultCase("publisher-faster-than-real-time", "≈ 100 MB (130 × a 4 s clip, 8.7 min of media) pushed over RTMP as fast as the socket takes it", async () => {
      const pid = origin.process.child.pid!;
      const baseline = await rssBytes(pid);
      const skipsBefore = await metric(origin.http, "live360_origin_ladder_skips_total");
      const recordingsBefore = await recordingResults(origin);
      const client = await RtmpTestClient.connect(origin.rtmpPort);
      expect((await client.publish("live", "flood", { port: origin.rtmpPort }))?.code).toBe("NetStream.Publish.Start");
      // What of the flood a player could have seen, until the stream expires.
      const floodWatch = watchPlaylist(`${origin.http}/hls/flood/source/index.m3u8`);
      let peak = baseline;
      const sampler = setInterval(() => void rssBytes(pid).then((rss) => (peak = Math.max(peak, rss)), () => undefined), 100);
      const clipMs = tags.at(-1)!.timestampMs + 40;
      const copies = 130;
      try {
        // 130 copies of a 4 s clip at ≈ 1.6 Mbit/s: over 8 minutes of media in a few seconds.
        for (let copy = 0; copy < copies; copy++) {
          sendFlvTags(client, tags, copy * clipMs);
          // Lets the socket drain now and then, so the test's own buffers stay small.
          if (copy % 10 === 9) await new Promise((resolve) => setTimeout(resolve, 50));
        }
        await waitFor("the ladder to skip", async () => (await metric(origin.http, "live360_origin_ladder_skips_total")) > skipsBefore, { timeoutMs: 60_000, intervalMs: 250 });
        await fixture.expectHealthy();
      } finally {
        await client.close();
        clearInterval(sampler);
      }
      const growthMiB = (peak - baseline) / 1024 / 1024;
      console.log(`origin RSS: ${Math.round(baseline / 1024 / 1024)} MiB before, ${Math.round(peak / 1024 / 1024)} MiB peak under the flood (+${Math.round(growthMiB)} MiB)`);
      // Bounded by design: the ladder's backlog (16 MiB), a GOP, NMS's buffers; it grew to 1.7 GB before.
      expect(growthMiB).toBeLessThan(256);
      // Ended and expired within its 1 s grace plus FFmpeg's own finishing (bounded at 5 s).
      await waitFor("the flood stream to expire", async () => !(await liveStreams(origin)).includes("flood"), { timeoutMs: 15_000, intervalMs: 250 });
      const flood = await floodWatch.stop();
      const skips = (await metric(origin.http, "live360_origin_ladder_skips_total")) - skipsBefore;
      // What the recording kept of it. Measured, not asserted: a disk slower than the flood fails
      // the recording by design (the full-disk case below), and that is what would be reported.
      const after = await waitFor("the flood's recording to be finished", async () => {
        const now = await recordingResults(origin);
        return now.delivered > recordingsBefore.delivered || now.failed > recordingsBefore.failed ? now : undefined;
      }, { timeoutMs: 60_000, intervalMs: 500 });
      const pushedSeconds = (copies * clipMs) / 1000;
      const mp4 = (await readdir(path.join(origin.dataDir, "recordings"))).find((f) => /^flood-\d{8}T\d{6}Z\.mp4$/.test(f));
      const recordedSeconds = after.delivered > recordingsBefore.delivered && mp4 ? Number((await probe(path.join(origin.dataDir, "recordings", mp4))).format.duration) : 0;
      return {
        lost: `that stream's live HLS: ${flood.listedMediaSeconds.toFixed(1)} of ${pushedSeconds.toFixed(1)} s pushed reached a playlist (the ladder skipped to a keyframe ${skips === 1 ? "once" : `${skips} times`}: a backlog it cannot transcode in time is dropped, by design); its recording: ${recordedSeconds.toFixed(1)} s${recordedSeconds === 0 ? " (failed)" : ""}; origin RSS +${Math.round(growthMiB)} MiB`,
        measured: { ladderSkips: skips, pushedSeconds, liveSeconds: Number(flood.listedMediaSeconds.toFixed(2)), recordedSeconds, rssGrowthMiB: Math.round(growthMiB) },
      };
    });
  }, 180_000);
});

describe("a full recordings volume", () => {
  let dir: string;
  let fixture: OriginWithHealthyStream;
  let origin: OriginProcess;
  let recordingsDir: string;

  beforeAll(async () => {
    dir = await tempDir("full-disk");
    recordingsDir = path.join(dir, "data", "recordings");
    await mkdir(recordingsDir, { recursive: true });
    // A real full disk: a 3 MiB tmpfs (needs root, as `make test` runs; it fails loudly otherwise).
    await execFileAsync("mount", ["-t", "tmpfs", "-o", "size=3m", "tmpfs", recordingsDir]);
    const clip = await makeTestClip(dir, { seconds: 4, gopSeconds: 1, width: 640, height: 320, videoKbps: 1500 });
    fixture = await OriginWithHealthyStream.start(clip, path.join(dir, "data"), []);
    origin = fixture.origin;
  }, 120_000);

  afterAll(async () => {
    await fixture?.stop();
    await execFileAsync("umount", [recordingsDir]).catch(() => undefined);
  }, 60_000);

  test("the recording fails loudly while the stream is live, HLS goes on, and nothing half-written is delivered", async () => {
    // The healthy stream is the one whose recording fills the disk: its live HLS must go on.
    await fixture.faultCase("disk-full", "the recordings volume full (a 3 MiB tmpfs) under the healthy stream itself: its own recording fails", async () => {
      // ≈ 1.6 Mbit/s fills 3 MiB in about 15 s; the failure is counted then, not when the stream ends.
      await waitFor("the recording failure", async () => (await metric(origin.http, "live360_origin_recordings_total", 'result="failed"')) >= 1, { timeoutMs: 60_000, intervalMs: 500 });
      expect(await liveStreams(origin)).toEqual(["healthy"]);
      expect(origin.process.output()).toMatch(/"msg":"recording failed; live HLS goes on[^"]*".*ENOSPC/);
      const uptime = (JSON.parse((await getText(`${origin.http}/stat`)).body) as { streams: { uptimeSeconds: number }[] }).streams[0]!.uptimeSeconds;
      const raw = (await readdir(path.join(recordingsDir, ".incoming"))).find((f) => /^healthy-.*\.flv(\.failed)?$/.test(f));
      const rawMiB = raw ? (await stat(path.join(recordingsDir, ".incoming", raw))).size / 1024 / 1024 : 0;
      return {
        lost: `the stream's whole recording: ${rawMiB.toFixed(1)} MiB raw written before ENOSPC (the stream ${uptime} s old), kept aside as .flv.failed, never delivered; live HLS: nothing`,
        measured: { rawMiB: Number(rawMiB.toFixed(2)), streamSecondsAtCheck: uptime },
      };
    });
    await fixture.stopPublisher();
    const kept = await waitFor("the failed raw file kept aside", async () => {
      const incoming = await readdir(path.join(recordingsDir, ".incoming"));
      return incoming.find((f) => f.endsWith(".flv.failed"));
    }, { timeoutMs: 30_000 });
    expect(kept).toMatch(/^healthy-\d{8}T\d{6}Z\.flv\.failed$/);
    expect((await readdir(recordingsDir)).filter((f) => f.endsWith(".mp4"))).toEqual([]);
    expect(await metric(origin.http, "live360_origin_recordings_total", 'result="delivered"')).toBe(0);
  }, 120_000);
});
