import { open, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { parseFrameRate, probe } from "../ffmpeg/probe.js";
import type { Rendition } from "./ladder.js";
import { aacCodecString, avcCodecString, type VariantEntry } from "./master.js";
import { avcCodecStringFromTs } from "./ts-sps.js";

/** Live and VOD variants share one layout: `<variant>/index.m3u8` and `<variant>/seg_00000.ts`. */
export const VARIANT_PLAYLIST = "index.m3u8";
export const SEGMENT_PATTERN = "seg_%05d.ts";

export interface PlaylistSegment {
  uri: string;
  duration: number;
  /** Preceded by `#EXT-X-DISCONTINUITY`: a new encoder run (restart, reconnect, new parameters) begins here. */
  discontinuity: boolean;
}

/** The segments a media playlist lists, in order, the first one's media sequence number, and whether it has its end list. */
export function parseMediaPlaylist(playlist: string): { segments: PlaylistSegment[]; mediaSequence: number; ended: boolean } {
  const segments: PlaylistSegment[] = [];
  let duration: number | undefined;
  let discontinuity = false;
  let mediaSequence = 0;
  for (const raw of playlist.split("\n")) {
    const line = raw.trim();
    const extinf = /^#EXTINF:([\d.]+)/.exec(line);
    const sequence = /^#EXT-X-MEDIA-SEQUENCE:(\d+)$/.exec(line);
    if (sequence) mediaSequence = Number(sequence[1]);
    else if (extinf) duration = Number(extinf[1]);
    else if (line === "#EXT-X-DISCONTINUITY") discontinuity = true;
    else if (line !== "" && !line.startsWith("#") && duration !== undefined) {
      segments.push({ uri: line, duration, discontinuity });
      duration = undefined;
      discontinuity = false;
    }
  }
  return { segments, mediaSequence, ended: playlist.includes("#EXT-X-ENDLIST") };
}

/** First segment listed in a playlist, or undefined when none is listed yet. */
export function firstSegment(playlist: string): PlaylistSegment | undefined {
  return parseMediaPlaylist(playlist).segments[0];
}

export interface DescribeVariantOptions {
  /**
   * `first-segment` (live: only the first segment exists yet) measures one segment and never
   * declares less than the rung is configured for; `all-segments` (VOD: the variant is complete)
   * declares the measured average and the peak segment bitrate, as RFC 8216 defines them.
   */
  bandwidth?: "first-segment" | "all-segments" | "live-window";
  /**
   * Live: describe only the current run of the encoder, i.e. the segments after the playlist's
   * last discontinuity, written since this time (ms since the epoch). A run with no segment yet
   * is not described (undefined).
   */
  runStartedAtMs?: number;
  /** Segments the described run must list (for `live-window`, a window's worth); fewer: undefined. */
  minSegments?: number;
}

/**
 * Describes one variant from its playlist and first segment: codecs (profile/level as actually
 * encoded, which FFmpeg does not write for a copied stream), size, frame rate and bitrate.
 */
export async function describeVariant(
  streamDir: string,
  rendition: Rendition,
  audioKbps: number,
  options: DescribeVariantOptions = {},
): Promise<VariantEntry | undefined> {
  const variantDir = path.join(streamDir, rendition.name);
  const playlist = await readFile(path.join(variantDir, VARIANT_PLAYLIST), "utf8").catch(() => "");
  const segments = await segmentsOfRun(variantDir, parseMediaPlaylist(playlist).segments, options.runStartedAtMs);
  const first = segments[0];
  if (!first || first.duration <= 0 || segments.length < (options.minSegments ?? 1)) return undefined;
  const segmentFile = path.join(variantDir, first.uri);
  const info = await probe(segmentFile);
  const video = info.streams.find((s) => s.codec_type === "video");
  const audio = info.streams.find((s) => s.codec_type === "audio");
  if (!video) return undefined;
  const codecs = [
    video.codec_name === "h264"
      ? ((await avcCodecStringOfSegment(segmentFile)) ?? avcCodecString(video.profile ?? "High", video.level ?? 40))
      : video.codec_name,
  ];
  if (audio) codecs.push(aacCodecString(audio.profile));
  const rates =
    options.bandwidth === "all-segments"
      ? await measuredRates(variantDir, segments)
      : options.bandwidth === "live-window"
        ? await liveWindowRates(variantDir, segments, rendition, audioKbps)
        : await firstSegmentRates(variantDir, first, rendition, audioKbps);
  return {
    uri: `${rendition.name}/${VARIANT_PLAYLIST}`,
    ...rates,
    width: video.width ?? rendition.width,
    height: video.height ?? rendition.height,
    frameRate: parseFrameRate(video.avg_frame_rate) || parseFrameRate(video.r_frame_rate),
    codecs,
  };
}

/** Bytes of a segment's start read for its SPS: the SPS comes with the first keyframe. */
const SPS_SEARCH_BYTES = 512 * 1024;

/** The codec string from the SPS in a segment's first bytes (undefined if it has none there). */
async function avcCodecStringOfSegment(file: string): Promise<string | undefined> {
  const handle = await open(file, "r");
  try {
    const buffer = Buffer.alloc(SPS_SEARCH_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, SPS_SEARCH_BYTES, 0);
    return avcCodecStringFromTs(buffer.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}

type Rates = Pick<VariantEntry, "bandwidth" | "averageBandwidth">;

/** The segments of the current encoder run (see DescribeVariantOptions.runStartedAtMs). */
async function segmentsOfRun(variantDir: string, segments: PlaylistSegment[], runStartedAtMs: number | undefined): Promise<PlaylistSegment[]> {
  if (runStartedAtMs === undefined) return segments;
  const lastDiscontinuity = segments.findLastIndex((s) => s.discontinuity);
  const run = segments.slice(Math.max(0, lastDiscontinuity));
  // Until the new run's first segment is listed, the last discontinuity may still be an earlier run's.
  const firstWritten = run[0] && (await stat(path.join(variantDir, run[0].uri)).catch(() => undefined))?.mtimeMs;
  return firstWritten !== undefined && firstWritten >= runStartedAtMs ? run : [];
}

/** What a transcoded rung is configured to average and to peak at (x264's VBV allows 7 % over). */
function configuredRates(rendition: Rendition, audioKbps: number): { average: number; peak: number } {
  if (rendition.passthrough) return { average: 0, peak: 0 };
  return { average: (rendition.videoBitrateKbps + audioKbps) * 1000, peak: (rendition.videoBitrateKbps * 1.07 + audioKbps) * 1000 };
}

/** The declared BANDWIDTH never falls below what the rung is configured to peak at. */
async function firstSegmentRates(variantDir: string, first: PlaylistSegment, rendition: Rendition, audioKbps: number): Promise<Rates> {
  const size = (await stat(path.join(variantDir, first.uri))).size;
  const measured = (size * 8) / first.duration;
  const { average: configuredAverage, peak: configuredPeak } = configuredRates(rendition, audioKbps);
  return {
    averageBandwidth: Math.max(measured, configuredAverage),
    // A single segment underestimates peaks of a variable-rate source; 20% covers typical CBR-ish encoders.
    bandwidth: Math.max(measured * 1.2, configuredPeak * 1.1),
  };
}

/**
 * A live window measured: AVERAGE-BANDWIDTH is the window's real average, as RFC 8216 defines it.
 * BANDWIDTH keeps headroom over the window's peak and the rung's configured peak, since later
 * segments of a live source can peak higher than any seen so far.
 */
async function liveWindowRates(variantDir: string, segments: readonly PlaylistSegment[], rendition: Rendition, audioKbps: number): Promise<Rates> {
  const measured = await measuredRates(variantDir, segments);
  return { averageBandwidth: measured.averageBandwidth, bandwidth: Math.max(measured.bandwidth, configuredRates(rendition, audioKbps).peak) * 1.1 };
}

async function measuredRates(variantDir: string, segments: readonly PlaylistSegment[]): Promise<Rates> {
  let bits = 0;
  let seconds = 0;
  let peak = 0;
  for (const segment of segments) {
    const size = (await stat(path.join(variantDir, segment.uri))).size;
    bits += size * 8;
    seconds += segment.duration;
    if (segment.duration > 0) peak = Math.max(peak, (size * 8) / segment.duration);
  }
  return { averageBandwidth: seconds > 0 ? bits / seconds : 0, bandwidth: peak };
}
