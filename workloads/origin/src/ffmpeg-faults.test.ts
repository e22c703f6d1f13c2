/**
 * One stream's ladder FFmpeg killed, hung or slowed, in a real origin process with a healthy stream
 * beside it (the three tests were in origin.test.ts, where no second stream ran): a dead FFmpeg is
 * restarted at once, a hung one is killed from its missing progress and restarted, a slow one is
 * left alone. The healthy stream's FFmpeg and HLS are untouched, and the stream's own recording —
 * written from the ingest, not by FFmpeg — keeps everything. Each is a case of the fault matrix
 * (test/kit/src/fault-matrix.ts), with what the stream's live HLS and recording lost, measured.
 */
import { beforeAll, describe, expect, test } from "@jest/globals";
import { readdir } from "node:fs/promises";
import path from "node:path";
import { probe } from "@live360/core";
import { getText, makeTestClip, publishFile, waitFor, watchPlaylist, type OriginProcess, type Publisher, type StreamWatchResult } from "@live360/testkit";
import { healthyOriginSuite, metric, type OriginWithHealthyStream } from "./healthy-origin.fixture.js";

/** The rung every stream gets besides the source: FFmpeg encodes it, so FFmpeg has real work. */
const RUNG = "160p";

interface Victim {
  name: string;
  publisher: Publisher;
  startedAt: number;
  /** The transcoded rung's playlist, the one the faults stop. */
  playlist: string;
}

const segmentsOf = (playlist: string): string[] => playlist.split("\n").filter((l) => l.endsWith(".ts"));

describe("a stream's FFmpeg killed, hung or slowed, beside a healthy stream", () => {
  const suite = healthyOriginSuite("ffmpeg-faults", { seconds: 4, gopSeconds: 1, width: 640, height: 320, videoKbps: 800 }, ["--ladder", "source,320x160:300k"]);
  let fixture: OriginWithHealthyStream;
  let origin: OriginProcess;

  beforeAll(() => {
    ({ fixture, origin } = suite);
  });

  async function ffmpegOf(stream: string): Promise<{ pid: number; running: boolean }> {
    const stat = JSON.parse((await getText(`${origin.http}/stat`)).body) as { streams: { stream: string; ffmpeg: { pid: number; running: boolean } }[] };
    return stat.streams.find((s) => s.stream === stream)!.ffmpeg;
  }

  /** A stream of its own for each test, publishing in real time, once its rung plays. */
  async function startVictim(name: string, clip = suite.clip): Promise<Victim> {
    const startedAt = Date.now();
    const publisher = await publishFile(clip, `rtmp://127.0.0.1:${origin.rtmpPort}/live/${name}`, { loop: true });
    const playlist = `${origin.http}/hls/${name}/${RUNG}/index.m3u8`;
    await waitFor(`${name}'s ${RUNG} playlist`, async () => segmentsOf((await getText(playlist)).body).length > 0, { timeoutMs: 45_000, intervalMs: 250 });
    return { name, publisher, startedAt, playlist };
  }

  /**
   * Ends the victim's publish and measures its recording against the time it published (real
   * time, `-re`): FFmpeg's faults must not cost the recording anything.
   */
  async function endVictim(victim: Victim): Promise<{ publishedSeconds: number; recordedSeconds: number }> {
    await victim.publisher.stop();
    const publishedSeconds = (Date.now() - victim.startedAt) / 1000;
    const recordings = path.join(origin.dataDir, "recordings");
    const pattern = new RegExp(`^${victim.name}-\\d{8}T\\d{6}Z\\.mp4$`);
    const mp4 = await waitFor(`${victim.name}'s recording`, async () => (await readdir(recordings)).find((f) => pattern.test(f)), { timeoutMs: 30_000 });
    const recordedSeconds = Number((await probe(path.join(recordings, mp4))).format.duration);
    // The same bound as an origin SIGKILL (crash-recovery.test.ts): FFmpeg's start-up before the
    // first tag, and the tags in flight when the publisher stopped.
    expect(recordedSeconds).toBeGreaterThan(publishedSeconds - 2);
    return { publishedSeconds, recordedSeconds };
  }

  /**
   * What the faulted stream lost: live media no segment holds (the input that arrived while its
   * FFmpeg was dead or hung is dropped; the restarted one starts from live input), polls a player
   * got no playlist for, and what its recording kept.
   */
  const lostOf = (live: StreamWatchResult, recording: { publishedSeconds: number; recordedSeconds: number }): string =>
    `that stream's live HLS: ${live.missingMediaSeconds.toFixed(1)} s of media in no segment, ${live.skippedSegments} segment numbers skipped, ${live.failedPolls} of ${live.polls} polls without a playlist; ` +
    `its recording: ${recording.recordedSeconds.toFixed(1)} of ${recording.publishedSeconds.toFixed(1)} s published`;

  const measuredOf = (live: StreamWatchResult, recording: { publishedSeconds: number; recordedSeconds: number }): Record<string, number> => ({
    missingMediaSeconds: Number(live.missingMediaSeconds.toFixed(2)),
    skippedSegments: live.skippedSegments,
    failedPolls: live.failedPolls,
    publishedSeconds: Number(recording.publishedSeconds.toFixed(2)),
    recordedSeconds: Number(recording.recordedSeconds.toFixed(2)),
  });

  test("FFmpeg killed with SIGKILL is restarted within 2 s and the playlist continues after a discontinuity", async () => {
    const victim = await startVictim("ffmpeg-killed");
    await fixture.faultCase("ffmpeg-sigkill", "SIGKILL to one stream's ladder FFmpeg", async () => {
      const watch = watchPlaylist(victim.playlist);
      const before = await ffmpegOf(victim.name);
      const restartsBefore = await metric(origin.http, "live360_origin_ffmpeg_restarts_total", `stream="${victim.name}"`);
      process.kill(before.pid, "SIGKILL");
      const killedAt = Date.now();
      const after = await waitFor("a new ffmpeg pid", async () => {
        const now = await ffmpegOf(victim.name);
        return now.pid !== before.pid && now.pid !== undefined ? now : undefined;
      }, { intervalMs: 50 });
      const restartMs = Date.now() - killedAt;
      expect(restartMs).toBeLessThan(2000);
      expect(after.pid).not.toBe(before.pid);
      expect(await metric(origin.http, "live360_origin_ffmpeg_restarts_total", `stream="${victim.name}"`)).toBe(restartsBefore + 1);
      const playlist = await waitFor("a discontinuity followed by a new segment", async () => {
        const body = (await getText(victim.playlist)).body;
        const idx = body.indexOf("#EXT-X-DISCONTINUITY");
        return idx >= 0 && body.slice(idx).includes(".ts") ? body : undefined;
      }, { timeoutMs: 20_000 });
      expect(playlist).not.toContain("#EXT-X-ENDLIST");
      const live = await watch.stop();
      const recording = await endVictim(victim);
      // Per-stream series go with the stream, the restart counter too: publishers choose the names.
      expect((await getText(`${origin.http}/metrics`)).body.split("\n").filter((line) => line.includes(`stream="${victim.name}"`))).toEqual([]);
      return { lost: lostOf(live, recording), recovery: `FFmpeg restarted after ${restartMs} ms, its playlist continued after a discontinuity`, measured: { ...measuredOf(live, recording), restartMs } };
    });
  }, 90_000);

  test("FFmpeg stopped with SIGSTOP (hung, not dead) is killed from its missing progress and restarted; the playlist continues", async () => {
    const victim = await startVictim("ffmpeg-hung");
    await fixture.faultCase("ffmpeg-sigstop", "SIGSTOP to one stream's ladder FFmpeg (hung: alive, no progress)", async () => {
      const watch = watchPlaylist(victim.playlist);
      const before = await ffmpegOf(victim.name);
      const stallsBefore = await metric(origin.http, "live360_origin_ffmpeg_stalls_total");
      process.kill(before.pid, "SIGSTOP");
      const stoppedAt = Date.now();
      // Frozen: no progress while media keeps arriving. The playlist goes stale and answers 404
      // (what an edge fails over on) before the watchdog restarts FFmpeg.
      await waitFor("the frozen stream's playlist to answer 404", async () => (await getText(victim.playlist)).status === 404, { timeoutMs: 14_000, intervalMs: 250 });
      const after = await waitFor("a new ffmpeg pid", async () => {
        const now = await ffmpegOf(victim.name);
        return now.pid !== before.pid && now.pid !== undefined ? now : undefined;
      }, { timeoutMs: 30_000, intervalMs: 250 });
      const restartSeconds = (Date.now() - stoppedAt) / 1000;
      expect(() => process.kill(before.pid, 0)).toThrow();
      expect(await metric(origin.http, "live360_origin_ffmpeg_stalls_total")).toBe(stallsBefore + 1);
      const newest = async (): Promise<string | undefined> => segmentsOf((await getText(victim.playlist)).body).at(-1);
      const last = await newest();
      await waitFor("a segment from the new ffmpeg", async () => (await newest()) !== last, { timeoutMs: 20_000 });
      expect((await ffmpegOf(victim.name)).pid).toBe(after.pid);
      const live = await watch.stop();
      const recording = await endVictim(victim);
      return { lost: lostOf(live, recording), recovery: `the hung FFmpeg killed and replaced ${restartSeconds.toFixed(1)} s after the SIGSTOP`, measured: { ...measuredOf(live, recording), restartSeconds } };
    });
  }, 120_000);

  test("a ladder far slower than real time (FFmpeg running 1 % of the time) leaves players waiting, never 404: it still makes progress", async () => {
    // A heavier source than the healthy stream's, so that 1 % of the CPU it needs makes no segment
    // for longer than the 6 s after which a frozen playlist answers 404, on any machine.
    const heavy = await makeTestClip(suite.dir, { seconds: 4, gopSeconds: 1, width: 1920, height: 960, videoKbps: 3000 });
    const victim = await startVictim("ffmpeg-slow", heavy);
    await fixture.faultCase("ffmpeg-slow", "one stream's ladder FFmpeg throttled to 1 % of the time (SIGSTOP 2970 ms, SIGCONT 30 ms) for 16 s", async () => {
      const watch = watchPlaylist(victim.playlist);
      const { pid } = await ffmpegOf(victim.name);
      const statuses: number[] = [];
      const changes: number[] = [Date.now()];
      let last = (await getText(victim.playlist)).body;
      let throttling = true;
      const throttle = (async () => {
        while (throttling) {
          process.kill(pid, "SIGSTOP");
          await new Promise((resolve) => setTimeout(resolve, 2970));
          process.kill(pid, "SIGCONT");
          await new Promise((resolve) => setTimeout(resolve, 30));
        }
      })();
      try {
        const until = Date.now() + 16_000;
        while (Date.now() < until) {
          const { status, body } = await getText(victim.playlist);
          statuses.push(status);
          if (status === 200 && body !== last) {
            changes.push(Date.now());
            last = body;
          }
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      } finally {
        throttling = false;
        await throttle;
        process.kill(pid, "SIGCONT");
      }
      const longestUnchangedMs = Math.max(...changes.slice(1).map((t, i) => t - changes[i]!), Date.now() - changes.at(-1)!);
      // The precondition: the playlist stayed untouched longer than the 6 s after which a frozen one answers 404.
      expect(longestUnchangedMs).toBeGreaterThan(6000);
      expect(statuses.filter((status) => status !== 200)).toEqual([]);
      // It was slow, not hung: the same FFmpeg goes on, and catches up.
      expect((await ffmpegOf(victim.name)).pid).toBe(pid);
      const newest = segmentsOf(last).at(-1);
      await waitFor("a segment after the throttle", async () => segmentsOf((await getText(victim.playlist)).body).at(-1) !== newest, { timeoutMs: 20_000 });
      const live = await watch.stop();
      const recording = await endVictim(victim);
      return {
        lost: `${lostOf(live, recording)}; the playlist stood still for up to ${(longestUnchangedMs / 1000).toFixed(1)} s and answered 200 throughout`,
        recovery: "none needed: the same FFmpeg went on",
        measured: { ...measuredOf(live, recording), longestUnchangedSeconds: longestUnchangedMs / 1000 },
      };
    });
  }, 150_000);
});
