/** What the low-latency catch-up looks at, seconds. */
export interface CatchUpState {
  /** How far behind the live edge the player plays (hls.js `latency`). */
  latency: number;
  /** Where it should play (hls.js `targetLatency`: PART-HOLD-BACK for LL-HLS). */
  targetLatency: number;
  /** Media buffered ahead of the playhead. */
  forwardBuffer: number;
  /** The playlist's PART-TARGET (0 without parts). */
  partTarget: number;
  /** The playlist's TARGETDURATION. */
  targetDuration: number;
}

/**
 * The playback rate that brings a low-latency live player back to its target latency after a slow
 * start or a stall. hls.js has one (latency-controller.ts) but speeds up only with more than a
 * second buffered ahead; with LL-HLS the buffer ahead is about the hold-back, often less than a
 * second, so a player that started late stayed late: on `make bench-latency`'s loaded page every
 * LL-HLS player settled near 1 s whatever its target (MediaMTX's 0.5 s, live360's 0.99 s).
 * Here the buffer needed is what the next two parts take to arrive (at least 0.3 s): playing
 * faster with less would run dry before the next part. hls.js's curve (a logistic in the distance
 * to the target, in steps of 0.05), capped at 1.25× since it runs with less buffered. Within 50 ms
 * of the target, or more than the target plus a segment beyond it (where hls.js, too, takes it
 * that the viewer went back in time on purpose), it plays at 1×.
 *
 * Self-contained (no imports, constants inside): the latency benches run this very function in
 * their pages, so they measure the player's behaviour.
 */
export function catchUpRate(state: CatchUpState): number {
  const maxRate = 1.25;
  const distance = state.latency - state.targetLatency;
  if (!(distance > 0.05) || distance > state.targetLatency + state.targetDuration) return 1;
  if (!(state.forwardBuffer >= Math.max(0.3, 2 * state.partTarget))) return 1;
  const rate = Math.round((2 / (1 + Math.exp(-0.75 * distance))) * 20) / 20;
  return Math.min(maxRate, Math.max(1, rate));
}

/** What catchUpStateOf reads of hls.js (a structural type, so the benches' pages can pass theirs). */
export interface CatchUpSource {
  latency: number;
  targetLatency: number | null;
  currentLevel: number;
  levels: readonly { details?: { live: boolean; partTarget: number; targetduration: number } }[];
}

/**
 * The catch-up's view of an hls.js playing into `video`; undefined when there is nothing to catch
 * up (not live, paused, no target yet). Self-contained, as catchUpRate.
 */
export function catchUpStateOf(hls: CatchUpSource, video: HTMLVideoElement): CatchUpState | undefined {
  const details = hls.levels[hls.currentLevel]?.details;
  const targetLatency = hls.targetLatency;
  if (!details?.live || video.paused || targetLatency === null) return undefined;
  const { buffered, currentTime } = video;
  let forwardBuffer = 0;
  // The range being played (a small gap ahead of the playhead counts: playback jumps it).
  for (let i = 0; i < buffered.length; i++) if (buffered.start(i) <= currentTime + 0.1 && buffered.end(i) > currentTime) forwardBuffer = buffered.end(i) - currentTime;
  return { latency: hls.latency, targetLatency, forwardBuffer, partTarget: details.partTarget, targetDuration: details.targetduration };
}
