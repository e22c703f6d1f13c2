import type { KubernetesObject } from "@kubernetes/client-node";
import { Counter, Gauge, Histogram, type Logger, type Registry } from "@live360/core";
import type { Informer } from "./informer.js";
import { objectKey } from "./resources.js";
import { WorkQueue, type BackoffPolicy } from "./workqueue.js";

/** What a reconcile asks of the runner besides "done". */
export interface ReconcileResult {
  /** Look again after this long even if nothing changes (e.g. to poll an origin's /stat). */
  requeueAfterMs?: number;
}

/**
 * Brings the world in line with the object named `key`, reading current state from caches. It is
 * told only the key, never what happened: whether the object was created, edited, deleted, or
 * nothing happened at all (a resync), the answer is computed the same way from what exists now.
 */
export type Reconcile = (key: string) => Promise<ReconcileResult | void>;

export interface ControllerOptions {
  /** For logs and metric labels, e.g. `liveevent`. */
  name: string;
  reconcile: Reconcile;
  logger: Logger;
  /** Keys reconciled in parallel; one key is never reconciled twice at once. */
  workers?: number;
  /** Every key of the primary informer is looked at again this often, catching anything missed. */
  resyncIntervalMs?: number;
  backoff?: BackoffPolicy;
  metrics?: ControllerMetrics;
}

export interface ControllerMetrics {
  reconciles: Counter<"controller" | "result">;
  duration: Histogram<"controller">;
  queueDepth: Gauge<"controller">;
}

/** The operator's reconcile metrics, registered once per registry and shared by its controllers. */
export function createControllerMetrics(registry: Registry): ControllerMetrics {
  return {
    reconciles: new Counter({
      name: "live360_operator_reconcile_total",
      help: "Reconciles by controller and result (success, requeue, error).",
      labelNames: ["controller", "result"],
      registers: [registry],
    }),
    duration: new Histogram({
      name: "live360_operator_reconcile_duration_seconds",
      help: "Time spent in one reconcile.",
      labelNames: ["controller"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: "live360_operator_queue_depth",
      help: "Keys waiting in the controller's work queue.",
      labelNames: ["controller"],
      registers: [registry],
    }),
  };
}

/**
 * Runs a reconcile function over a work queue fed by informers. Events only ever enqueue keys;
 * failures retry with per-key exponential backoff; a periodic resync re-enqueues every primary
 * key; stop() lets in-flight reconciles finish so none is cut off half-way through its writes.
 */
export class Controller {
  readonly queue: WorkQueue;
  private readonly primaries: Informer<KubernetesObject>[] = [];
  private workers: Promise<void>[] = [];
  private resyncTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ControllerOptions) {
    this.queue = new WorkQueue(options.backoff);
  }

  /** Reconcile each object of `informer` under its own key (`namespace/name`). */
  watchPrimary<T extends KubernetesObject>(informer: Informer<T>): void {
    this.primaries.push(informer as unknown as Informer<KubernetesObject>);
    informer.onChange((object) => this.queue.add(objectKey(object)));
  }

  /** A change to a related object (a child, a node) reconciles the primaries it maps to. */
  watchRelated<T extends KubernetesObject>(informer: Informer<T>, keysOf: (object: T) => readonly string[]): void {
    informer.onChange((object) => {
      for (const key of keysOf(object)) this.queue.add(key);
    });
  }

  start(): void {
    const workers = this.options.workers ?? 2;
    this.workers = Array.from({ length: workers }, () => this.work());
    const interval = this.options.resyncIntervalMs ?? 10 * 60_000;
    this.resyncTimer = setInterval(() => this.resync(), interval);
    this.resyncTimer.unref();
    this.resync();
  }

  /** Stops taking keys and waits for the reconciles in progress. */
  async stop(): Promise<void> {
    clearInterval(this.resyncTimer);
    this.queue.shutDown();
    await Promise.all(this.workers);
  }

  private resync(): void {
    for (const informer of this.primaries) {
      for (const object of informer.list()) this.queue.add(objectKey(object));
    }
  }

  private async work(): Promise<void> {
    const { name, reconcile, logger, metrics } = this.options;
    for (let key = await this.queue.get(); key !== undefined; key = await this.queue.get()) {
      metrics?.queueDepth.set({ controller: name }, this.queue.length);
      const end = metrics?.duration.startTimer({ controller: name });
      try {
        const result = await reconcile(key);
        this.queue.forget(key);
        if (result?.requeueAfterMs !== undefined) this.queue.addAfter(key, result.requeueAfterMs);
        metrics?.reconciles.inc({ controller: name, result: result?.requeueAfterMs !== undefined ? "requeue" : "success" });
      } catch (error) {
        const retryInMs = this.queue.addRateLimited(key);
        logger.warn("reconcile failed; retrying", { controller: name, key, error, retryInMs, failures: this.queue.failuresOf(key) });
        metrics?.reconciles.inc({ controller: name, result: "error" });
      } finally {
        end?.();
        this.queue.done(key);
      }
    }
  }
}
