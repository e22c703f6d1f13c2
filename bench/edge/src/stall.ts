import { percentile } from "@live360/bench/dist/analysis.js";
import type { ViewerLoadResult } from "./viewers.js";

/**
 * What a failover cost the simulated viewers, from their timelines (Date.now() ms).
 *
 * Delivery stall: the longest wait for the next segment beyond the live cadence (a target
 * duration), over the gaps that end after the event or are still open at the end. It does not
 * depend on any buffer, so it is the strict measure; the same figure over the same length of
 * time before the event is the baseline that polling alone causes.
 *
 * Playback stall: how long a player holding what it downloaded (hls.js starts three segments
 * behind live, so ~3 target durations of buffer) would have stood still after the event.
 */
export interface ViewerStall {
  deliveryStallMs: number;
  baselineDeliveryStallMs: number;
  playbackStallMs: number;
  /** No segment after the event at all: the stall lasted at least until the run ended. */
  stillWaiting: boolean;
  errorsAfterEvent: number;
}

export function viewerStall(
  segmentsAt: readonly number[],
  errorsAt: readonly number[],
  window: { eventAt: number; endedAt: number; startedAt: number },
  cadenceMs: number,
  segmentMs: number,
): ViewerStall {
  const { eventAt, endedAt, startedAt } = window;
  const baselineFrom = Math.max(startedAt, eventAt - (endedAt - eventAt));
  let deliveryStall = 0;
  let baseline = 0;
  let previous: number | undefined;
  for (const at of segmentsAt) {
    if (previous !== undefined) {
      const over = Math.max(0, at - previous - cadenceMs);
      if (at > eventAt) deliveryStall = Math.max(deliveryStall, over);
      else if (previous >= baselineFrom) baseline = Math.max(baseline, over);
    }
    previous = at;
  }
  const stillWaiting = previous === undefined || previous <= eventAt;
  // The gap still open at the end counts too: for a viewer still waiting it is the whole failover.
  if (previous !== undefined) deliveryStall = Math.max(deliveryStall, endedAt - previous - cadenceMs);
  return {
    deliveryStallMs: deliveryStall,
    baselineDeliveryStallMs: baseline,
    playbackStallMs: playbackStallAfter(segmentsAt, eventAt, endedAt, segmentMs),
    stillWaiting,
    errorsAfterEvent: errorsAt.filter((at) => at > eventAt).length,
  };
}

/**
 * Longest time a player's position stood still after `eventAt`: playback starts with the first
 * segment, each segment adds `segmentMs` of media, and the position advances in real time while
 * there is media ahead of it.
 */
export function playbackStallAfter(segmentsAt: readonly number[], eventAt: number, endedAt: number, segmentMs: number): number {
  if (segmentsAt.length === 0) return 0;
  let buffered = 0;
  let played = 0;
  let clock = segmentsAt[0]!;
  let longest = 0;
  const advanceTo = (to: number): void => {
    const ahead = buffered - played;
    const elapsed = to - clock;
    if (elapsed > ahead) {
      if (to > eventAt) longest = Math.max(longest, elapsed - ahead - Math.max(0, eventAt - (clock + ahead)));
      played = buffered;
    } else {
      played += elapsed;
    }
    clock = to;
  };
  for (const at of segmentsAt) {
    advanceTo(at);
    buffered += segmentMs;
  }
  advanceTo(endedAt);
  return longest;
}

export interface StallSummary {
  viewers: number;
  errorsAfterEvent: number;
  viewersWithErrors: number;
  /** Viewers that got no segment at all between the event and the end of the run. */
  viewersStillWaiting: number;
  deliveryStallMs: { p50: number; p99: number; max: number };
  baselineDeliveryStallMs: { p50: number; p99: number; max: number };
  playbackStallMs: { p50: number; p99: number; max: number };
}

const spread = (values: number[]): { p50: number; p99: number; max: number } => ({
  p50: Math.round(percentile(values, 50)),
  p99: Math.round(percentile(values, 99)),
  max: Math.round(Math.max(...values)),
});

export function summarizeStalls(run: ViewerLoadResult): StallSummary {
  if (run.eventAt === undefined) throw new Error("the run had no event to measure a stall from");
  const window = { eventAt: run.eventAt, endedAt: run.endedAt, startedAt: run.startedAt };
  const cadenceMs = run.targetDurationSeconds * 1000;
  const stalls = run.timelines.map((t) => viewerStall(t.segmentsAt, t.errorsAt, window, cadenceMs, cadenceMs));
  return {
    viewers: run.viewers,
    errorsAfterEvent: stalls.reduce((sum, s) => sum + s.errorsAfterEvent, 0),
    viewersWithErrors: stalls.filter((s) => s.errorsAfterEvent > 0).length,
    viewersStillWaiting: stalls.filter((s) => s.stillWaiting).length,
    deliveryStallMs: spread(stalls.map((s) => s.deliveryStallMs)),
    baselineDeliveryStallMs: spread(stalls.map((s) => s.baselineDeliveryStallMs)),
    playbackStallMs: spread(stalls.map((s) => s.playbackStallMs)),
  };
}
