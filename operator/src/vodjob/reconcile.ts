import type { KubernetesObject, V1Job, V1Pod } from "@kubernetes/client-node";
import { ConfigError, Gauge, SqsQueue, type JobQueue, type Logger } from "@live360/core";
import { GROUP, VERSION, VOD_JOB_PHASES, type LiveEvent, type VodJob } from "../api/v1alpha1/index.js";
import type { OperatorConfig } from "../config.js";
import type { Cache, ObjectWriter } from "../engine/client.js";
import { Controller, type ReconcileResult } from "../engine/controller.js";
import type { EventRecorder } from "../engine/events.js";
import { CORE_TYPES, splitKey } from "../engine/resources.js";
import { LIVE_EVENT_TYPE } from "../liveevent/reconcile.js";
import type { ControllerFactory } from "../manager.js";
import { httpWorkerProgress, type FetchWorkerProgress } from "./progress.js";
import { QUEUE_LEASE_FINALIZER, VodQueuePoller } from "./queue-poller.js";
import { queueDepthRunnable } from "./queue-depth.js";
import { NoEgressBucketError, VOD_JOB_LABEL, VOD_JOB_TYPE, VOD_WORKER_SELECTOR, VodJobSpecError, vodJobResources } from "./resources.js";
import type { VodJobSettings } from "./settings.js";
import { statusChanged, vodJobStatus, type JobProblem } from "./status.js";

/** A leftover Job of a deleted VodJob of the same name waits for the garbage collector. */
const FOREIGN_JOB_RETRY_MS = 2_000;
/** A VodJob whose message a restarted operator does not hold yet looks again this often. */
const LEASE_RECHECK_MS = 5_000;

/** The queue messages behind VodJobs (the VodQueuePoller): a VodJob keeps QUEUE_LEASE_FINALIZER until settle() resolves true. */
export interface QueueLeases {
  settle(vodJob: VodJob): Promise<boolean>;
}

export interface VodJobReconcilerOptions {
  config: OperatorConfig;
  settings: VodJobSettings;
  caches: { vodJobs: Cache<VodJob>; jobs: Cache<V1Job>; pods: Cache<V1Pod> };
  /** Without a VOD queue, nothing holds messages and the finalizer goes at once. */
  leases?: QueueLeases;
  writer: ObjectWriter;
  events: EventRecorder;
  logger: Logger;
  /** How a running worker's progress is read; by default its /metrics over the pod network. */
  fetchProgress?: FetchWorkerProgress;
  /** How often a Running VodJob's progress is read while nothing else changes. */
  progressPollIntervalMs?: number;
  now?: () => Date;
}

const DEFAULT_PROGRESS_POLL_MS = 10_000;

/**
 * Makes each VodJob's worker Job (server-side apply, owned by the VodJob) and mirrors the Job and
 * the worker's result into the VodJob's status, writing only on change. The Job's template never
 * changes after creation (VodJob specs are immutable), so an existing Job is never written again.
 * A finished VodJob is never re-run, even after the Job's TTL removed its Job. A VodJob made from a
 * queue message keeps QUEUE_LEASE_FINALIZER until that message is settled: once it finished, or
 * when it is deleted (a cancel: the message is deleted too, so it does not make the VodJob again).
 */
export class VodJobReconciler {
  constructor(private readonly options: VodJobReconcilerOptions) {}

  readonly reconcile = async (key: string): Promise<ReconcileResult | void> => {
    const { caches, writer, events, logger } = this.options;
    const vodJob = caches.vodJobs.get(key);
    if (!vodJob) return;
    const phase = vodJob.status?.phase;
    const finished = phase === "Succeeded" || phase === "Failed";
    if (vodJob.metadata.finalizers?.includes(QUEUE_LEASE_FINALIZER) && (finished || vodJob.metadata.deletionTimestamp)) return this.releaseLease(vodJob, finished);
    if (vodJob.metadata.deletionTimestamp) return;
    let job = caches.jobs.get(key);
    if (job && !job.metadata?.ownerReferences?.some((owner) => owner.uid === vodJob.metadata.uid)) {
      logger.info("a Job of the same name belongs to an earlier VodJob; waiting for the garbage collector", { vodJob: key });
      return { requeueAfterMs: FOREIGN_JOB_RETRY_MS };
    }
    if (!job && finished) return;

    let problem: JobProblem | undefined;
    if (!job) {
      try {
        job = (await writer.apply(vodJobResources(vodJob, this.options.config, this.options.settings))) as V1Job;
        events.record(vodJob, "Normal", "JobCreated", `created Job ${job.metadata?.name ?? ""} to transcode ${vodJob.spec.source}`);
      } catch (error) {
        if (error instanceof VodJobSpecError) problem = { terminal: true, reason: "InvalidSpec", message: error.message };
        else if (error instanceof NoEgressBucketError) problem = { terminal: false, reason: "NoEgressBucket", message: error.message };
        else throw error;
        events.record(vodJob, "Warning", problem.reason, problem.message);
      }
    }
    const { namespace = "", name } = splitKey(key);
    const pods = caches.pods.list().filter((pod) => pod.metadata?.namespace === namespace && pod.metadata?.labels?.[VOD_JOB_LABEL] === name);
    const now = (this.options.now ?? (() => new Date()))();
    let next = vodJobStatus(vodJob, { job, pods, problem }, now);
    // While it transcodes, the worker's progress is looked at again every poll interval.
    const running = next.phase === "Running" ? pods.find((pod) => pod.status?.phase === "Running") : undefined;
    const result: ReconcileResult | void = running ? { requeueAfterMs: this.options.progressPollIntervalMs ?? DEFAULT_PROGRESS_POLL_MS } : undefined;
    if (running) {
      const progress = await (this.options.fetchProgress ?? httpWorkerProgress())(running);
      if (progress !== undefined) next = vodJobStatus(vodJob, { job, pods, problem, progress }, now);
    }
    if (!statusChanged(vodJob.status, next)) return result;
    await writer.applyStatus({ group: GROUP, version: VERSION, plural: VOD_JOB_TYPE.plural, namespace, name }, VOD_JOB_TYPE.apiVersion, VOD_JOB_TYPE.kind, next);
    if (next.phase !== phase && (next.phase === "Succeeded" || next.phase === "Failed")) {
      const failure = next.conditions?.find((c) => c.type === "Failed" && c.status === "True");
      if (next.phase === "Succeeded") events.record(vodJob, "Normal", "Succeeded", `asset published${next.masterPlaylistUrl ? `: ${next.masterPlaylistUrl}` : ""}`);
      else events.record(vodJob, "Warning", failure?.reason ?? "Failed", failure?.message ?? "the transcode failed");
      logger.info("VodJob finished", { vodJob: key, phase: next.phase, attempts: next.attempts, masterPlaylistUrl: next.masterPlaylistUrl });
    }
    return result;
  };

  private async releaseLease(vodJob: VodJob, finished: boolean): Promise<ReconcileResult | void> {
    const { leases, writer, events, logger } = this.options;
    const { namespace = "", name = "", finalizers = [], resourceVersion = "", deletionTimestamp } = vodJob.metadata;
    if (leases && !(await leases.settle(vodJob))) return { requeueAfterMs: LEASE_RECHECK_MS };
    const ref = { group: GROUP, version: VERSION, plural: VOD_JOB_TYPE.plural, namespace, name };
    await writer.patchMetadata(ref, { finalizers: finalizers.filter((f) => f !== QUEUE_LEASE_FINALIZER) }, resourceVersion);
    if (deletionTimestamp && !finished) {
      const message = leases ? ", and its queue message is deleted so that it does not make the VodJob again" : " (no VOD queue is polled, so no message of it was settled)";
      events.record(
        vodJob,
        "Normal",
        "Cancelled",
        `deleted before it finished: ${vodJob.spec.source} is not transcoded${message}. The recording stays in the ingest bucket: create a VodJob for it to transcode it after all.`,
      );
      logger.info("VodJob cancelled; its queue message is settled", { vodJob: `${namespace}/${name}`, source: vodJob.spec.source });
    }
  }
}

/** The VodJob owning a Job or a worker pod, by the label the operator puts on both. */
function ownerKey(object: KubernetesObject): string[] {
  const name = object.metadata?.labels?.[VOD_JOB_LABEL];
  return name && object.metadata?.namespace ? [`${object.metadata.namespace}/${name}`] : [];
}

export interface VodJobControllerOptions {
  config: OperatorConfig;
  settings: VodJobSettings;
  /** The operator's watched namespaces (empty: all); VodJobs made from the queue must land in one. */
  namespaces: readonly string[];
  /** The VOD queue; by default SQS at settings.queueUrl. No polling when neither is set. */
  queue?: JobQueue;
  workers?: number;
  resyncIntervalMs?: number;
  /** How often the queues' depths are read (default QUEUE_DEPTH_INTERVAL_MS). */
  queueDepthIntervalMs?: number;
  /** Tests on kwok nodes (whose pods serve nothing) may feed progress; production reads the workers' /metrics. */
  fetchProgress?: FetchWorkerProgress;
  now?: () => Date;
}

/**
 * The VodJob controller for the operator's manager: reconciles VodJobs into worker Jobs and, when
 * there is a VOD queue, runs the poller turning its messages into VodJobs (only while leading,
 * like the controller). Wire it with `operatorControllers()`' list:
 *   vodJobController({ config, settings: resolveVodJobSettings({...}), namespaces: run.namespaces })
 */
export function vodJobController(options: VodJobControllerOptions): ControllerFactory {
  const { config, settings, namespaces } = options;
  const queue =
    options.queue ?? (settings.queueUrl ? new SqsQueue({ queueUrl: settings.queueUrl, endpoint: config.recording.sqsEndpoint, region: config.recording.region }) : undefined);
  if (queue && namespaces.length > 0 && !namespaces.includes(settings.namespace)) {
    throw new ConfigError("vod.namespace", settings.namespace, `VodJobs from the queue must be created in a watched namespace (${namespaces.join(", ")}): add it to the watched namespaces or choose one of them`);
  }
  return (context) => {
    const vodJobs = context.informer<VodJob>(VOD_JOB_TYPE);
    const jobs = context.informer<V1Job>(CORE_TYPES.job, { labelSelector: VOD_WORKER_SELECTOR });
    const pods = context.informer<V1Pod>(CORE_TYPES.pod, { labelSelector: VOD_WORKER_SELECTOR });
    const logger = context.logger.child("vodjob");
    let poller: VodQueuePoller | undefined;
    if (queue) {
      // The LiveEvent controller's informer (asking again shares it): a recording inherits its event's encryption.
      const liveEvents = context.informer<LiveEvent>(LIVE_EVENT_TYPE);
      poller = new VodQueuePoller({
        queue,
        settings,
        logger: logger.child("queue", { queue: queue.name }),
        vodJobs,
        createVodJob: async (manifest) => void (await context.writer.apply(manifest)),
        encryptionForStream: (stream) =>
          liveEvents.list().flatMap(({ metadata, spec }) =>
            spec.streamName === stream && spec.hls.encryption ? [{ namespace: metadata.namespace ?? "", name: metadata.name ?? "", encryption: spec.hls.encryption }] : [],
          ),
      });
    }
    const reconciler = new VodJobReconciler({
      config,
      settings,
      caches: { vodJobs, jobs, pods },
      leases: poller,
      writer: context.writer,
      events: context.events,
      logger,
      fetchProgress: options.fetchProgress,
      now: options.now,
    });
    const controller = new Controller({
      name: "vodjob",
      reconcile: reconciler.reconcile,
      logger,
      metrics: context.controllerMetrics,
      workers: options.workers,
      resyncIntervalMs: options.resyncIntervalMs,
    });
    for (const informer of vodJobs.informers.values()) controller.watchPrimary(informer);
    for (const set of [jobs, pods]) {
      for (const informer of set.informers.values()) controller.watchRelated(informer, ownerKey);
    }
    const byPhase = new Gauge({
      name: "live360_operator_vod_jobs",
      help: "VodJobs by status.phase (Pending until the operator has written a status).",
      labelNames: ["phase"],
      registers: [context.registry],
      collect: () => {
        for (const phase of VOD_JOB_PHASES) byPhase.set({ phase }, 0);
        for (const vodJob of vodJobs.list()) byPhase.inc({ phase: vodJob.status?.phase ?? "Pending" });
      },
    });
    if (queue && poller) {
      vodJobs.onChange((vodJob) => poller.vodJobChanged(vodJob));
      const held: Gauge = new Gauge({
        name: "live360_operator_vod_messages_held",
        help: "VOD queue messages the operator holds invisible (heartbeats) while their VodJobs run.",
        registers: [context.registry],
        collect: () => held.set(poller.heldMessages),
      });
      context.addRunnable("vod-queue", (signal) => poller.run(signal));
      context.addRunnable("vod-queue-depth", queueDepthRunnable({ queue, registry: context.registry, logger: logger.child("queue-depth"), intervalMs: options.queueDepthIntervalMs }));
    }
    return controller;
  };
}
