import { randomBytes } from "node:crypto";
import { CoreV1Api, type CoreV1Event, type KubeConfig, type KubernetesObject } from "@kubernetes/client-node";
import type { Logger } from "@live360/core";
import { FIELD_MANAGER } from "./client.js";

export type EventType = "Normal" | "Warning";

/** Records what `kubectl describe` shows under Events: transitions and problems a user can fix. */
export interface EventRecorder {
  record(object: KubernetesObject, type: EventType, reason: string, message: string): void;
}

export interface ApiEventRecorderOptions {
  logger: Logger;
  /** Distinguishes the replicas of the operator in `reportingInstance`. */
  instance: string;
  /** The same event (object, reason, message) is recorded at most once per this interval. */
  repeatIntervalMs?: number;
  now?: () => number;
}

/** Builds a core/v1 Event the way client-go's recorder does (`kubectl describe` reads these). */
export function eventFor(object: KubernetesObject, type: EventType, reason: string, message: string, instance: string, at: Date): CoreV1Event {
  const { name = "", namespace = "default", uid, resourceVersion } = object.metadata ?? {};
  return {
    metadata: { name: `${name}.${randomBytes(8).toString("hex")}`, namespace },
    involvedObject: { apiVersion: object.apiVersion, kind: object.kind, name, namespace, uid, resourceVersion },
    type,
    reason,
    // The API server refuses longer messages.
    message: message.length > 1024 ? `${message.slice(0, 1021)}...` : message,
    source: { component: FIELD_MANAGER },
    reportingComponent: `live360.io/${FIELD_MANAGER}`,
    reportingInstance: instance,
    firstTimestamp: at,
    lastTimestamp: at,
    count: 1,
  };
}

/**
 * Writes Events in the background: a reconcile never waits for, or fails because of, an Event.
 * A failing reconcile retries with backoff and would repeat its error event each time; identical
 * events are therefore suppressed for a while, so the event list stays readable.
 */
export function apiEventRecorder(kubeConfig: KubeConfig, options: ApiEventRecorderOptions): EventRecorder {
  const api = kubeConfig.makeApiClient(CoreV1Api);
  const repeatMs = options.repeatIntervalMs ?? 10 * 60_000;
  const now = options.now ?? Date.now;
  const lastRecorded = new Map<string, number>();
  return {
    record(object, type, reason, message) {
      const at = now();
      const key = `${object.metadata?.uid}|${type}|${reason}|${message}`;
      const previous = lastRecorded.get(key);
      if (previous !== undefined && at - previous < repeatMs) return;
      lastRecorded.set(key, at);
      // Forget old entries so the map does not grow with every event ever recorded.
      for (const [k, t] of lastRecorded) if (at - t >= repeatMs) lastRecorded.delete(k);
      const body = eventFor(object, type, reason, message, options.instance, new Date(at));
      api.createNamespacedEvent({ namespace: body.metadata.namespace ?? "default", body }).catch((error: unknown) => {
        options.logger.warn("could not record event", { reason, message, error });
      });
    },
  };
}
