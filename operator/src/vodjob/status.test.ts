import { describe, expect, test } from "@jest/globals";
import type { V1Job, V1Pod } from "@kubernetes/client-node";
import { formatJobResult } from "@live360/core";
import { applyDefaults } from "../api/schema.js";
import { API_VERSION, vodJobSpec, type VodJob, type VodJobStatus } from "../api/v1alpha1/index.js";
import { statusChanged, vodJobStatus } from "./status.js";

const T0 = new Date("2026-06-24T18:00:00Z");
const T1 = new Date("2026-06-24T18:05:00Z");

function vodJob(status?: VodJobStatus, generation = 1): VodJob {
  return {
    apiVersion: API_VERSION,
    kind: "VodJob",
    metadata: { name: "vj", namespace: "media", uid: "uid-vj", generation },
    spec: applyDefaults(vodJobSpec, { source: "s3://ingest/recordings/a/20260624T180000Z.mp4" }),
    ...(status ? { status } : {}),
  };
}

function job(status: V1Job["status"]): V1Job {
  return { apiVersion: "batch/v1", kind: "Job", metadata: { name: "vj", namespace: "media" }, status };
}

function workerPod(result: string | undefined, finishedAt = "2026-06-24T18:04:00Z"): V1Pod {
  return {
    metadata: { name: `vj-${finishedAt}`, namespace: "media", labels: { "live360.io/vodjob": "vj" } },
    status: {
      phase: "Succeeded",
      containerStatuses: [
        { name: "worker", image: "x", imageID: "", ready: false, restartCount: 0, state: { terminated: { exitCode: 0, message: result, finishedAt: new Date(finishedAt) } } },
      ],
    },
  };
}

const conditionsOf = (status: VodJobStatus) => Object.fromEntries((status.conditions ?? []).map((c) => [c.type, `${c.status}/${c.reason}`]));

describe("VodJob status from its Job", () => {
  test("a Job whose pod is not ready yet is Pending; a ready one Running, with the attempt counted", () => {
    const pending = vodJobStatus(vodJob(), { job: job({ active: 1, startTime: T0 }), pods: [] }, T0);
    expect(pending).toMatchObject({ phase: "Pending", progress: 0, attempts: 1, jobName: "vj", observedGeneration: 1, startTime: "2026-06-24T18:00:00Z" });
    expect(conditionsOf(pending)).toEqual({ JobCreated: "True/JobCreated", Complete: "False/Pending", Failed: "False/NoFailure" });
    const running = vodJobStatus(vodJob(pending), { job: job({ active: 1, ready: 1, startTime: T0 }), pods: [] }, T1);
    expect(running.phase).toBe("Running");
    expect(conditionsOf(running).Complete).toBe("False/Transcoding");
  });

  test("while Running, the worker's progress is mirrored; a look that fails keeps the last known value", () => {
    const observed = { job: job({ active: 1, ready: 1, startTime: T0 }), pods: [] };
    const at42 = vodJobStatus(vodJob(), { ...observed, progress: 42 }, T0);
    expect(at42).toMatchObject({ phase: "Running", progress: 42 });
    expect(vodJobStatus(vodJob(at42), observed, T1).progress).toBe(42);
    expect(statusChanged(at42, vodJobStatus(vodJob(at42), { ...observed, progress: 43 }, T1))).toBe(true);
  });

  test("a complete Job makes the VodJob Succeeded at 100 % with the asset URL from the worker's termination message", () => {
    const master = "s3://egress/vod/a/20260624T180000Z/master.m3u8";
    const status = vodJobStatus(
      vodJob(),
      {
        job: job({ succeeded: 1, startTime: T0, completionTime: T1, conditions: [{ type: "Complete", status: "True", lastTransitionTime: T1 }] }),
        pods: [workerPod(formatJobResult({ outcome: "completed", masterPlaylist: master }))],
      },
      T1,
    );
    expect(status).toMatchObject({ phase: "Succeeded", progress: 100, attempts: 1, masterPlaylistUrl: master, completionTime: "2026-06-24T18:05:00Z" });
    expect(status.conditions?.find((c) => c.type === "Complete")).toMatchObject({ status: "True", reason: "AssetPublished", observedGeneration: 1 });
  });

  test("a failed Job makes it Failed with Kubernetes' reason and the worker's last error", () => {
    const status = vodJobStatus(
      vodJob(),
      {
        job: job({
          failed: 1,
          conditions: [{ type: "Failed", status: "True", reason: "PodFailurePolicy", message: "Container worker for pod media/vj-x failed with exit code 3 matching FailJob rule at index 1", lastTransitionTime: T1 }],
        }),
        pods: [workerPod(formatJobResult({ outcome: "refused", error: "job refused (not-a-video): no video stream" }))],
      },
      T1,
    );
    expect(status.phase).toBe("Failed");
    expect(status.completionTime).toBe("2026-06-24T18:05:00Z");
    expect(status.conditions?.find((c) => c.type === "Failed")).toMatchObject({
      status: "True",
      reason: "PodFailurePolicy",
      message: expect.stringContaining("last attempt: job refused (not-a-video)"),
    });
  });

  test("the same observation later computes the same status (transition times kept): nothing to write", () => {
    const observed = { job: job({ active: 1, ready: 1, startTime: T0 }), pods: [] };
    const first = vodJobStatus(vodJob(), observed, T0);
    const again = vodJobStatus(vodJob(first), observed, T1);
    expect(statusChanged(first, again)).toBe(false);
    // Something did change: a new write, and only the changed condition gets a new transition time.
    const done = vodJobStatus(vodJob(first), { job: job({ succeeded: 1, startTime: T0, conditions: [{ type: "Complete", status: "True" }] }), pods: [] }, T1);
    expect(statusChanged(first, done)).toBe(true);
    const times = Object.fromEntries((done.conditions ?? []).map((c) => [c.type, c.lastTransitionTime]));
    expect(times).toEqual({ JobCreated: "2026-06-24T18:00:00Z", Complete: "2026-06-24T18:05:00Z", Failed: "2026-06-24T18:00:00Z" });
  });

  test("no Job because of the spec: Failed for good; because the operator lacks a bucket: Pending with the fix", () => {
    const invalid = vodJobStatus(vodJob(), { job: undefined, pods: [], problem: { terminal: true, reason: "InvalidSpec", message: "spec.projection.output=flat: ..." } }, T0);
    expect(invalid.phase).toBe("Failed");
    expect(conditionsOf(invalid)).toEqual({ JobCreated: "False/InvalidSpec", Complete: "False/JobFailed", Failed: "True/InvalidSpec" });
    const waiting = vodJobStatus(vodJob(), { job: undefined, pods: [], problem: { terminal: false, reason: "NoEgressBucket", message: "set spec.egressBucket" } }, T0);
    expect(waiting.phase).toBe("Pending");
    expect(waiting.conditions?.find((c) => c.type === "JobCreated")).toMatchObject({ status: "False", reason: "NoEgressBucket", message: "set spec.egressBucket" });
  });

  test("attempts never go down, even when an evicted pod is gone from the Job's counts", () => {
    const status = vodJobStatus(vodJob({ attempts: 2 }), { job: job({ active: 1 }), pods: [] }, T0);
    expect(status.attempts).toBe(2);
  });
});
