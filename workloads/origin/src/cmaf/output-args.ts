import type { FfmpegArgs } from "@live360/core";
import { TIMELINE_OFFSET_SECONDS } from "../hls-command.js";

/**
 * Adds one rendition's output (its -map and codec options come first) as the fragmented-MP4 stream
 * CmafPackager reads, written to `target` (e.g. `pipe:3`).
 *
 * - `empty_moov`: the init segment (ftyp + moov with mvex) comes first, before any media.
 * - `-frag_duration` (fragmentSeconds): a fragment ends at the first packet of a track that lies
 *   that far past the track's first packet in it: about two frames of video (and the audio among
 *   them). The packager gathers fragments into the parts it plans (part-plan.ts), splits one where
 *   a part ends inside it (chunk.ts splitFragment), and joins each part into one moof + mdat. Two
 *   frames, not one: each fragment is a pipe read for Node, and per-frame fragments (`-frag_duration
 *   1`) cost the origin 0.016 CPU-seconds per media second more than TS with a three-rung ladder
 *   on the 2-core test machine, two-frame ones 0.008 (measured, /proc of Node and FFmpeg; session
 *   20). Longer ones would make a part that ends inside a fragment wait longer for the rest of it.
 *   Not a part-long fragment: that fills every part to the target and leaves the GOP's remainder
 *   to its last, down to a single frame. Not `frag_every_frame`: FFmpeg 5.1 then closes an audio
 *   packet's fragment before the next audio packet is known and gives it duration 0.
 * - `frag_keyframe`: a keyframe always begins a fragment.
 * - `default_base_moof`: sample offsets relative to each moof, so a fragment stands alone (CMAF).
 * - `cmaf`: negative composition offsets (trun v1) instead of shifting presentation times: a
 *   keyframe's presentation time stays the source's, so the copied rung and the transcoded ones
 *   start their segments at the same instant.
 * - `frag_discont`: the first fragment's tfdt is the packet's own timestamp instead of 0, so
 *   fragments carry the encoder's timeline (`-copyts`), the same on primary and backup.
 * - `skip_trailer`: no mfra index at the end: nothing plays from it.
 * - `-output_ts_offset` applies to one output only, so every rendition's output repeats it
 *   (measured: a second output without it started at 0.067 s while the first started at 10.067 s).
 */
export function addCmafOutput(args: FfmpegArgs, target: string, fragmentSecondsOfOutput: number): FfmpegArgs {
  return args
    .opt("-output_ts_offset", TIMELINE_OFFSET_SECONDS)
    .opt("-f", "mp4")
    .opt("-movflags", "+empty_moov+frag_keyframe+default_base_moof+cmaf+frag_discont+skip_trailer")
    .opt("-frag_duration", Math.max(1, Math.round(fragmentSecondsOfOutput * 1_000_000)))
    // Each fragment leaves FFmpeg's 32 KiB output buffer as soon as it is written, not when the buffer fills.
    .opt("-flush_packets", 1)
    .output(target);
}

/** Video frames per FFmpeg fragment (see addCmafOutput). */
const FRAGMENT_FRAMES = 2;
/** The fragment duration when the publisher announces no frame rate: two frames at 25–30 fps. */
export const DEFAULT_FRAGMENT_SECONDS = 0.07;

/**
 * `-frag_duration` for a stream of `frameRate` (as its publisher announced it in onMetaData): a
 * quarter frame short of two frames, so that timestamps rounded to the millisecond still close the
 * fragment at the second frame. Wrong or missing, it costs only time: a part that ends inside a
 * fragment waits for the rest of it.
 */
export function fragmentSeconds(frameRate: number | undefined): number {
  if (frameRate === undefined || !(frameRate >= 1 && frameRate <= 240)) return DEFAULT_FRAGMENT_SECONDS;
  return (FRAGMENT_FRAMES - 0.25) / frameRate;
}
