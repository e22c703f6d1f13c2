import type { FfmpegArgs } from "./args.js";

export interface X264Rung {
  kbps: number;
  preset: string;
  /** An FFmpeg `-force_key_frames` value: `source` (align with a copied rung) or an `expr:`. */
  keyframes: string;
}

/**
 * The x264 options of one transcoded ABR rung (output video stream `index`), shared by the live
 * ladder and the VOD ladder: High profile 4:2:0, a capped bitrate with a 1.5 s buffer, and only
 * the forced keyframes, so every rung cuts its segments on the same pictures. Options carry the
 * stream specifier because a copied stream beside them rejects encoder options.
 */
export function addX264Rung(args: FfmpegArgs, index: number, rung: X264Rung): FfmpegArgs {
  return args
    .opt(`-c:v:${index}`, "libx264")
    .opt(`-preset:v:${index}`, rung.preset)
    .opt(`-profile:v:${index}`, "high")
    .opt(`-pix_fmt:v:${index}`, "yuv420p")
    .opt(`-b:v:${index}`, `${rung.kbps}k`)
    .opt(`-maxrate:v:${index}`, `${Math.round(rung.kbps * 1.07)}k`)
    .opt(`-bufsize:v:${index}`, `${Math.round(rung.kbps * 1.5)}k`)
    // No scene-cut or periodic keyframes of x264's own: only the aligned ones.
    .opt(`-sc_threshold:v:${index}`, 0)
    .opt(`-g:v:${index}`, 100_000)
    .opt(`-force_key_frames:v:${index}`, rung.keyframes);
}

/**
 * x264 parameters for live rungs outside low-latency mode. x264 holds back
 * max(bframes, rc-lookahead) + (frame threads − 1) + sync-lookahead frames before it emits
 * one; with veryfast's defaults on two cores that is 16 frames (0.53 s at 30 fps), which every
 * variant waits for because FFmpeg interleaves all rungs in one muxer. A 3-frame lookahead,
 * no sync lookahead and two frame threads per rung cut it to 4 frames while keeping B-frames
 * and macroblock-tree rate control (what `-tune zerolatency` would drop): measured on 2 cores,
 * segment-availability p95 0.80 s → 0.40 s at no CPU cost (bench/results/origin.md).
 * The rungs of one ladder already run in parallel, so fewer threads each loses nothing.
 */
export const LIVE_X264_PARAMS = "rc-lookahead=3:sync-lookahead=0:threads=2";

/**
 * The `-hls_time` that makes every rung cut at the same keyframe. FFmpeg cuts segment n of a
 * variant at the first keyframe at least n × `hls_time` after that variant's first packet. The
 * transcoded rungs keep the source's timestamps (`-vsync passthrough` in the live command), so
 * their keyframes sit at exactly the copied rung's instants; the threshold only needs to absorb
 * timestamp jitter (FLV has millisecond timestamps). A larger margin would drift: n × margin
 * grows until it reaches a source keyframe interval and yields a short segment (with 1 s source
 * GOPs a 0.25 s margin cut every fourth segment at 1 s); 20 ms does that once in 100 s at worst.
 */
export function hlsCutThreshold(segmentSeconds: number): number {
  return segmentSeconds - 0.02;
}
