import type { FfmpegArgs } from "@live360/core";
import { TIMELINE_OFFSET_SECONDS } from "../hls-command.js";

/**
 * Adds one rendition's output (its -map and codec options come first) as the fragmented-MP4 stream
 * CmafPackager reads, written to `target` (e.g. `pipe:3`).
 *
 * - `empty_moov`: the init segment (ftyp + moov with mvex) comes first, before any media.
 * - `-frag_duration 1` (µs): a fragment ends as soon as a second packet of one track comes, so
 *   each holds at most one video frame (and the audio around it) and leaves FFmpeg when the next
 *   audio packet or frame arrives; the packager gathers them into parts of its planning
 *   (part-plan.ts) and joins each part into one moof + mdat (chunk.ts). A part-long
 *   `-frag_duration` fills every part to the target and leaves the GOP's remainder to its last,
 *   down to a single frame. Not `frag_every_frame`: FFmpeg 5.1 then closes an audio packet's
 *   fragment before the next audio packet is known and gives it duration 0 (measured: 97 of a
 *   6-s clip's 283 copied AAC packets shared the decode time of the one before). The price is
 *   CPU: ≈ 47 pipe reads a second per rendition instead of 4 (+0.007 CPU-seconds per media second
 *   per origin on the 2-core test machine, Node's wake-ups; a one-frame `-frag_duration`, 25 reads
 *   a second, cost the same).
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
export function addCmafOutput(args: FfmpegArgs, target: string): FfmpegArgs {
  return args
    .opt("-output_ts_offset", TIMELINE_OFFSET_SECONDS)
    .opt("-f", "mp4")
    .opt("-movflags", "+empty_moov+frag_keyframe+default_base_moof+cmaf+frag_discont+skip_trailer")
    .opt("-frag_duration", 1)
    // Each fragment leaves FFmpeg's 32 KiB output buffer as soon as it is written, not when the buffer fills.
    .opt("-flush_packets", 1)
    .output(target);
}
