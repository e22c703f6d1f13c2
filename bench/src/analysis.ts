import type { ListedSegment } from "./playlists.js";
import type { RunResult } from "./report.js";

/** Linear-interpolated percentile (p in 0..100) of a non-empty list. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low);
}

export interface SegmentDelay {
  /** Source media time (s) of the segment's last frame. */
  lastFrameMediaSeconds: number;
  /** From the moment that frame was sent to the moment the segment was listed. */
  delaySeconds: number;
}

/**
 * Availability delay of each segment of one variant. Segment k ends at source media time
 * firstFrame / fps + (durations of segments 0..k); its last frame is one frame earlier and
 * was sent at sendStart + that media time. The first segment (stack start-up), the last
 * (end of stream) and segments whose listing time is unknown are left out: the figure
 * describes the steady state.
 */
export function segmentDelays(
  segments: readonly ListedSegment[],
  firstFrameIndex: number,
  fps: number,
  sendStartEpochMs: number,
): SegmentDelay[] {
  const delays: SegmentDelay[] = [];
  let endMedia = firstFrameIndex / fps;
  segments.forEach((segment, k) => {
    endMedia += segment.durationSeconds;
    if (k === 0 || k === segments.length - 1 || !Number.isFinite(segment.listedAtMs)) return;
    const lastFrameMediaSeconds = endMedia - 1 / fps;
    const sentAtMs = sendStartEpochMs + lastFrameMediaSeconds * 1000;
    delays.push({ lastFrameMediaSeconds, delaySeconds: (segment.listedAtMs - sentAtMs) / 1000 });
  });
  return delays;
}

/**
 * What a player at the live edge is behind the encoder: the newest segment appears
 * `availability` after its last frame was sent, and a player holding back `holdBackSegments`
 * segment durations from the end of the playlist plays frames sent that much earlier still.
 *   live-edge delay = availability delay + holdBackSegments × segment duration
 * holdBackSegments = 1 is the tightest a segment-based player can run (it starts the newest
 * segment as soon as it is listed); 3 is the HLS spec's and hls.js's default hold-back.
 */
export function liveEdgeDelay(availabilitySeconds: number, segmentSeconds: number, holdBackSegments: number): number {
  return availabilitySeconds + holdBackSegments * segmentSeconds;
}

/** Least-squares slope of y over x: a stack that falls behind real time shows delays that grow. */
export function slope(points: readonly { x: number; y: number }[]): number {
  if (points.length < 2) return 0;
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const sxx = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  const sxy = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0);
  return sxx === 0 ? 0 : sxy / sxx;
}

/**
 * Folds several rounds of the same stacks into one result per stack. Each stack's CPU is
 * compared with the floor of the same round, because this machine's speed drifts by ±15 %
 * between minutes (the floor alone measured 0.61 and 0.74 CPU-s per media second in two runs);
 * the median of those ratios is the figure, and the run with the median CPU supplies the rest.
 * `rounds[i]` holds round i's results, in any order, with the floor's id `floorId`.
 */
export function combineRounds(rounds: readonly (readonly RunResult[])[], floorId: string): RunResult[] {
  const median = (values: readonly number[]): number => percentile(values, 50);
  const ids = [...new Set(rounds.flatMap((round) => round.map((r) => r.id)))];
  return ids.map((id) => {
    const runs = rounds.map((round) => round.find((r) => r.id === id)).filter((r): r is RunResult => r !== undefined);
    const measured = runs.filter((r) => !r.skipped && r.cpuPerMediaSecond !== undefined);
    if (measured.length === 0) return runs[0]!;
    const ratioRounds = rounds.flatMap((round) => {
      const run = round.find((r) => r.id === id)?.cpuPerMediaSecond;
      const floor = round.find((r) => r.id === floorId)?.cpuPerMediaSecond;
      return run !== undefined && floor !== undefined && floor > 0 ? [run / floor] : [];
    });
    const byCpu = [...measured].sort((a, b) => a.cpuPerMediaSecond! - b.cpuPerMediaSecond!);
    const representative = byCpu[Math.floor((byCpu.length - 1) / 2)]!;
    return {
      ...representative,
      cpuPerMediaSecond: median(measured.map((r) => r.cpuPerMediaSecond!)),
      cpuRounds: measured.map((r) => r.cpuPerMediaSecond!),
      ratioToFloor: ratioRounds.length > 0 ? median(ratioRounds) : undefined,
      ratioRounds,
      peakRssMiB: Math.max(...measured.map((r) => r.peakRssMiB ?? 0)),
      keepsUp: measured.every((r) => r.keepsUp === true),
    };
  });
}
