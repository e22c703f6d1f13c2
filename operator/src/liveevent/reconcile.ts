import { createHash, randomBytes } from "node:crypto";
import type { KubernetesObject, V1Deployment, V1Node, V1Pod, V1Service, V1StatefulSet } from "@kubernetes/client-node";
import { ConfigError, Gauge, type Logger } from "@live360/core";
import { API_VERSION, GROUP, LIVE_EVENT, LIVE_EVENT_PHASES, VERSION, type ActiveOrigin, type LiveEvent } from "../api/v1alpha1/index.js";
import type { OperatorConfig } from "../config.js";
import { apiMessageOf, type Cache, type CustomResourceRef, type ObjectWriter } from "../engine/client.js";
import { Controller, type ReconcileResult } from "../engine/controller.js";
import type { EventRecorder } from "../engine/events.js";
import { unownedFields, writersSince } from "../engine/managed-fields.js";
import { CORE_TYPES, objectKey, type ResourceType } from "../engine/resources.js";
import type { ControllerFactory, InformerSet } from "../manager.js";
import { EVENT_LABEL, MANAGED_BY, ORIGIN_HTTP_PORT, ORIGIN_ROLE_LABEL, childNames, serviceHost } from "./names.js";
import { OriginVerifyMirror, SecretsManagerOriginVerify } from "./origin-verify.js";
import { generatedPublishKeySecret, liveEventResources, publishKeySource, recordingTarget } from "./resources.js";
import {
  computeStatus,
  ingestUrl,
  nodeProblem,
  playbackUrls,
  podReady,
  sameJson,
  statusTransitions,
  type LiveEventObservation,
  type OriginObservation,
} from "./status.js";

/** Holds a deleted LiveEvent until its origins have shut down (recordings finalized and uploaded). */
export const LIVE_EVENT_FINALIZER = "live360.io/graceful-end";

/**
 * The hash of the manifest last applied to a child, on the child. An unchanged hash, with every
 * field of that manifest still owned by the operator (see unownedFields), means the child already
 * is what the operator wants, so a steady state makes no API writes at all (even a no-op
 * server-side apply is a request the API server must process).
 */
export const APPLIED_HASH_ANNOTATION = "live360.io/applied-sha256";

/** 24 random bytes: a 32-character URL-safe key, beyond guessing at any rate an ingest allows. */
const PUBLISH_KEY_BYTES = 24;

/** The subset of an origin's /stat the status reads (see @live360/origin's OriginStat). */
export interface OriginStatSummary {
  streams: readonly { stream: string; state: string }[];
}

export interface OriginStatTarget {
  event: LiveEvent;
  role: ActiveOrigin;
  /** http://<origin Service>:8080/stat */
  url: string;
}

/** Reads an origin's /stat; undefined when it cannot be reached. Injectable: on kwok nodes no origin really runs. */
export type FetchOriginStat = (target: OriginStatTarget) => Promise<OriginStatSummary | undefined>;

/** GET /stat with a short timeout; any failure means "unknown", never an error of the reconcile. */
export const httpOriginStat: FetchOriginStat = async ({ url }) => {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
    if (!response.ok) return undefined;
    const stat = (await response.json()) as Partial<OriginStatSummary>;
    return Array.isArray(stat.streams) ? (stat as OriginStatSummary) : undefined;
  } catch {
    return undefined;
  }
};

export interface LiveEventCaches {
  liveEvents: Cache<LiveEvent>;
  /** The operator's children by kind (StatefulSet, Service, ...), from label-selected informers. */
  children: ReadonlyMap<string, Cache<KubernetesObject>>;
  /** Origin pods, to find their nodes and readiness. */
  pods: Cache<V1Pod>;
  nodes: Cache<V1Node>;
}

export interface LiveEventReconcilerOptions {
  config: OperatorConfig;
  caches: LiveEventCaches;
  writer: ObjectWriter;
  events: EventRecorder;
  fetchStat: FetchOriginStat;
  logger: Logger;
  /** Keeps the CDN's origin-verify Secret in each event's namespace, when the operator copies it from Secrets Manager. */
  originVerify?: OriginVerifyMirror;
  /** How often an event's origins' /stat is read while nothing else changes. */
  statPollIntervalMs?: number;
  now?: () => Date;
}

export const LIVE_EVENT_TYPE: ResourceType = { apiVersion: API_VERSION, kind: LIVE_EVENT.kind, plural: LIVE_EVENT.plural, namespaced: true };

/** The kinds a LiveEvent owns; each is watched (only the operator's objects, by label) and mapped back to its event. */
export const OWNED_TYPES: readonly ResourceType[] = [
  CORE_TYPES.statefulSet,
  CORE_TYPES.service,
  CORE_TYPES.configMap,
  CORE_TYPES.deployment,
  CORE_TYPES.horizontalPodAutoscaler,
  CORE_TYPES.podDisruptionBudget,
  CORE_TYPES.networkPolicy,
];

/** Selects what the operator created: its informers never hold anyone else's objects. */
export const MANAGED_SELECTOR = Object.entries(MANAGED_BY)
  .map(([key, value]) => `${key}=${value}`)
  .join(",");

const childId = (o: KubernetesObject): string => `${o.kind}/${o.metadata?.name}`;

export function appliedHash(object: KubernetesObject): string {
  return createHash("sha256").update(JSON.stringify(object)).digest("hex");
}

/** The manifest as the operator applies it: stamped with its hash. */
function stamped(child: KubernetesObject): KubernetesObject {
  return { ...child, metadata: { ...child.metadata, annotations: { ...child.metadata?.annotations, [APPLIED_HASH_ANNOTATION]: appliedHash(child) } } };
}

/**
 * Why `current` is not what applying `child` made of it: "changed" when the manifest differs from
 * the one last applied, the fields someone else changed or removed since (drift) otherwise, and
 * undefined when it is up to date. Drift is read from managedFields, which the child's own watch
 * event brings: it is reverted at once, not at the next spec change.
 */
function staleness(current: KubernetesObject, child: KubernetesObject): "changed" | string[] | undefined {
  const applied = stamped(child);
  if (current.metadata?.annotations?.[APPLIED_HASH_ANNOTATION] !== applied.metadata?.annotations?.[APPLIED_HASH_ANNOTATION]) return "changed";
  const drifted = unownedFields(current, applied);
  return drifted.length > 0 ? drifted : undefined;
}

/** The LiveEvent key (namespace/name) a child or origin pod belongs to, from its controller owner reference. */
export function ownerEventKey(object: KubernetesObject): string[] {
  const owner = object.metadata?.ownerReferences?.find((r) => r.controller && r.kind === LIVE_EVENT.kind && r.apiVersion.startsWith(`${GROUP}/`));
  if (owner) return [`${object.metadata?.namespace}/${owner.name}`];
  // Pods are owned by their StatefulSet, not the event: they carry the event's label instead.
  const event = object.metadata?.labels?.[EVENT_LABEL];
  return event ? [`${object.metadata?.namespace}/${event}`] : [];
}

/**
 * Reconciles one LiveEvent: children by server-side apply (only those whose manifest changed),
 * pruning of children no longer desired, the graceful-end finalizer, and the status from the
 * children, the origins' nodes and their /stat. Level-triggered: given only the key, it works out
 * everything from the caches, so a missed or repeated event is harmless.
 */
export class LiveEventReconciler {
  private readonly pollMs: number;
  private readonly now: () => Date;

  constructor(private readonly options: LiveEventReconcilerOptions) {
    this.pollMs = options.statPollIntervalMs ?? 10_000;
    this.now = options.now ?? (() => new Date());
  }

  readonly reconcile = async (key: string): Promise<ReconcileResult | void> => {
    const event = this.options.caches.liveEvents.get(key);
    // Gone: its children are garbage-collected through their owner references.
    if (!event) return;
    if (event.metadata.deletionTimestamp) return this.finalize(event);
    if (!event.metadata.finalizers?.includes(LIVE_EVENT_FINALIZER)) {
      await this.options.writer.patchMetadata(this.ref(event), { finalizers: [...(event.metadata.finalizers ?? []), LIVE_EVENT_FINALIZER] }, event.metadata.resourceVersion ?? "");
      // The patch comes back through the informer and triggers the next reconcile.
      return;
    }

    let desired: KubernetesObject[];
    try {
      desired = liveEventResources(event, this.options.config);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      // Not retried: only a spec change can fix it, and that triggers a reconcile by itself.
      this.options.events.record(event, "Warning", "InvalidSpec", error.message);
      return;
    }
    await this.ensurePublishKey(event);
    // Before the edge that mounts it; no values, no edge (the reconcile fails and is retried).
    await this.options.originVerify?.ensureIn(event.metadata.namespace ?? "default");
    await this.applyChildren(event, desired);
    await this.pruneChildren(event, desired);
    await this.updateStatus(event);
    return { requeueAfterMs: this.pollMs };
  };

  /**
   * The generated publish key Secret, made once with a random key before the origins that mount it;
   * an existing one is never replaced (encoders are configured with its key). The key is told
   * nowhere but the Secret: the event and the status only say where it is. Once the status names
   * the Secret it is not looked at again: Secrets are not watched (the operator may not list them,
   * so it holds no one's keys), and a converged event costs no reads.
   */
  private async ensurePublishKey(event: LiveEvent): Promise<void> {
    const keys = publishKeySource({ spec: event.spec, names: childNames(event.metadata.name ?? "") });
    if (!keys?.generated || event.status?.ingest?.publishKeySecret === `${keys.name}/${keys.key}`) return;
    const secret = generatedPublishKeySecret(event, randomBytes(PUBLISH_KEY_BYTES).toString("base64url"));
    if (!(await this.options.writer.createIfAbsent(secret))) return;
    this.options.events.record(
      event,
      "Normal",
      "PublishKeyGenerated",
      `publishing needs a key: generated Secret ${keys.name} (key ${keys.key}, a line ${event.spec.streamName}=<key>); encoders add ?key=<key> to the publish URL`,
    );
    this.options.logger.info("generated the publish key Secret", { event: objectKey(event), secret: keys.name });
  }

  private ref(event: LiveEvent): CustomResourceRef {
    return { group: GROUP, version: VERSION, plural: LIVE_EVENT.plural, namespace: event.metadata.namespace ?? "", name: event.metadata.name ?? "" };
  }

  private cached(kind: string, namespace: string, name: string): KubernetesObject | undefined {
    return this.options.caches.children.get(kind)?.get(`${namespace}/${name}`);
  }

  private async applyChildren(event: LiveEvent, desired: KubernetesObject[]): Promise<void> {
    const waitForBackup = this.primaryMustWait(event, desired);
    for (const child of desired) {
      const current = this.cached(child.kind ?? "", child.metadata?.namespace ?? "", child.metadata?.name ?? "");
      const stale = current && staleness(current, child);
      if (current && !stale) continue;
      if (current && child === waitForBackup) {
        this.options.events.record(
          event,
          "Normal",
          "RollingOrigins",
          "updating the backup origin first; the primary follows once the backup is ready again, so the stream never loses both origins at once",
        );
        continue;
      }
      if (current && Array.isArray(stale)) {
        const writers = writersSince(current);
        this.options.events.record(
          event,
          "Warning",
          "DriftReverted",
          `${childId(child)}: ${stale.join(", ")} changed${writers.length > 0 ? ` by ${writers.join(", ")}` : ""}; reverted to what the LiveEvent specifies (edit the LiveEvent to change it)`,
        );
        this.options.logger.warn("child changed outside the LiveEvent; reverting", { event: objectKey(event), child: childId(child), fields: stale, writers });
      }
      try {
        await this.options.writer.apply(stamped(child));
      } catch (error) {
        const message = `${childId(child)}: ${apiMessageOf(error)}`;
        this.options.events.record(event, "Warning", "ApplyFailed", message);
        throw new Error(`apply ${message}`, { cause: error });
      }
      this.options.logger.info(current ? "updated child" : "created child", { event: objectKey(event), child: childId(child) });
    }
  }

  /**
   * Changing the origins' pod template restarts them. Two StatefulSets would restart together, and
   * the stream would go dark: the primary's new template therefore waits until the backup runs the
   * new one and is ready. Returns the primary StatefulSet while it must wait.
   */
  private primaryMustWait(event: LiveEvent, desired: KubernetesObject[]): KubernetesObject | undefined {
    const names = childNames(event.metadata.name ?? "");
    const find = (role: ActiveOrigin) => desired.find((c) => c.kind === "StatefulSet" && c.metadata?.name === names.origin(role));
    const [primary, backup] = [find("primary"), find("backup")];
    if (!primary || !backup) return undefined;
    const current = this.cached("StatefulSet", event.metadata.namespace ?? "", names.origin("backup")) as V1StatefulSet | undefined;
    const status = current?.status;
    const backupDone =
      current !== undefined &&
      staleness(current, backup) === undefined &&
      status?.observedGeneration === current.metadata?.generation &&
      status?.updateRevision === status?.currentRevision &&
      (status?.readyReplicas ?? 0) >= (current?.spec?.replicas ?? 1);
    return backupDone ? undefined : primary;
  }

  /** Children this event owns that the desired state no longer lists (e.g. the test source once disabled). */
  private ownedChildren(event: LiveEvent): KubernetesObject[] {
    const uid = event.metadata.uid;
    const owned: KubernetesObject[] = [];
    for (const cache of this.options.caches.children.values()) {
      for (const object of cache.list()) {
        if (object.metadata?.namespace !== event.metadata.namespace) continue;
        if (object.metadata?.ownerReferences?.some((r) => r.controller && r.uid === uid)) owned.push(object);
      }
    }
    return owned;
  }

  private async pruneChildren(event: LiveEvent, desired: KubernetesObject[]): Promise<void> {
    const wanted = new Set(desired.map(childId));
    for (const child of this.ownedChildren(event)) {
      if (wanted.has(childId(child)) || child.metadata?.deletionTimestamp) continue;
      await this.options.writer.delete(child);
      this.options.logger.info("pruned child", { event: objectKey(event), child: childId(child) });
    }
  }

  private originPods(event: LiveEvent, role?: ActiveOrigin): V1Pod[] {
    return this.options.caches.pods
      .list()
      .filter(
        (pod) =>
          pod.metadata?.namespace === event.metadata.namespace &&
          pod.metadata?.labels?.[EVENT_LABEL] === event.metadata.name &&
          (role === undefined || pod.metadata?.labels?.[ORIGIN_ROLE_LABEL] === role),
      );
  }

  private async observe(event: LiveEvent): Promise<LiveEventObservation> {
    const { caches, config, fetchStat } = this.options;
    const namespace = event.metadata.namespace ?? "";
    const names = childNames(event.metadata.name ?? "");
    const roles: ActiveOrigin[] = event.spec.origin.redundancy === "primaryBackup" ? ["primary", "backup"] : ["primary"];
    const ingest: LiveEventObservation["ingest"] = {};
    const origins = await Promise.all(
      roles.map(async (role): Promise<OriginObservation> => {
        const pods = this.originPods(event, role);
        // The pod that serves, else the newest one (e.g. rescheduled and starting).
        const pod = pods.find(podReady) ?? pods.at(-1);
        const node = pod?.spec?.nodeName;
        const nodeObject = node ? caches.nodes.get(node) : undefined;
        const ready = pod !== undefined && podReady(pod);
        const service = this.cached("Service", namespace, names.originRtmp(role)) as V1Service | undefined;
        ingest[role] = ingestUrl(service, nodeObject, serviceHost(names.originRtmp(role), namespace, config), event.spec.streamName);
        const url = `http://${serviceHost(names.origin(role), namespace, config)}:${ORIGIN_HTTP_PORT}/stat`;
        const stat = ready ? await fetchStat({ event, role, url }) : undefined;
        return {
          role,
          ready,
          node,
          nodeProblem: node ? nodeProblem(node, nodeObject) : undefined,
          publishing: ready ? stat && stat.streams.some((s) => s.stream === event.spec.streamName && s.state === "live") : false,
        };
      }),
    );
    const keys = publishKeySource({ spec: event.spec, names });
    if (keys) ingest.publishKeySecret = `${keys.name}/${keys.key}`;
    const edgeDeployment = this.cached("Deployment", namespace, names.edge) as V1Deployment | undefined;
    const edgeService = this.cached("Service", namespace, names.edge) as V1Service | undefined;
    return {
      origins,
      edge: edgeDeployment ? { readyReplicas: edgeDeployment.status?.readyReplicas ?? 0 } : undefined,
      ingest,
      playback: playbackUrls(edgeService, serviceHost(names.edge, namespace, config), event.spec.streamName),
      recording: !event.spec.recording.enabled ? "disabled" : recordingTarget(event.spec, config) ? "enabled" : "noTarget",
    };
  }

  private async updateStatus(event: LiveEvent): Promise<void> {
    const status = computeStatus(event, await this.observe(event), this.now());
    if (sameJson(status, event.status)) return;
    this.options.logger.debug("status differs", { event: objectKey(event), from: event.status, to: status });
    await this.options.writer.applyStatus(this.ref(event), event.apiVersion, event.kind, status);
    for (const t of statusTransitions(event.status, status)) this.options.events.record(event, t.type, t.reason, t.message);
    this.options.logger.info("status", { event: objectKey(event), phase: status.phase, activeOrigin: status.activeOrigin });
  }

  /**
   * A deleted event ends gracefully: the test source stops publishing and the origins get their full
   * termination grace (playlists ended, recording finalized and uploaded) before the finalizer goes
   * and garbage collection removes the rest. Owner references alone would delete everything at once.
   */
  private async finalize(event: LiveEvent): Promise<ReconcileResult | void> {
    const finalizers = event.metadata.finalizers ?? [];
    if (!finalizers.includes(LIVE_EVENT_FINALIZER)) return;
    const ending = this.ownedChildren(event).filter(
      (c) => c.kind === "StatefulSet" || (c.kind === "Deployment" && c.metadata?.labels?.["app.kubernetes.io/component"] === "test-source"),
    );
    const toDelete = ending.filter((c) => !c.metadata?.deletionTimestamp);
    for (const child of toDelete) await this.options.writer.delete(child);
    if (toDelete.length > 0) {
      this.options.events.record(event, "Normal", "Ending", "stopping the origins: playlists end and recordings are finalized and uploaded before the LiveEvent is removed");
    }
    if (ending.length > 0 || this.originPods(event).length > 0) {
      // Pod deletions arrive through the pod informer; the requeue only bounds a missed one.
      return { requeueAfterMs: 5000 };
    }
    await this.options.writer.patchMetadata(this.ref(event), { finalizers: finalizers.filter((f) => f !== LIVE_EVENT_FINALIZER) }, event.metadata.resourceVersion ?? "");
    this.options.logger.info("ended", { event: objectKey(event) });
  }
}

/** The keys of the events whose origins run on `node`: a node change may degrade them. */
export function eventsOnNode(pods: Cache<V1Pod>, node: V1Node): string[] {
  const name = node.metadata?.name;
  const keys = new Set<string>();
  for (const pod of pods.list()) {
    if (pod.spec?.nodeName === name) for (const key of ownerEventKey(pod)) keys.add(key);
  }
  return [...keys];
}

export interface LiveEventControllerOptions {
  config: OperatorConfig;
  /** Defaults to an HTTP GET of each origin's /stat. */
  fetchStat?: FetchOriginStat;
  statPollIntervalMs?: number;
  workers?: number;
  resyncIntervalMs?: number;
}

/** The mirror of the CDN's origin-verify values, when they come from Secrets Manager. */
function originVerifyMirror(config: OperatorConfig, writer: ObjectWriter, logger: Logger): OriginVerifyMirror | undefined {
  const { originVerifyFrom, originVerifySecret, secretsManagerEndpoint } = config.edgeCdn;
  if (originVerifyFrom === undefined || originVerifySecret === undefined) return undefined;
  const source = new SecretsManagerOriginVerify({ secretId: originVerifyFrom, region: config.recording.region, endpoint: secretsManagerEndpoint, caller: "operator" });
  return new OriginVerifyMirror({ source, secretName: originVerifySecret, writer, logger: logger.child("origin-verify") });
}

/**
 * The LiveEvent controller for the manager: LiveEvents are the primary objects; a change to a
 * child or an origin pod reconciles its event, and a change to a node reconciles every event with
 * an origin on it (a cordon or a termination taint degrades those events at once).
 */
export function liveEventController(options: LiveEventControllerOptions): ControllerFactory {
  return (context) => {
    const liveEvents = context.informer<LiveEvent>(LIVE_EVENT_TYPE);
    const children = new Map(
      OWNED_TYPES.map((type): [string, InformerSet<KubernetesObject>] => [type.kind, context.informer(type, { labelSelector: MANAGED_SELECTOR })]),
    );
    const pods = context.informer<V1Pod>(CORE_TYPES.pod, { labelSelector: `${MANAGED_SELECTOR},app.kubernetes.io/component=origin` });
    const nodes = context.informer<V1Node>(CORE_TYPES.node);
    const logger = context.logger.child("liveevent");
    const originVerify = originVerifyMirror(options.config, context.writer, logger);
    if (originVerify) {
      const refreshMs = options.config.edgeCdn.originVerifyRefreshSeconds * 1000;
      context.addRunnable("origin-verify refresh", (signal) => originVerify.run(refreshMs, signal));
    }
    const reconciler = new LiveEventReconciler({
      originVerify,
      config: options.config,
      caches: { liveEvents, children, pods, nodes },
      writer: context.writer,
      events: context.events,
      fetchStat: options.fetchStat ?? httpOriginStat,
      logger,
      statPollIntervalMs: options.statPollIntervalMs,
    });
    const controller = new Controller({
      name: "liveevent",
      reconcile: reconciler.reconcile,
      logger,
      metrics: context.controllerMetrics,
      workers: options.workers,
      resyncIntervalMs: options.resyncIntervalMs,
    });
    for (const informer of liveEvents.informers.values()) controller.watchPrimary(informer);
    for (const set of [...children.values(), pods]) {
      for (const informer of set.informers.values()) controller.watchRelated(informer, ownerEventKey);
    }
    for (const informer of nodes.informers.values()) controller.watchRelated(informer, (node) => eventsOnNode(pods, node));

    new Gauge({
      name: "live360_operator_live_events",
      help: "LiveEvents by status.phase (Pending until the operator has written a status).",
      labelNames: ["phase"],
      registers: [context.registry],
      collect() {
        for (const phase of LIVE_EVENT_PHASES) this.set({ phase }, 0);
        for (const event of liveEvents.list()) this.inc({ phase: event.status?.phase ?? "Pending" });
      },
    });
    return controller;
  };
}
