import path from "node:path";
import { LIVE_X264_PARAMS, SEGMENT_PATTERN, VARIANT_PLAYLIST, addX264Rung, baseArgs, hlsCutThreshold, type FfmpegArgs, type Rendition } from "@live360/core";
import { DEFAULT_FRAGMENT_SECONDS, addCmafOutput } from "./cmaf/output-args.js";

export interface LiveHlsPlan {
  /** The stream's HLS directory; each variant gets a subdirectory named after its rendition. */
  outputDir: string;
  renditions: readonly Rendition[];
  /** Pass-through needs H.264: any other source codec has its top rung transcoded too. */
  sourceIsH264: boolean;
  hasAudio: boolean;
  /** AAC audio is copied into every variant; anything else is encoded once per variant. */
  sourceAudioIsAac: boolean;
  segmentSeconds: number;
  windowSegments: number;
  x264Preset: string;
  lowLatency: boolean;
  audioBitrateKbps: number;
  /** After a restart or a reconnect: continue the existing playlists after a discontinuity. */
  continuePlaylists: boolean;
  /** Fresh playlists that replace a stream's earlier ones: open with a discontinuity. */
  discontinuityFirst?: boolean;
  /**
   * Number (and media sequence) of the first segment of fresh playlists. For continued ones FFmpeg
   * numbers on from max(this, the playlist's media sequence) plus the segments listed, so this must
   * not exceed the lowest listed. See segmentNumberAt.
   */
  firstSegmentNumber: number;
  /** CMAF only: FFmpeg's fragment duration (output-args.ts fragmentSeconds). */
  fragmentSeconds?: number;
}

/**
 * Without a peer to follow (numbering.ts), live segments are numbered by the wall clock: one
 * number per segment duration since the Unix epoch, taken when the stream's first keyframe
 * arrives. A restarted origin or encoder so never reuses a name an edge or CDN has cached as
 * immutable (numbering from zero did: after a failback the edge served the previous run's
 * segments), and its media sequence never runs backwards for a player.
 */
export function segmentNumberAt(epochMs: number, segmentSeconds: number): number {
  return Math.floor(epochMs / (segmentSeconds * 1000));
}

// The variant layout is shared with the VOD worker, so it lives in core.
export { SEGMENT_PATTERN, VARIANT_PLAYLIST };

/** Added to the encoder's timestamps in every origin's output (see buildLiveHlsArgs). */
export const TIMELINE_OFFSET_SECONDS = 10;

/**
 * One FFmpeg for the whole ladder: the source is decoded once, split, and scaled per rung;
 * the pass-through rung is copied bit for bit. Transcoded rungs take their keyframes from the
 * source's (`-force_key_frames source`), so every variant cuts segments at the same instants
 * and players switch rungs cleanly. Without an H.264 source there is nothing to align with,
 * so every rung is keyframed on the segment clock instead.
 */
export function buildLiveHlsArgs(plan: LiveHlsPlan): string[] {
  const args = ladderInput().opt("-output_ts_offset", TIMELINE_OFFSET_SECONDS);
  const { ordered, videoSource } = addScaling(args, plan);
  ordered.forEach((r) => args.opt("-map", videoSource(r)));
  if (plan.hasAudio) args.each("-map", ordered.map(() => "0:a:0"));
  ordered.forEach((r, i) => addVideoCodec(args, plan, r, i));
  addAudioCodec(args, plan);

  const flags = ["delete_segments", "independent_segments", "program_date_time", "temp_file"];
  // append_list also marks the seam with a discontinuity, so players reset their decoders there.
  if (plan.continuePlaylists) flags.push("append_list");
  else if (plan.discontinuityFirst) flags.push("discont_start");
  const streamMap = ordered.map((r, i) => (plan.hasAudio ? `v:${i},a:${i},name:${r.name}` : `v:${i},name:${r.name}`));
  args
    .opt("-f", "hls")
    .opt("-hls_time", hlsCutThreshold(plan.segmentSeconds))
    .opt("-hls_list_size", plan.windowSegments)
    .opt("-start_number", plan.firstSegmentNumber)
    .opt("-hls_delete_threshold", 2)
    .opt("-hls_flags", flags.join("+"))
    .opt("-hls_segment_type", "mpegts")
    .opt("-hls_segment_filename", path.join(plan.outputDir, "%v", SEGMENT_PATTERN))
    .opt("-var_stream_map", streamMap.join(" "))
    .output(path.join(plan.outputDir, "%v", VARIANT_PLAYLIST));
  return args.build();
}

/**
 * The same ladder for CMAF / LL-HLS: every rendition (video and the audio muxed with it, as in TS)
 * is its own fragmented-MP4 output on `pipe:3`, `pipe:4`, … in orderedRenditions' order, which
 * the origin's CmafPackagers cut into parts and segments. Encoding is the TS ladder's, so the
 * keyframes, and with them the segment cuts, are the same.
 */
export function buildLiveCmafArgs(plan: LiveHlsPlan): string[] {
  const args = ladderInput();
  const { ordered, videoSource } = addScaling(args, plan);
  ordered.forEach((r, i) => {
    args.opt("-map", videoSource(r));
    if (plan.hasAudio) args.opt("-map", "0:a:0");
    addVideoCodec(args, plan, r, 0);
    addAudioCodec(args, plan);
    addCmafOutput(args, `pipe:${CMAF_FIRST_OUTPUT_FD + i}`, plan.fragmentSeconds ?? DEFAULT_FRAGMENT_SECONDS);
  });
  return args.build();
}

/** The fd of the first rendition's fMP4 output (after stdin, stdout for progress, stderr). */
export const CMAF_FIRST_OUTPUT_FD = 3;

// Encoded frames keep the source's timestamps (no CFR duplication or dropping), so transcoded
// keyframes land on exactly the copied rung's instants and segment cuts match (hlsCutThreshold).
//
// -copyts: the output timeline is the encoder's. An encoder feeding the primary and the backup
// sends both the same timestamps, and keeps its clock when one of them comes back, so segment N
// carries the same timestamps on either origin even after one restarted. Without it each FFmpeg
// starts its own timeline at its start, and a player switched from the backup to a restarted
// primary (same segment names, other timestamps) stalls (seen on a real cluster, issue #12).
// The 10 s offset (TIMELINE_OFFSET_SECONDS, an output option given per output) keeps a stream
// that starts at 0 (whose first B-frame DTS is just below 0) clear of FFmpeg's shift to
// non-negative timestamps, which only the origin that saw the start would apply: measured, it
// put a restarted primary one frame off its peer.
function ladderInput(): FfmpegArgs {
  return baseArgs().opt("-copyts").opt("-f", "flv").input("pipe:0").opt("-vsync", "passthrough");
}

const isCopied = (plan: LiveHlsPlan, r: Rendition): boolean => r.passthrough && plan.sourceIsH264;

/** The scaling graph for the encoded rungs; `videoSource` is what each rendition maps. */
function addScaling(args: FfmpegArgs, plan: LiveHlsPlan): { ordered: Rendition[]; videoSource: (r: Rendition) => string } {
  const ordered = orderedRenditions(plan);
  const encoded = ordered.filter((r) => !isCopied(plan, r));
  if (encoded.length > 0) {
    const splits = encoded.map((_, i) => `[s${i}]`).join("");
    const scales = encoded.map((r, i) => `[s${i}]scale=${r.width}:${r.height}:flags=bicubic[v${i}]`);
    const graph = encoded.length === 1 ? `[0:v]scale=${encoded[0]!.width}:${encoded[0]!.height}:flags=bicubic[v0]` : `[0:v]split=${encoded.length}${splits};${scales.join(";")}`;
    args.opt("-filter_complex", graph);
  }
  return { ordered, videoSource: (r) => (isCopied(plan, r) ? "0:v:0" : `[v${encoded.indexOf(r)}]`) };
}

/** Video stream `index` of the current output: copied, or x264 keyed on the source's keyframes. */
function addVideoCodec(args: FfmpegArgs, plan: LiveHlsPlan, r: Rendition, index: number): void {
  if (isCopied(plan, r)) {
    args.opt(`-c:v:${index}`, "copy");
    return;
  }
  const keyframes = plan.sourceIsH264 ? "source" : `expr:gte(t,n_forced*${plan.segmentSeconds})`;
  addX264Rung(args, index, { kbps: r.videoBitrateKbps, preset: plan.x264Preset, keyframes });
  if (plan.lowLatency) args.opt(`-tune:v:${index}`, "zerolatency");
  else args.opt(`-x264-params:v:${index}`, LIVE_X264_PARAMS);
}

/** AAC is copied into every variant; anything else is encoded once per variant. */
function addAudioCodec(args: FfmpegArgs, plan: LiveHlsPlan): void {
  if (!plan.hasAudio) return;
  if (plan.sourceAudioIsAac) args.opt("-c:a", "copy");
  else args.opt("-c:a", "aac").opt("-b:a", `${plan.audioBitrateKbps}k`).opt("-ar", 48000);
}

/** The variant order FFmpeg writes: the copied rung first (output index 0), then encoded ones. */
export function orderedRenditions(plan: Pick<LiveHlsPlan, "renditions" | "sourceIsH264">): Rendition[] {
  const copied = plan.renditions.filter((r) => r.passthrough && plan.sourceIsH264);
  return [...copied, ...plan.renditions.filter((r) => !copied.includes(r))];
}
