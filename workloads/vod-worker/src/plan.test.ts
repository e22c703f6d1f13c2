import { describe, expect, test } from "@jest/globals";
import { ConfigError, parseLadder } from "@live360/core";
import { transcodeDeadlineSeconds } from "@live360/core";
import { resolveVodWorkerConfig, transcodeDeadline } from "./config.js";
import { buildVodArgs, cubemapSize, planRenditions, posterPlan, posterTime, type VodPlan, type VodSource } from "./plan.js";
import { ProgressTracker } from "./progress.js";

const LADDER = parseLadder("ladder", "source,480x240:600k,320x160:300k");
const SOURCE: VodSource = { width: 640, height: 320, durationSeconds: 30, projection: "equirectangular", isH264: true, hasAudio: true, audioIsAac: true };

const plan = (source: VodSource = SOURCE, projection: "equirect" | "cubemap" = "equirect"): VodPlan => ({
  input: "/work/source.mp4",
  outputDir: "/work/asset",
  source,
  renditions: planRenditions(LADDER, source, projection),
  segmentSeconds: 6,
  x264Preset: "veryfast",
  audioBitrateKbps: 128,
  poster: posterPlan("/work/asset", source.durationSeconds),
});

function valueOf(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}

describe("VOD FFmpeg command", () => {
  test("copies the source rung, keys transcoded rungs on its keyframes, writes VOD playlists and a poster from one decode", () => {
    const args = buildVodArgs(plan());
    expect(valueOf(args, "-i")).toBe("/work/source.mp4");
    expect(valueOf(args, "-filter_complex")).toBe(
      "[0:v]split=3[s0][s1][sp];[s0]scale=480:240:flags=bicubic[v0];[s1]scale=320:160:flags=bicubic[v1];" +
        "[sp]trim=start=3,setpts=PTS-STARTPTS,scale='min(1280,iw)':-2[poster]",
    );
    expect(valueOf(args, "-c:v:0")).toBe("copy");
    expect(valueOf(args, "-force_key_frames:v:1")).toBe("source");
    expect(valueOf(args, "-force_key_frames:v:2")).toBe("source");
    expect(valueOf(args, "-hls_playlist_type")).toBe("vod");
    expect(valueOf(args, "-hls_list_size")).toBe("0");
    expect(valueOf(args, "-var_stream_map")).toBe("v:0,a:0,name:source v:1,a:1,name:240p v:2,a:2,name:160p");
    expect(valueOf(args, "-hls_segment_filename")).toBe("/work/asset/%v/seg_%05d.ts");
    // The poster is a second output of the same process: one frame, after the HLS output.
    const hlsOutput = args.indexOf("/work/asset/%v/index.m3u8");
    expect(hlsOutput).toBeGreaterThan(0);
    expect(args.slice(hlsOutput + 1)).toEqual(["-map", "[poster]", "-frames:v", "1", "-q:v", "3", "-f", "image2", "-update", "1", "/work/asset/poster.jpg"]);
  });

  test("without an H.264 source nothing is copied: every rung is encoded and keyed on the segment clock", () => {
    const args = buildVodArgs(plan({ ...SOURCE, isH264: false, audioIsAac: false }));
    expect(args).not.toContain("copy");
    expect(valueOf(args, "-force_key_frames:v:0")).toBe("expr:gte(t,n_forced*6)");
    expect(valueOf(args, "-c:a")).toBe("aac");
    expect(valueOf(args, "-filter_complex")).toContain("[s0]scale=640:320:flags=bicubic[v0]");
  });

  test("a recording without audio maps video only", () => {
    const args = buildVodArgs(plan({ ...SOURCE, hasAudio: false }));
    expect(args).not.toContain("0:a:0");
    expect(valueOf(args, "-var_stream_map")).toBe("v:0,name:source v:1,name:240p v:2,name:160p");
  });

  test("cubemap re-projects the lower rungs with v360 after scaling, and keeps the top rung as recorded", () => {
    const p = plan(SOURCE, "cubemap");
    expect(p.renditions.map((r) => [r.name, r.projection, r.width, r.height])).toEqual([
      ["source", "equirectangular", 640, 320],
      ["240p", "cubemap", 360, 240],
      ["160p", "cubemap", 240, 160],
    ]);
    expect(valueOf(buildVodArgs(p), "-filter_complex")).toContain(
      "[s0]scale=480:240:flags=bicubic,v360=input=e:output=eac:w=360:h=240[v0];[s1]scale=320:160:flags=bicubic,v360=input=e:output=eac:w=240:h=160[v1]",
    );
  });

  test("cubemap leaves a recording that is not equirectangular alone", () => {
    const renditions = planRenditions(LADDER, { ...SOURCE, projection: "flat" }, "cubemap");
    expect(renditions.every((r) => r.projection === "flat" && r.reprojectedFrom === undefined)).toBe(true);
  });

  test("a transcoded top rung (non-H.264 source) stays equirectangular; the rest become cubemaps", () => {
    const renditions = planRenditions(LADDER, { ...SOURCE, isH264: false }, "cubemap");
    expect(renditions.map((r) => r.projection)).toEqual(["equirectangular", "cubemap", "cubemap"]);
  });

  test("EAC faces are half the equirectangular height and even", () => {
    expect(cubemapSize(960)).toEqual({ width: 1440, height: 960 });
    expect(cubemapSize(540)).toEqual({ width: 810, height: 540 });
    expect(cubemapSize(270)).toEqual({ width: 408, height: 272 });
  });

  test("the poster is a tenth into the recording, at most 10 s in", () => {
    expect(posterTime(30)).toBe(3);
    expect(posterTime(3600)).toBe(10);
    expect(posterTime(2.5)).toBe(0.25);
  });
});

describe("progress", () => {
  test("percent from FFmpeg's media time, ETA from the average rate so far", () => {
    const tracker = new ProgressTracker(100, 0);
    expect(tracker.update(0, 1000)).toEqual({ ratio: 0, etaSeconds: undefined, speed: 0 });
    // 25 media seconds in 10 s: 2.5x, so 75 s of media take 30 s more.
    expect(tracker.update(25, 10_000)).toEqual({ ratio: 0.25, etaSeconds: 30, speed: 2.5 });
    expect(tracker.update(120, 40_000).ratio).toBe(1);
  });
});

describe("VOD worker configuration", () => {
  test("defaults: long poll 20 s, one job at a time, 6 s segments, heartbeat a third of the visibility timeout", () => {
    const config = resolveVodWorkerConfig({ egressBucket: "egress" });
    expect(config).toMatchObject({ waitTimeSeconds: 20, concurrency: 1, segmentSeconds: 6, visibilityTimeoutSeconds: 60, heartbeatSeconds: 20 });
  });

  test.each([
    [{ egressBucket: "" }, /egressBucket \(--egress-bucket\)/],
    [{ egressBucket: "Bad_Bucket" }, /egressBucket \(--egress-bucket\)="Bad_Bucket"/],
    [{ egressBucket: "egress", concurrency: 0 }, /concurrency \(--concurrency\)=0/],
    [{ egressBucket: "egress", visibilityTimeoutSeconds: 30, heartbeatSeconds: 20 }, /heartbeatSeconds \(--heartbeat\)=20: use at most half the visibility timeout \(15 s\)/],
    [{ egressBucket: "egress", x264Preset: "placebo" }, /x264Preset \(--preset\)="placebo"/],
    [{ egressBucket: "egress", segmentSeconds: 0 }, /segmentSeconds \(--segment-seconds\)=0/],
    [{ egressBucket: "egress", transcodeDeadlineFactor: 0 }, /transcodeDeadlineFactor \(--transcode-deadline-factor\)=0: use a number from 0.01 to 100/],
    [{ egressBucket: "egress", transcodeDeadlineFactor: Number.NaN }, /transcodeDeadlineFactor \(--transcode-deadline-factor\)=null: use a number from 0.01 to 100/],
    [{ egressBucket: "egress", transcodeDeadlineMinSeconds: 0 }, /transcodeDeadlineMinSeconds \(--transcode-deadline-min\)=0: use a number from 1 to 86400/],
  ])("refuses %j with the field, the value and the fix", (input, message) => {
    expect(() => resolveVodWorkerConfig(input)).toThrow(ConfigError);
    expect(() => resolveVodWorkerConfig(input)).toThrow(message);
  });

  test("a transcode's deadline: the recording's duration × 4 by default, at least 120 s; both can be set", () => {
    const defaults = resolveVodWorkerConfig({ egressBucket: "egress" });
    expect(defaults).toMatchObject({ transcodeDeadlineFactor: 4, transcodeDeadlineMinSeconds: 120 });
    expect(transcodeDeadlineSeconds(8, transcodeDeadline(defaults))).toBe(120);
    expect(transcodeDeadlineSeconds(3600, transcodeDeadline(defaults))).toBe(14_400);
    // Below 1 the factor asks for faster than real time (a fast node), never below the minimum.
    const set = resolveVodWorkerConfig({ egressBucket: "egress", transcodeDeadlineFactor: 0.5, transcodeDeadlineMinSeconds: 10 });
    expect(transcodeDeadlineSeconds(8, transcodeDeadline(set))).toBe(10);
    expect(transcodeDeadlineSeconds(600, transcodeDeadline(set))).toBe(300);
  });
});
