import { beforeAll, describe, expect, test } from "@jest/globals";
import { createLogger } from "@live360/core";
import { makeTestClip, tempDir } from "@live360/testkit";
import { hlsJsParser, type HlsJsLevelDetails } from "../ll-hls/hlsjs.fixture.js";
import { initName } from "../ll-hls/names.js";
import { makeLadderOutputs, oddChunks, type LadderOutputs } from "./fmp4.fixture.js";
import { CmafLiveLadder, type CmafLiveLadderOptions } from "./live-ladder.js";

const quiet = createLogger("live-ladder", { level: "error" });
const KEYFRAME_AT_MS = Date.UTC(2026, 0, 1, 12);

/** Feeds one run of two variants (the copied rung and the source-keyed x264 rung) in odd chunks. */
function feedRun(ladder: CmafLiveLadder, outputs: LadderOutputs, firstSegmentNumber: number, keyframeAtMs = KEYFRAME_AT_MS): void {
  ladder.startRun({ firstSegmentNumber, keyframeAtMs });
  const [copied, aligned] = [oddChunks(outputs.copied, 3), oddChunks(outputs.aligned, 5)];
  for (let i = 0; i < Math.max(copied.length, aligned.length); i += 1) {
    if (copied[i]) ladder.push(0, copied[i]!);
    if (aligned[i]) ladder.push(1, aligned[i]!);
  }
  ladder.endRun();
}

describe("the CMAF live ladder", () => {
  let outputs: LadderOutputs;
  let parse: (text: string) => HlsJsLevelDetails;
  const options = (over: Partial<CmafLiveLadderOptions> = {}): CmafLiveLadderOptions => ({
    variants: ["source", "160p"],
    segmentSeconds: 2,
    partTargetSeconds: 0.5,
    windowSegments: 6,
    logger: quiet,
    ...over,
  });

  beforeAll(async () => {
    const dir = await tempDir("live-ladder");
    // 6 s with a keyframe every 2 s: three segments a run.
    const clip = await makeTestClip(dir, { width: 320, height: 160, seconds: 6, gopSeconds: 2 });
    outputs = await makeLadderOutputs(clip);
    const parser = await hlsJsParser();
    parse = (text) => parser.parseLevelPlaylist(text, "http://origin/hls/test/source/index.m3u8", 0, "level", 0, null);
  }, 60_000);

  test("a run's variants start at the given number and cut the same segments at the same times", () => {
    const segmentsSeen: string[] = [];
    const ladder = new CmafLiveLadder(options({ onSegment: (v) => segmentsSeen.push(v) }));
    feedRun(ladder, outputs, 500);
    const [source, small] = [ladder.state("source")!, ladder.state("160p")!];
    expect(source.segments.map((s) => s.number)).toEqual([500, 501, 502]);
    expect(small.segments.map((s) => s.number)).toEqual([500, 501, 502]);
    source.segments.forEach((segment, i) => expect(Math.abs(segment.programDateTime.getTime() - small.segments[i]!.programDateTime.getTime())).toBeLessThan(2));
    expect(source.segments[0]!.programDateTime.getTime()).toBe(KEYFRAME_AT_MS);
    expect(segmentsSeen.filter((v) => v === "source")).toHaveLength(3);
    // Measured over the run: the clip's 30 fps and a rate that is the bytes over the seconds.
    const summaries = ladder.summaries()!;
    expect(summaries.map((s) => s.name)).toEqual(["source", "160p"]);
    for (const summary of summaries) {
      expect(summary.frameRate).toBeCloseTo(30, 0);
      const segments = ladder.state(summary.name)!.segments;
      const bytes = segments.reduce((sum, s) => sum + s.parts.reduce((n, p) => n + p.data.length, 0), 0);
      // 6 s of video, and the audio after its last frame.
      const seconds = segments.reduce((sum, s) => sum + s.durationSeconds, 0);
      expect(seconds).toBeGreaterThanOrEqual(6);
      expect(seconds).toBeLessThan(6.3);
      expect(summary.averageBps).toBeCloseTo((bytes * 8) / seconds, -3);
      expect(summary.peakBps).toBeGreaterThanOrEqual(summary.averageBps);
    }
    const details = parse(ladder.renderPlaylist(source, undefined));
    expect(details.playlistParsingError).toBeNull();
    expect(details.renditionReports?.map((r) => r.URI)).toEqual(["../160p/index.m3u8"]);
    expect(ladder.segmentBytes("source", 501)!.equals(Buffer.concat(source.segments[1]!.parts.map((p) => p.data)))).toBe(true);
    expect(ladder.initByHash("source", initName(source.segments[0]!.init!).slice(5, 21))).toBe(source.segments[0]!.init);
  });

  test("a restarted FFmpeg continues after the last segment, after a discontinuity with its init; the window counts what it drops", () => {
    const ladder = new CmafLiveLadder(options({ windowSegments: 4 }));
    feedRun(ladder, outputs, 500);
    // The second run is told an older number (the stream's first): it numbers on instead.
    feedRun(ladder, outputs, 500, KEYFRAME_AT_MS + 60_000);
    const source = ladder.state("source")!;
    expect(source.segments.map((s) => s.number)).toEqual([502, 503, 504, 505]);
    expect(source.segments.map((s) => s.discontinuity ?? false)).toEqual([false, true, false, false]);
    expect(source.segments[1]!.programDateTime.getTime()).toBe(KEYFRAME_AT_MS + 60_000);
    const text = ladder.renderPlaylist(source, undefined);
    // The same FFmpeg on the same source wrote the same init: same name, so no second map.
    expect(source.segments[1]!.init).not.toBe(source.segments[0]!.init);
    expect(initName(source.segments[1]!.init!)).toBe(initName(source.segments[0]!.init!));
    expect(text).toMatch(/seg_00502\.m4s\n#EXT-X-DISCONTINUITY\n#EXT-X-PROGRAM-DATE-TIME:/);
    expect(text.match(/#EXT-X-MAP:/g)).toHaveLength(1);
    expect(parse(text).playlistParsingError).toBeNull();
    // One more run pushes the discontinuous segment out of the window: the sequence counts it.
    feedRun(ladder, outputs, 0);
    expect(ladder.state("source")!.segments.map((s) => s.number)).toEqual([505, 506, 507, 508]);
    expect(ladder.state("source")!.discontinuitySequence).toBe(1);
    expect(ladder.renderPlaylist(ladder.state("source")!, undefined)).toContain("#EXT-X-DISCONTINUITY-SEQUENCE:1\n");
    // Segments that left the window stay servable for a window and one segment more (RFC 8216
    // §6.2.2: a player with a playlist a moment old asks for them), with their init; older ones go.
    const servable = (msn: number): boolean => ladder.segmentBytes("source", msn) !== undefined;
    expect([500, 504, 508].map(servable)).toEqual([true, true, true]);
    feedRun(ladder, outputs, 0);
    expect(ladder.state("source")!.segments.map((s) => s.number)).toEqual([508, 509, 510, 511]);
    expect([502, 503, 507].map(servable)).toEqual([false, true, true]);
    expect(ladder.segmentBytes("160p", 503)!.length).toBeGreaterThan(0);
  });

  test("a run numbered past the last segment (a reconnect the clock or a peer numbers) starts the window again", () => {
    const ladder = new CmafLiveLadder(options());
    feedRun(ladder, outputs, 500);
    feedRun(ladder, outputs, 900);
    const source = ladder.state("source")!;
    expect(source.segments.map((s) => s.number)).toEqual([900, 901, 902]);
    expect(source.segments[0]!.discontinuity).toBe(true);
    expect(parse(ladder.renderPlaylist(source, undefined)).playlistParsingError).toBeNull();
    // The restarted window's old segments are retired, not dropped at once.
    expect(ladder.segmentBytes("source", 502)).toBeDefined();
  });

  test("a variant whose output breaks is reported and the others go on", () => {
    const errors: string[] = [];
    const ladder = new CmafLiveLadder(options({ onPackagerError: (variant, reason) => errors.push(`${variant} ${reason}`) }));
    ladder.startRun({ firstSegmentNumber: 7, keyframeAtMs: KEYFRAME_AT_MS });
    ladder.push(0, outputs.copied);
    // A box claiming 4 GiB where the init should be.
    ladder.push(1, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x66, 0x74, 0x79, 0x70]));
    ladder.endRun();
    expect(errors).toEqual(["160p too-large"]);
    expect(ladder.state("source")!.segments).toHaveLength(3);
    expect(ladder.state("160p")!.segments).toHaveLength(0);
    expect(ladder.summaries()).toBeUndefined();
  });

  test("the end answers held requests and ends the playlists; a reconnect reopens them", async () => {
    const ladder = new CmafLiveLadder(options());
    feedRun(ladder, outputs, 500);
    const state = ladder.state("source")!;
    const held = ladder.waiters.waitForPlaylist(state, { msn: 503, part: undefined });
    expect(ladder.waiters.waiting).toBe(1);
    ladder.end();
    const outcome = await held;
    expect(outcome.kind).toBe("ready");
    expect(ladder.state("source")!.ended).toBe(true);
    expect(ladder.renderPlaylist(ladder.state("source")!, undefined)).toContain("#EXT-X-ENDLIST");
    ladder.reopen();
    expect(ladder.state("source")!.ended).toBe(false);
    ladder.close();
    expect(await ladder.waiters.waitForPlaylist(ladder.state("source")!, { msn: 510, part: undefined })).toEqual({ kind: "closed" });
  });
});
