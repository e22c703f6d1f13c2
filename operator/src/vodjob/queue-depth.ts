import { Counter, Gauge, sleep, type JobQueue, type Logger, type QueueCounts, type Registry } from "@live360/core";

/** SQS's approximate counts settle within about a minute: reading them more often buys nothing. */
export const QUEUE_DEPTH_INTERVAL_MS = 30_000;

const STATES: readonly (keyof QueueCounts)[] = ["visible", "inFlight", "delayed"];
const STATE_LABEL: Record<keyof QueueCounts, string> = { visible: "visible", inFlight: "in_flight", delayed: "delayed" };

export interface QueueDepthOptions {
  queue: JobQueue;
  registry: Registry;
  logger: Logger;
  intervalMs?: number;
}

/**
 * The VOD queue's and its dead-letter queue's depths as metrics (the chart's dead-letter alert and
 * VOD dashboard read them; without this only CloudWatch knew). The dead-letter queue is the one the
 * queue's redrive policy names, looked up again after every failure, so a policy changed on the
 * queue is followed without a restart. A failed read keeps the last values, counts the failure and
 * logs once until a read succeeds again: SQS being away must neither spam the log nor stop the loop.
 */
export function queueDepthRunnable(options: QueueDepthOptions): (signal: AbortSignal) => Promise<void> {
  const { queue, registry, logger } = options;
  const intervalMs = options.intervalMs ?? QUEUE_DEPTH_INTERVAL_MS;
  const messages = new Gauge({
    name: "live360_operator_vod_queue_messages",
    help: "Messages in the VOD queue (queue=jobs) and its dead-letter queue (queue=dead_letter) by state, as SQS approximates them; read every 30 s while leading.",
    labelNames: ["queue", "state"],
    registers: [registry],
  });
  const failures = new Counter({
    name: "live360_operator_vod_queue_depth_failures_total",
    help: "Reads of the VOD queues' depths that failed (the gauges keep their last values).",
    registers: [registry],
  });
  const record = (name: string, counts: QueueCounts): void => {
    for (const state of STATES) messages.set({ queue: name, state: STATE_LABEL[state] }, counts[state]);
  };

  return async (signal) => {
    let deadLetter: JobQueue | undefined;
    let deadLetterKnown = false;
    let failing = false;
    while (!signal.aborted) {
      try {
        if (!deadLetterKnown) {
          deadLetter = await queue.deadLetterQueue();
          deadLetterKnown = true;
          if (!deadLetter) logger.warn("the VOD queue has no dead-letter queue: a recording that cannot be transcoded is retried until SQS drops it", { queue: queue.name });
        }
        record("jobs", await queue.counts());
        if (deadLetter) record("dead_letter", await deadLetter.counts());
        if (failing) logger.info("reading the VOD queues' depths again");
        failing = false;
      } catch (error) {
        failures.inc();
        deadLetterKnown = false;
        if (!failing) logger.warn("cannot read the VOD queues' depths; the metrics keep their last values until a read succeeds", { queue: queue.name, error });
        failing = true;
      }
      await sleep(intervalMs, signal);
    }
    // Only the leader reads the queues: a replica that stops leading must not go on reporting
    // what it last saw beside the new leader's values.
    messages.reset();
  };
}
