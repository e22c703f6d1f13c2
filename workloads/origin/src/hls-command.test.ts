import { describe, expect, test } from "@jest/globals";
import { parseLadder } from "@live360/core";
import { DEFAULT_FRAGMENT_SECONDS, fragmentSeconds } from "./cmaf/output-args.js";
import { TIMELINE_OFFSET_SECONDS, buildLiveCmafArgs, buildLiveHlsArgs, segmentNumberAt, type LiveHlsPlan } from "./hls-command.js";

const plan = (over: Partial<LiveHlsPlan> = {}): LiveHlsPlan => ({
  outputDir: "/data/hls/test",
  renditions: parseLadder("ladder", "source,480x240:600k,320x160:300k").map((r) => (r.passthrough ? { ...r, width: 640, height: 320 } : r)),
  sourceIsH264: true,
  hasAudio: true,
  sourceAudioIsAac: true,
  segmentSeconds: 2,
  windowSegments: 6,
  x264Preset: "veryfast",
  lowLatency: false,
  audioBitrateKbps: 128,
  continuePlaylists: false,
  firstSegmentNumber: 893_456_789,
  ...over,
});

function valueOf(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}

describe("live HLS command", () => {
  test("decodes once, copies the source rung and keys transcoded rungs on source keyframes", () => {
    const args = buildLiveHlsArgs(plan());
    expect(valueOf(args, "-filter_complex")).toBe("[0:v]split=2[s0][s1];[s0]scale=480:240:flags=bicubic[v0];[s1]scale=320:160:flags=bicubic[v1]");
    expect(valueOf(args, "-c:v:0")).toBe("copy");
    expect(valueOf(args, "-c:v:1")).toBe("libx264");
    expect(valueOf(args, "-force_key_frames:v:1")).toBe("source");
    expect(valueOf(args, "-maxrate:v:2")).toBe("321k");
    expect(valueOf(args, "-c:a")).toBe("copy");
    // The stream map stays one argument: FFmpeg must receive it unsplit.
    expect(valueOf(args, "-var_stream_map")).toBe("v:0,a:0,name:source v:1,a:1,name:240p v:2,a:2,name:160p");
    expect(valueOf(args, "-hls_flags")).toBe("delete_segments+independent_segments+program_date_time+temp_file");
    expect(args.at(-1)).toBe("/data/hls/test/%v/index.m3u8");
  });

  test("the output keeps the encoder's timestamps, offset so that no origin shifts them on its own", () => {
    const args = buildLiveHlsArgs(plan());
    expect(args.indexOf("-copyts")).toBeGreaterThanOrEqual(0);
    expect(args.indexOf("-copyts")).toBeLessThan(args.indexOf("pipe:0"));
    expect(valueOf(args, "-output_ts_offset")).toBe(String(TIMELINE_OFFSET_SECONDS));
  });

  test("segments are numbered by the wall clock, one number per segment duration", () => {
    expect(valueOf(buildLiveHlsArgs(plan()), "-start_number")).toBe("893456789");
    const t = Date.UTC(2026, 10, 24, 12, 0, 0);
    expect(segmentNumberAt(t, 2)).toBe(t / 2000);
    expect(segmentNumberAt(t + 1999, 2)).toBe(t / 2000);
    expect(segmentNumberAt(t + 2000, 2)).toBe(t / 2000 + 1);
    // Low-latency half-second segments still fit FFmpeg's 64-bit sequence and our 12 digits.
    expect(String(segmentNumberAt(Date.UTC(2100, 0, 1), 0.5))).toMatch(/^\d{10,12}$/);
  });

  test("a restart continues the playlists after a discontinuity", () => {
    expect(valueOf(buildLiveHlsArgs(plan({ continuePlaylists: true })), "-hls_flags")).toMatch(/\+append_list$/);
  });

  test("fresh playlists that replace earlier ones open with a discontinuity; first playlists do not", () => {
    expect(valueOf(buildLiveHlsArgs(plan({ discontinuityFirst: true })), "-hls_flags")).toMatch(/\+discont_start$/);
    expect(valueOf(buildLiveHlsArgs(plan()), "-hls_flags")).not.toContain("discont");
  });

  test("without H.264 every rung is encoded and keyed on the segment clock; other audio is encoded", () => {
    const args = buildLiveHlsArgs(plan({ sourceIsH264: false, sourceAudioIsAac: false }));
    expect(args).not.toContain("copy");
    expect(valueOf(args, "-force_key_frames:v:0")).toBe("expr:gte(t,n_forced*2)");
    expect(valueOf(args, "-c:a")).toBe("aac");
  });

  test("low latency tunes x264 for zero latency; no audio leaves audio out of the map", () => {
    const args = buildLiveHlsArgs(plan({ lowLatency: true, hasAudio: false, segmentSeconds: 1 }));
    expect(valueOf(args, "-tune:v:1")).toBe("zerolatency");
    expect(valueOf(args, "-var_stream_map")).toBe("v:0,name:source v:1,name:240p v:2,name:160p");
    expect(args).not.toContain("0:a:0");
  });
});
describe("live CMAF command", () => {
  test("fragment length: two frames less a quarter of the announced rate; 70 ms when none or an impossible one is announced", () => {
    expect(fragmentSeconds(25)).toBeCloseTo(0.07, 9);
    expect(fragmentSeconds(30)).toBeCloseTo(1.75 / 30, 9);
    for (const rate of [undefined, 0, -5, Number.NaN, 1000]) expect(fragmentSeconds(rate)).toBe(DEFAULT_FRAGMENT_SECONDS);
  });

  test("the same encoding, each rendition (video and its audio) a fragmented MP4 on its own pipe from fd 3", () => {
    const args = buildLiveCmafArgs(plan());
    expect(valueOf(args, "-filter_complex")).toBe(valueOf(buildLiveHlsArgs(plan()), "-filter_complex"));
    // Progress on pipe:1 (stdout), media in on pipe:0, one output per rendition.
    expect(args.filter((a) => a.startsWith("pipe:"))).toEqual(["pipe:1", "pipe:0", "pipe:3", "pipe:4", "pipe:5"]);
    // Per output: its maps, then its codecs (stream index 0 of that output), then the muxer.
    const second = args.slice(args.indexOf("pipe:3") + 1, args.indexOf("pipe:4"));
    expect(second.slice(0, 4)).toEqual(["-map", "[v0]", "-map", "0:a:0"]);
    expect(valueOf(second, "-c:v:0")).toBe("libx264");
    expect(valueOf(second, "-force_key_frames:v:0")).toBe("source");
    expect(valueOf(second, "-c:a")).toBe("copy");
    expect(valueOf(second, "-output_ts_offset")).toBe(String(TIMELINE_OFFSET_SECONDS));
    // Fragments of two frames (a quarter frame short, for millisecond timestamps) of the announced
    // frame rate; without one, 70 ms. The packager plans the parts (part-plan.ts) and splits fragments.
    expect(valueOf(second, "-frag_duration")).toBe("70000");
    expect(valueOf(buildLiveCmafArgs(plan({ fragmentSeconds: fragmentSeconds(30) })), "-frag_duration")).toBe("58333");
    expect(valueOf(buildLiveCmafArgs(plan({ fragmentSeconds: fragmentSeconds(60) })), "-frag_duration")).toBe("29167");
    const first = args.slice(args.indexOf("pipe:0") + 1, args.indexOf("pipe:3"));
    expect(valueOf(first, "-c:v:0")).toBe("copy");
    expect(args).not.toContain("-f hls");
    expect(args.filter((a) => a === "-output_ts_offset")).toHaveLength(3);
  });

  test("without audio nothing maps it", () => {
    const args = buildLiveCmafArgs(plan({ hasAudio: false }));
    expect(args).not.toContain("0:a:0");
    expect(args).not.toContain("-c:a");
  });
});
