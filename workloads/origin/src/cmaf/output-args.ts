import type { FfmpegArgs } from "@live360/core";
import { TIMELINE_OFFSET_SECONDS } from "../hls-command.js";

/**
 * Adds one rendition's output (its -map and codec options come first) as the fragmented-MP4 stream
 * CmafPackager reads, written to `target` (e.g. `pipe:3`).
 *
 * - `empty_moov`: the init segment (ftyp + moov with mvex) comes first, before any media.
 * - `frag_keyframe` + `-frag_duration`: a fragment (a part) is cut at every video keyframe and
 *   otherwise once it reaches the part target, so parts are ≈ the target except the last before
 *   a keyframe, and every keyframe starts a part.
 * - `default_base_moof`: sample offsets relative to each moof, so a part stands alone (CMAF).
 * - `cmaf`: negative composition offsets (trun v1) instead of shifting presentation times: a
 *   keyframe's presentation time stays the source's, so the copied rung and the transcoded ones
 *   start their segments at the same instant.
 * - `frag_discont`: the first fragment's tfdt is the packet's own timestamp instead of 0, so
 *   fragments carry the encoder's timeline (`-copyts`), the same on primary and backup.
 * - `skip_trailer`: no mfra index at the end: nothing plays from it.
 * - `-output_ts_offset` applies to one output only, so every rendition's output repeats it
 *   (measured: a second output without it started at 0.067 s while the first started at 10.067 s).
 */
export function addCmafOutput(args: FfmpegArgs, target: string, partTargetSeconds: number): FfmpegArgs {
  return args
    .opt("-output_ts_offset", TIMELINE_OFFSET_SECONDS)
    .opt("-f", "mp4")
    .opt("-movflags", "+empty_moov+frag_keyframe+default_base_moof+cmaf+frag_discont+skip_trailer")
    .opt("-frag_duration", Math.round(partTargetSeconds * 1_000_000))
    // Each fragment leaves FFmpeg's 32 KiB output buffer as soon as it is written, not when the buffer fills.
    .opt("-flush_packets", 1)
    .output(target);
}

/**
 * The `-frag_duration` for a part target. FFmpeg closes a fragment with the first frame that
 * brings it to `-frag_duration` or past it, so a part can be up to one frame longer than that;
 * parts must not exceed PART-TARGET (rfc8216bis 4.4.4.9), so one frame of 25 fps is kept free.
 * Sources under 25 fps may still exceed the target by a fraction of a frame.
 */
export function fragmentSeconds(partTargetSeconds: number): number {
  return partTargetSeconds - 0.04;
}
