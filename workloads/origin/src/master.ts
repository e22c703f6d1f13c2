import { readFile, rename, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import {
  aacCodecString,
  avcCodecString,
  parseFrameRate,
  probe,
  renderMasterPlaylist,
  type Rendition,
  type VariantEntry,
} from "@live360/core";
import { VARIANT_PLAYLIST } from "./hls-command.js";

export const MASTER_PLAYLIST = "master.m3u8";

/** First segment URI listed in a playlist, or undefined when none is listed yet. */
export function firstSegment(playlist: string): { uri: string; duration: number } | undefined {
  const lines = playlist.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const m = /^#EXTINF:([\d.]+)/.exec(lines[i]!);
    if (!m) continue;
    for (let j = i + 1; j < lines.length; j++) {
      const line = lines[j]!.trim();
      if (line !== "" && !line.startsWith("#")) return { uri: line, duration: Number(m[1]) };
    }
  }
  return undefined;
}

/**
 * Describes one variant from its first segment: codecs (profile/level as actually encoded,
 * which FFmpeg does not write for a copied stream), size, frame rate and measured bitrate.
 * The declared BANDWIDTH never falls below what the rung is configured to peak at.
 */
export async function describeVariant(
  streamDir: string,
  rendition: Rendition,
  audioKbps: number,
): Promise<VariantEntry | undefined> {
  const variantDir = path.join(streamDir, rendition.name);
  const playlist = await readFile(path.join(variantDir, VARIANT_PLAYLIST), "utf8").catch(() => "");
  const first = firstSegment(playlist);
  if (!first || first.duration <= 0) return undefined;
  const segmentFile = path.join(variantDir, first.uri);
  const [info, size] = await Promise.all([probe(segmentFile), stat(segmentFile).then((s) => s.size)]);
  const video = info.streams.find((s) => s.codec_type === "video");
  const audio = info.streams.find((s) => s.codec_type === "audio");
  if (!video) return undefined;
  const measured = (size * 8) / first.duration;
  const configuredAverage = rendition.passthrough ? 0 : (rendition.videoBitrateKbps + audioKbps) * 1000;
  const configuredPeak = rendition.passthrough ? 0 : (rendition.videoBitrateKbps * 1.07 + audioKbps) * 1000;
  const codecs = [video.codec_name === "h264" ? avcCodecString(video.profile ?? "High", video.level ?? 40) : video.codec_name];
  if (audio) codecs.push(aacCodecString(audio.profile));
  return {
    uri: `${rendition.name}/${VARIANT_PLAYLIST}`,
    averageBandwidth: Math.max(measured, configuredAverage),
    // A single segment underestimates peaks of a variable-rate source; 20% covers typical CBR-ish encoders.
    bandwidth: Math.max(measured * 1.2, configuredPeak * 1.1),
    width: video.width ?? rendition.width,
    height: video.height ?? rendition.height,
    frameRate: parseFrameRate(video.avg_frame_rate) || parseFrameRate(video.r_frame_rate),
    codecs,
  };
}

/** Writes the master playlist atomically, so a reader never sees half of it. */
export async function writeMasterPlaylist(streamDir: string, variants: readonly VariantEntry[]): Promise<void> {
  const file = path.join(streamDir, MASTER_PLAYLIST);
  await writeFile(`${file}.tmp`, renderMasterPlaylist(variants));
  await rename(`${file}.tmp`, file);
}
