import path from "node:path";
import { LIVE_X264_PARAMS, SEGMENT_PATTERN, VARIANT_PLAYLIST, addX264Rung, baseArgs, hlsCutThreshold, type Rendition } from "@live360/core";

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

/**
 * One FFmpeg for the whole ladder: the source is decoded once, split, and scaled per rung;
 * the pass-through rung is copied bit for bit. Transcoded rungs take their keyframes from the
 * source's (`-force_key_frames source`), so every variant cuts segments at the same instants
 * and players switch rungs cleanly. Without an H.264 source there is nothing to align with,
 * so every rung is keyframed on the segment clock instead.
 */
/** Added to the encoder's timestamps in every origin's output (see buildLiveHlsArgs). */
export const TIMELINE_OFFSET_SECONDS = 10;

export function buildLiveHlsArgs(plan: LiveHlsPlan): string[] {
  // Encoded frames keep the source's timestamps (no CFR duplication or dropping), so transcoded
  // keyframes land on exactly the copied rung's instants and segment cuts match (hlsCutThreshold).
  //
  // -copyts: the output timeline is the encoder's. An encoder feeding the primary and the backup
  // sends both the same timestamps, and keeps its clock when one of them comes back, so segment N
  // carries the same timestamps on either origin even after one restarted. Without it each FFmpeg
  // starts its own timeline at its start, and a player switched from the backup to a restarted
  // primary (same segment names, other timestamps) stalls (seen on a real cluster, issue #12).
  // The 10 s offset keeps a stream that starts at 0 (whose first B-frame DTS is just below 0)
  // clear of FFmpeg's shift to non-negative timestamps, which only the origin that saw the start
  // would apply: measured, it put a restarted primary one frame off its peer.
  const args = baseArgs()
    .opt("-copyts")
    .opt("-f", "flv")
    .input("pipe:0")
    .opt("-vsync", "passthrough")
    .opt("-output_ts_offset", TIMELINE_OFFSET_SECONDS);
  const ordered = orderedRenditions(plan);
  const isCopied = (r: Rendition): boolean => r.passthrough && plan.sourceIsH264;
  const encoded = ordered.filter((r) => !isCopied(r));

  if (encoded.length > 0) {
    const splits = encoded.map((_, i) => `[s${i}]`).join("");
    const scales = encoded.map((r, i) => `[s${i}]scale=${r.width}:${r.height}:flags=bicubic[v${i}]`);
    const graph = encoded.length === 1 ? `[0:v]scale=${encoded[0]!.width}:${encoded[0]!.height}:flags=bicubic[v0]` : `[0:v]split=${encoded.length}${splits};${scales.join(";")}`;
    args.opt("-filter_complex", graph);
  }
  if (ordered.some(isCopied)) args.opt("-map", "0:v:0");
  encoded.forEach((_, i) => args.opt("-map", `[v${i}]`));
  if (plan.hasAudio) args.each("-map", ordered.map(() => "0:a:0"));

  const keyframes = plan.sourceIsH264 ? "source" : `expr:gte(t,n_forced*${plan.segmentSeconds})`;
  ordered.forEach((r, i) => {
    if (isCopied(r)) {
      args.opt(`-c:v:${i}`, "copy");
      return;
    }
    addX264Rung(args, i, { kbps: r.videoBitrateKbps, preset: plan.x264Preset, keyframes });
    if (plan.lowLatency) args.opt(`-tune:v:${i}`, "zerolatency");
    else args.opt(`-x264-params:v:${i}`, LIVE_X264_PARAMS);
  });
  if (plan.hasAudio) {
    if (plan.sourceAudioIsAac) args.opt("-c:a", "copy");
    else args.opt("-c:a", "aac").opt("-b:a", `${plan.audioBitrateKbps}k`).opt("-ar", 48000);
  }

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

/** The variant order FFmpeg writes: the copied rung first (output index 0), then encoded ones. */
export function orderedRenditions(plan: Pick<LiveHlsPlan, "renditions" | "sourceIsH264">): Rendition[] {
  const copied = plan.renditions.filter((r) => r.passthrough && plan.sourceIsH264);
  return [...copied, ...plan.renditions.filter((r) => !copied.includes(r))];
}
