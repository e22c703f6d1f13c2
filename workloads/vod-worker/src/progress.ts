/** Percent done and time left of one transcode, from FFmpeg's `-progress` media time. */
export interface JobProgress {
  /** 0..1 of the source's duration. */
  ratio: number;
  /** Estimated seconds left, once there is enough progress to estimate from. */
  etaSeconds: number | undefined;
  /** Media seconds transcoded per wall-clock second so far. */
  speed: number;
}

export class ProgressTracker {
  constructor(
    private readonly durationSeconds: number,
    private readonly startedAtMs: number = Date.now(),
  ) {}

  update(outTimeSeconds: number, nowMs: number = Date.now()): JobProgress {
    const ratio = this.durationSeconds > 0 ? Math.min(1, Math.max(0, outTimeSeconds / this.durationSeconds)) : 0;
    const elapsed = Math.max(0, (nowMs - this.startedAtMs) / 1000);
    const speed = elapsed > 0 ? outTimeSeconds / elapsed : 0;
    // The average rate so far, not FFmpeg's instantaneous speed: start-up and the encoders'
    // lookahead make the first seconds unrepresentative either way, the average settles.
    const etaSeconds = ratio > 0 && speed > 0 ? (this.durationSeconds - Math.min(outTimeSeconds, this.durationSeconds)) / speed : undefined;
    return { ratio, etaSeconds, speed };
  }
}
