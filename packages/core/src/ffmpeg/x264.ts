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
 * The `-hls_time` that makes every rung cut at the same keyframe. FFmpeg cuts a variant at the
 * first keyframe at least `hls_time` after the segment start; a transcoded rung's first
 * timestamp can trail the source's by a frame or two (encoder delay), so cutting at exactly the
 * segment length would skip an aligned keyframe in that rung only. A slightly lower threshold
 * cuts every variant at the same keyframe.
 */
export function hlsCutThreshold(segmentSeconds: number): number {
  return segmentSeconds - Math.min(0.25, segmentSeconds / 4);
}
