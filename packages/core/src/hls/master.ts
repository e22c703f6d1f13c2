/**
 * Master playlists are written by live360 rather than by FFmpeg: FFmpeg leaves out CODECS,
 * RESOLUTION and FRAME-RATE for a stream it only copies, and players need all of them to
 * pick a rung before downloading anything.
 */
export interface VariantEntry {
  uri: string;
  /** Peak bits per second of the variant (video + audio), as RFC 8216 defines BANDWIDTH. */
  bandwidth: number;
  averageBandwidth: number;
  width: number;
  height: number;
  frameRate: number;
  codecs: readonly string[];
  /** Extra attributes, e.g. a projection marker for reprojected VOD rungs. */
  extra?: Readonly<Record<string, string>>;
}

function quoted(value: string): string {
  return `"${value.replace(/"/g, "")}"`;
}

export function renderMasterPlaylist(variants: readonly VariantEntry[]): string {
  // Best picture first (players start with the first listed), by size rather than measured
  // rate: a source that opens with black measures far below the rungs made from it.
  const sorted = [...variants].sort((a, b) => b.width * b.height - a.width * a.height || b.bandwidth - a.bandwidth);
  const lines = ["#EXTM3U", "#EXT-X-VERSION:6", "#EXT-X-INDEPENDENT-SEGMENTS"];
  for (const v of sorted) {
    const attrs = [
      `BANDWIDTH=${Math.round(v.bandwidth)}`,
      `AVERAGE-BANDWIDTH=${Math.round(v.averageBandwidth)}`,
      `RESOLUTION=${v.width}x${v.height}`,
      `FRAME-RATE=${v.frameRate.toFixed(3)}`,
      `CODECS=${quoted(v.codecs.join(","))}`,
      ...Object.entries(v.extra ?? {}).map(([k, val]) => `${k}=${quoted(val)}`),
    ];
    lines.push(`#EXT-X-STREAM-INF:${attrs.join(",")}`, v.uri);
  }
  return lines.join("\n") + "\n";
}

const AVC_PROFILES: Record<string, { idc: number; constraints: number }> = {
  "Constrained Baseline": { idc: 66, constraints: 0xe0 },
  Baseline: { idc: 66, constraints: 0x80 },
  Main: { idc: 77, constraints: 0x40 },
  Extended: { idc: 88, constraints: 0x00 },
  High: { idc: 100, constraints: 0x00 },
  "High 10": { idc: 110, constraints: 0x00 },
  "High 4:2:2": { idc: 122, constraints: 0x00 },
  "High 4:4:4 Predictive": { idc: 244, constraints: 0x00 },
};

const hex2 = (n: number): string => n.toString(16).toUpperCase().padStart(2, "0");

/** RFC 6381 codec string for H.264 from ffprobe's profile name and level (e.g. "High", 40). */
export function avcCodecString(profile: string, level: number): string {
  const p = AVC_PROFILES[profile] ?? AVC_PROFILES.High!;
  return `avc1.${hex2(p.idc)}${hex2(p.constraints)}${hex2(level)}`;
}

/** RFC 6381 codec string for AAC from ffprobe's profile name. */
export function aacCodecString(profile: string | undefined): string {
  if (profile === "HE-AAC") return "mp4a.40.5";
  if (profile === "HE-AACv2") return "mp4a.40.29";
  return "mp4a.40.2";
}
