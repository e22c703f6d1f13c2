import { isDeepStrictEqual } from "node:util";
import type { V1Job, V1Pod } from "@kubernetes/client-node";
import { parseJobResult, type JobResult } from "@live360/core";
import { VOD_JOB_CONDITIONS, type VodJob, type VodJobPhase, type VodJobStatus } from "../api/v1alpha1/index.js";
import { WORKER_CONTAINER } from "./resources.js";

type Condition = NonNullable<VodJobStatus["conditions"]>[number];
type ConditionType = (typeof VOD_JOB_CONDITIONS)[number];

/** Why no Job exists for a VodJob: its spec can never run (terminal), or the operator lacks something (it waits). */
export interface JobProblem {
  terminal: boolean;
  reason: string;
  message: string;
}

/** What the reconciler saw of the VodJob's children. */
export interface Observed {
  job: V1Job | undefined;
  /** The Job's pods, any phase. */
  pods: V1Pod[];
  /** Set when there is no Job because none could be made. */
  problem?: JobProblem;
  /** Percent done, as the running worker reports it. */
  progress?: number;
}

/** A condition `reason` must be CamelCase for the CRD's pattern; Kubernetes' own reasons are, anything else is replaced. */
const REASON = /^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/;

/**
 * The VodJob's status, mirrored from its Job and the worker's result. Pure: the same VodJob,
 * children and clock give the same status, and a condition keeps its lastTransitionTime while its
 * status stays the same, so an unchanged world computes an identical status (and no write).
 */
export function vodJobStatus(vodJob: VodJob, observed: Observed, now: Date): VodJobStatus {
  const previous = vodJob.status ?? {};
  const generation = vodJob.metadata.generation;
  const { job, pods, problem } = observed;
  const condition = (type: ConditionType, status: boolean, reason: string, message: string): Condition => {
    const statusText = status ? "True" : "False";
    const before = previous.conditions?.find((c) => c.type === type);
    return {
      type,
      status: statusText,
      ...(generation !== undefined ? { observedGeneration: generation } : {}),
      lastTransitionTime: before?.status === statusText ? before.lastTransitionTime : isoTime(now),
      reason: REASON.test(reason) ? reason : "Unknown",
      message,
    };
  };

  if (!job) {
    const phase: VodJobPhase = problem?.terminal ? "Failed" : "Pending";
    const reason = problem?.reason ?? "Creating";
    const message = problem?.message ?? "creating the worker Job";
    return compact({
      phase,
      observedGeneration: generation,
      progress: 0,
      attempts: previous.attempts ?? 0,
      startTime: previous.startTime,
      completionTime: phase === "Failed" ? (previous.completionTime ?? isoTime(now)) : undefined,
      conditions: [
        condition("JobCreated", false, reason, message),
        condition("Complete", false, phase === "Failed" ? "JobFailed" : "Pending", phase === "Failed" ? "the job cannot run" : "waiting for the worker Job"),
        condition("Failed", phase === "Failed", phase === "Failed" ? reason : "NoFailure", phase === "Failed" ? message : "no attempt has failed for good"),
      ],
    });
  }

  const jobName = job.metadata?.name ?? "";
  const jobCondition = (type: string) => job.status?.conditions?.find((c) => c.type === type && c.status === "True");
  const complete = jobCondition("Complete");
  const failed = jobCondition("Failed");
  const result = lastResult(pods);
  const started = job.status?.active ?? 0;
  const attempts = Math.max(previous.attempts ?? 0, started + (job.status?.succeeded ?? 0) + (job.status?.failed ?? 0), pods.length);
  const phase: VodJobPhase = complete ? "Succeeded" : failed ? "Failed" : (job.status?.ready ?? 0) > 0 ? "Running" : "Pending";
  const masterPlaylistUrl = phase === "Succeeded" && result && "masterPlaylist" in result ? result.masterPlaylist : previous.masterPlaylistUrl;
  const lastError = result && "error" in result ? result.error : undefined;

  const completeCondition = {
    Succeeded: condition("Complete", true, "AssetPublished", masterPlaylistUrl ? `the asset is published: ${masterPlaylistUrl}` : "the worker finished the asset"),
    Failed: condition("Complete", false, "JobFailed", "the job failed; see the Failed condition"),
    Running: condition("Complete", false, "Transcoding", `the worker is transcoding (attempt ${attempts})`),
    Pending: condition("Complete", false, "Pending", "waiting for a worker pod to start"),
  }[phase];
  const failedCondition = failed
    ? condition(
        "Failed",
        true,
        failed.reason ?? "JobFailed",
        [failed.message ?? `Job ${jobName} failed`, lastError ? `last attempt: ${lastError}` : undefined].filter(Boolean).join("; "),
      )
    : condition("Failed", false, "NoFailure", "no attempt has failed for good");

  return compact({
    phase,
    observedGeneration: generation,
    progress: phase === "Succeeded" ? 100 : phase === "Running" ? (observed.progress ?? previous.progress ?? 0) : (previous.progress ?? 0),
    attempts,
    jobName,
    masterPlaylistUrl,
    startTime: previous.startTime ?? isoTime(job.status?.startTime),
    completionTime: complete ? isoTime(job.status?.completionTime ?? complete.lastTransitionTime) : failed ? isoTime(failed.lastTransitionTime) : undefined,
    conditions: [condition("JobCreated", true, "JobCreated", `Job ${jobName} runs the VOD worker`), completeCondition, failedCondition],
  });
}

/** True when writing `next` would change what is stored: no write otherwise. */
export function statusChanged(current: VodJobStatus | undefined, next: VodJobStatus): boolean {
  return !isDeepStrictEqual(current ?? {}, next);
}

/** The result the worker wrote in its termination message, from the attempt that finished last. */
function lastResult(pods: V1Pod[]): JobResult | undefined {
  let latest: { at: string; result: JobResult } | undefined;
  for (const pod of pods) {
    const terminated = pod.status?.containerStatuses?.find((c) => c.name === WORKER_CONTAINER)?.state?.terminated;
    const result = parseJobResult(terminated?.message);
    const at = isoTime(terminated?.finishedAt) ?? "";
    if (result && (!latest || at >= latest.at)) latest = { at, result };
  }
  return latest?.result;
}

/** Objects from a list come with Date fields, from a watch with strings: both become RFC 3339 without fractions. */
function isoTime(value: Date | string): string;
function isoTime(value: Date | string | undefined): string | undefined;
function isoTime(value: Date | string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const date = typeof value === "string" ? new Date(value) : value;
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Drops unset fields, so a computed status compares equal to what the API server stored. */
function compact(status: VodJobStatus): VodJobStatus {
  return Object.fromEntries(Object.entries(status).filter(([, value]) => value !== undefined)) as VodJobStatus;
}
