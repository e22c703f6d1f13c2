/** Labels the viewer reads: short, unit-bearing, and stable in width where it matters. */
export function formatBitrate(bitsPerSecond: number): string {
  if (!Number.isFinite(bitsPerSecond) || bitsPerSecond <= 0) return "–";
  if (bitsPerSecond >= 1_000_000) return `${(bitsPerSecond / 1_000_000).toFixed(1)} Mbps`;
  return `${Math.round(bitsPerSecond / 1000)} kbps`;
}

export function formatResolution(width: number, height: number): string {
  return width > 0 && height > 0 ? `${width}×${height}` : "unknown size";
}

export interface RungInfo {
  width: number;
  height: number;
  bitrate: number;
}

export function rungLabel(rung: RungInfo): string {
  return `${formatResolution(rung.width, rung.height)} · ${formatBitrate(rung.bitrate)}`;
}

/** A media time as m:ss or h:mm:ss. */
export function formatClock(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "0:00";
  const whole = Math.floor(seconds);
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = String(whole % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

export function formatSeconds(seconds: number | undefined): string {
  return seconds === undefined || !Number.isFinite(seconds) ? "–" : `${seconds.toFixed(1)} s`;
}
