/**
 * Glass-to-glass latency as a viewer experiences it: wall clock now minus the wall-clock time
 * at which the frame on screen was captured, which the packager stamps on each segment with
 * EXT-X-PROGRAM-DATE-TIME. Undefined without a date (no tag, or not known yet).
 */
export function liveLatencySeconds(nowMs: number, playingDateMs: number | undefined): number | undefined {
  if (playingDateMs === undefined || !Number.isFinite(playingDateMs) || playingDateMs <= 0) return undefined;
  return (nowMs - playingDateMs) / 1000;
}

/**
 * Whether to offer "go to live": the viewer is further behind the point hls.js would sync to
 * than about two segments (pausing, seeking back, or a long stall). Small drift is normal
 * and offering the button for it would make it flicker.
 */
export function isBehindLive(currentTime: number, liveSyncPosition: number | undefined, targetDurationSeconds: number): boolean {
  if (liveSyncPosition === undefined || !Number.isFinite(liveSyncPosition)) return false;
  return liveSyncPosition - currentTime > Math.max(3, 2 * targetDurationSeconds);
}
