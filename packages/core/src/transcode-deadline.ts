/**
 * How long one VOD transcode may run: max(minSeconds, the recording's duration × factor). The
 * VOD worker kills a transcode past it (and releases the job for a retry); the operator bounds a
 * queue-made VodJob's Job by it, all attempts together.
 */
export interface TranscodeDeadline {
  factor: number;
  minSeconds: number;
}

export const DEFAULT_TRANSCODE_DEADLINE: TranscodeDeadline = {
  // 4× real time. The benchmark (bench/results/vod.md) transcodes a 1920x960 recording with the
  // default ladder at 0.62× real time on two EPYC cores. A 3840x1920 recording decodes four times
  // the pixels, an older Spot generation, a container throttled at its CPU limit or --concurrency
  // sharing the cores are each slower again: 4× leaves about six times the measured speed for
  // them together. A deadline too short costs more than one too long: healthy jobs would be
  // killed on every attempt and end in the dead-letter queue, while a hung FFmpeg is already
  // killed by the stall watchdog within a minute.
  factor: 4,
  // Two minutes at least: FFmpeg's start-up, the encoders' lookahead and the poster cost seconds
  // whatever the length, and a short recording on a busy node must not fail for them.
  minSeconds: 120,
};

export function transcodeDeadlineSeconds(durationSeconds: number, deadline: TranscodeDeadline = DEFAULT_TRANSCODE_DEADLINE): number {
  return Math.max(deadline.minSeconds, durationSeconds * deadline.factor);
}
