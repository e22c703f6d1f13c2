import { Live360Error } from "@live360/core";

/**
 * Why a job can never succeed as sent. Such a message is released, not deleted: after the
 * queue's maxReceiveCount it lands in the dead-letter queue, where an operator can look at it
 * (the reference architecture deleted these and lost them).
 */
export const REJECT_REASONS = ["invalid-message", "unknown-bucket", "object-missing", "not-a-video", "undecodable", "needs-encryption"] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export class JobRejectedError extends Live360Error {
  constructor(
    readonly reason: RejectReason,
    readonly detail: string,
    options?: ErrorOptions,
  ) {
    super(`job refused (${reason}): ${detail}`, options);
  }
}

/** Why a job stopped before finishing without being at fault. */
export type AbortCause = "shutdown" | "lost-message";

export class JobAbortedError extends Live360Error {
  constructor(readonly why: AbortCause) {
    super(why === "shutdown" ? "job aborted: the worker is shutting down" : "job aborted: the message was handed to another worker");
  }
}

export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new JobAbortedError(abortCause(signal));
}

export function abortCause(signal: AbortSignal): AbortCause {
  return signal.reason === "lost-message" ? "lost-message" : "shutdown";
}

/**
 * The transcode ran past its deadline (max(--transcode-deadline-min, duration ×
 * --transcode-deadline-factor)) and was killed. A failure worth a retry, as a stalled one is:
 * another node, or a quieter one, may be fast enough; one that never is ends in the dead-letter queue.
 */
export class TranscodeDeadlineError extends Live360Error {
  constructor(
    readonly durationSeconds: number,
    readonly deadlineSeconds: number,
  ) {
    super(`transcode of a ${round(durationSeconds)} s recording still running at its deadline of ${round(deadlineSeconds)} s; killed`);
  }
}

function round(seconds: number): number {
  return Math.round(seconds * 10) / 10;
}
