import path from "node:path";
import {
  SEGMENT_PATTERN,
  VARIANT_PLAYLIST,
  addX264Rung,
  baseArgs,
  hlsCutThreshold,
  ladderForSource,
  type Projection,
  type Rendition,
} from "@live360/core";
import type { OutputProjection } from "./config.js";

/** A rung of a VOD asset: a ladder rung plus the projection it is written in. */
export interface VodRendition extends Rendition {
  projection: Projection;
  /**
   * Set on a rung re-projected to an equi-angular cubemap: the equirectangular size it is scaled
   * to first (so v360 samples an anti-aliased picture); width/height are then the cubemap's.
   */
  reprojectedFrom?: { width: number; height: number };
}

export interface VodSource {
  width: number;
  height: number;
  durationSeconds: number;
  projection: Projection;
  isH264: boolean;
  hasAudio: boolean;
  audioIsAac: boolean;
}

export interface VodPlan {
  input: string;
  outputDir: string;
  renditions: VodRendition[];
  source: VodSource;
  segmentSeconds: number;
  x264Preset: string;
  audioBitrateKbps: number;
  poster: { file: string; atSeconds: number; maxWidth: number };
}

export const POSTER_FILE = "poster.jpg";
const POSTER_MAX_WIDTH = 1280;

/**
 * The rungs a source gets: the ladder's rungs that fit it (core's ladderForSource), the copied
 * rung first. With `cubemap`, every rung below the top one is re-projected from equirectangular
 * to an equi-angular cubemap (EAC): for the same pixels per degree at the equator a cubemap
 * needs a quarter fewer pixels, which matters most where bits are scarce. The top rung stays as
 * recorded (it is usually the untouched source), and only equirectangular sources are re-projected.
 */
export function planRenditions(ladder: readonly Rendition[], source: VodSource, projection: OutputProjection): VodRendition[] {
  const fitted = ladderForSource(ladder, source).sort((a, b) => b.width * b.height - a.width * a.height);
  const copied = fitted.filter((r) => r.passthrough && source.isH264);
  const ordered = [...copied, ...fitted.filter((r) => !copied.includes(r))];
  const top = fitted[0];
  return ordered.map((r): VodRendition => {
    const reproject = projection === "cubemap" && source.projection === "equirectangular" && r !== top && !copied.includes(r);
    if (!reproject) return { ...r, projection: source.projection };
    return { ...r, ...cubemapSize(r.height), projection: "cubemap", reprojectedFrom: { width: r.width, height: r.height } };
  });
}

/**
 * EAC lays six faces out 3x2. A face of half the equirectangular height spans 90° with the
 * same pixels per degree as the equirectangular equator; faces are kept even for 4:2:0.
 */
export function cubemapSize(equirectHeight: number): { width: number; height: number } {
  const face = Math.max(2, 2 * Math.round(equirectHeight / 4));
  return { width: 3 * face, height: 2 * face };
}

/** A frame a tenth into the recording (past a camera's start-up black), at most 10 s in. */
export function posterTime(durationSeconds: number): number {
  return Math.round(Math.min(durationSeconds * 0.1, 10) * 1000) / 1000;
}

export function isCopied(r: VodRendition, source: VodSource): boolean {
  return r.passthrough && source.isH264;
}

/**
 * One FFmpeg for the whole asset: the source is decoded once and split into the transcoded
 * rungs and the poster; the pass-through rung is copied. Keyframes: with a copied rung the
 * transcoded rungs take the source's keyframes (every rung cuts on the same pictures); without
 * one, every rung is keyed on the segment clock. Each variant is a VOD playlist
 * (`#EXT-X-PLAYLIST-TYPE:VOD`, end list) of `segmentSeconds` segments, or the source's GOP
 * when that is longer.
 */
export function buildVodArgs(plan: VodPlan): string[] {
  const { source } = plan;
  const args = baseArgs().opt("-y").input(plan.input);
  const encoded = plan.renditions.filter((r) => !isCopied(r, source));
  const branches = [...encoded.map((_, i) => `[s${i}]`), "[sp]"].join("");
  const chains = encoded.map((r, i) => {
    const scaleTo = r.reprojectedFrom ?? r;
    const scale = `scale=${scaleTo.width}:${scaleTo.height}:flags=bicubic`;
    const reproject = r.reprojectedFrom ? `,v360=input=e:output=eac:w=${r.width}:h=${r.height}` : "";
    return `[s${i}]${scale}${reproject}[v${i}]`;
  });
  const poster = `[sp]trim=start=${plan.poster.atSeconds},setpts=PTS-STARTPTS,scale='min(${plan.poster.maxWidth},iw)':-2[poster]`;
  args.opt("-filter_complex", [`[0:v]split=${encoded.length + 1}${branches}`, ...chains, poster].join(";"));

  const anyCopied = plan.renditions.some((r) => isCopied(r, source));
  if (anyCopied) args.opt("-map", "0:v:0");
  encoded.forEach((_, i) => args.opt("-map", `[v${i}]`));
  if (source.hasAudio) args.each("-map", plan.renditions.map(() => "0:a:0"));

  const keyframes = anyCopied ? "source" : `expr:gte(t,n_forced*${plan.segmentSeconds})`;
  plan.renditions.forEach((r, i) => {
    if (isCopied(r, source)) args.opt(`-c:v:${i}`, "copy");
    else addX264Rung(args, i, { kbps: r.videoBitrateKbps, preset: plan.x264Preset, keyframes });
  });
  if (source.hasAudio) {
    if (source.audioIsAac) args.opt("-c:a", "copy");
    else args.opt("-c:a", "aac").opt("-b:a", `${plan.audioBitrateKbps}k`).opt("-ar", 48000);
  }
  const streamMap = plan.renditions.map((r, i) => (source.hasAudio ? `v:${i},a:${i},name:${r.name}` : `v:${i},name:${r.name}`));
  args
    .opt("-f", "hls")
    .opt("-hls_time", hlsCutThreshold(plan.segmentSeconds))
    .opt("-hls_playlist_type", "vod")
    .opt("-hls_list_size", 0)
    .opt("-hls_flags", "independent_segments")
    .opt("-hls_segment_type", "mpegts")
    .opt("-hls_segment_filename", path.join(plan.outputDir, "%v", SEGMENT_PATTERN))
    .opt("-var_stream_map", streamMap.join(" "))
    .output(path.join(plan.outputDir, "%v", VARIANT_PLAYLIST));
  args.opt("-map", "[poster]").opt("-frames:v", 1).opt("-q:v", 3).opt("-f", "image2").opt("-update", 1).output(plan.poster.file);
  return args.build();
}

export function posterPlan(outputDir: string, durationSeconds: number): VodPlan["poster"] {
  return { file: path.join(outputDir, POSTER_FILE), atSeconds: posterTime(durationSeconds), maxWidth: POSTER_MAX_WIDTH };
}
