import type { V1ObjectMeta } from "@kubernetes/client-node";
import { PROJECTIONS } from "@live360/core";
import { schema, type InputOf, type StoredOf } from "../schema.js";
import { conditions, hlsEncryption, observedGeneration, placementFields, projection, resources } from "./common.js";
import { ladder } from "./ladder.js";

/**
 * VodJob: one recording (or uploaded file) turned into an on-demand ABR HLS asset by a Kubernetes
 * Job running the VOD worker. Usually created by the operator from a queue message, with a name
 * derived from the source so a redelivered message never makes a second job.
 */
export const VOD_JOB = {
  kind: "VodJob",
  listKind: "VodJobList",
  plural: "vodjobs",
  singular: "vodjob",
  shortNames: ["vj"],
} as const;

/** A Job's name becomes the `batch.kubernetes.io/job-name` label of its pods, and label values stop at 63. */
export const MAX_VOD_JOB_NAME_LENGTH = 63;

/** Bounds of spec.activeDeadlineSeconds and spec.ttlSecondsAfterFinished, which the operator's defaults for queue-made VodJobs keep to as well. */
export const ACTIVE_DEADLINE_SECONDS = { minimum: 60, maximum: 604800 } as const;
/** Retries of a VodJob's transcode (spec.backoffLimit) unless it sets its own. */
export const DEFAULT_BACKOFF_LIMIT = 3;
export const TTL_SECONDS_AFTER_FINISHED = { minimum: 0, maximum: 2592000 } as const;

const S3_URL = /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/.+$/;

export const vodJobSpec = schema
  .object("The desired transcode. A VodJob cannot change once created: delete it and create a new one.", {
    source: schema.string("The recording to transcode, as s3://<bucket>/<key> (an MP4 or FLV with H.264 video).", {
      pattern: S3_URL,
      maxLength: 1100,
    }),
    egressBucket: schema
      .string(
        "Bucket the asset is written to, under vod/<stream>/<UTC start of the recording>/ (master.m3u8, asset.json, poster.jpg and one folder per variant): the VOD worker's deterministic layout, so a re-run rewrites the same asset. Empty: the operator's egress bucket.",
        { pattern: /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, maxLength: 63 },
      )
      .optional(),
    ladder,
    projection: schema
      .object("Projection of the source and of the output.", {
        input: projection,
        output: schema
          .enumeration(
            "Re-project the video (FFmpeg v360) into this projection; empty keeps the input's. cubemap output is the equi-angular cubemap the player renders on a cube, sharper for the same bitrate.",
            PROJECTIONS,
          )
          .optional(),
      })
      .default({}),
    hls: schema
      .object("HLS packaging of the asset.", {
        encryption: hlsEncryption(
          "AES-128 encryption of the asset: the VOD worker encrypts every segment before uploading it, with a key per rotationSegments segments derived from the Secret and the asset's path (vod/<stream>/<UTC start>), so never a live stream's key; no key is stored with the asset. The Secret must be in the VodJob's namespace. A VodJob the operator makes from the VOD queue copies this from the LiveEvent of the recording's stream.",
        ).optional(),
      })
      .default({}),
    backoffLimit: schema
      .integer("Failed attempts allowed before the job fails (a Spot interruption does not count as an attempt).", { minimum: 0, maximum: 10 })
      .default(DEFAULT_BACKOFF_LIMIT),
    activeDeadlineSeconds: schema
      .integer("Upper bound for one attempt's run time; unset means no bound.", ACTIVE_DEADLINE_SECONDS)
      .optional(),
    ttlSecondsAfterFinished: schema
      .integer("How long the finished Job and its pods are kept for inspection (the VodJob itself stays).", TTL_SECONDS_AFTER_FINISHED)
      .default(86400),
    ...placementFields("spot", "A Spot interruption costs one retry of the transcode, never the recording."),
    resources: resources("Compute for the worker container: transcoding is CPU-bound and scales with cores.").default({
      requests: { cpu: "2", memory: "2Gi" },
      limits: { memory: "4Gi" },
    }),
  })
  .immutable("a VodJob's spec cannot change: delete it and create a new one");

export const VOD_JOB_PHASES = ["Pending", "Running", "Succeeded", "Failed"] as const;
export type VodJobPhase = (typeof VOD_JOB_PHASES)[number];

export const VOD_JOB_CONDITIONS = ["JobCreated", "Complete", "Failed"] as const;

export const vodJobStatus = schema.object("The observed state of the transcode, written by the operator.", {
  phase: schema
    .enumeration("Pending: waiting for its Job to start. Running: transcoding. Succeeded: the asset is published. Failed: out of retries.", VOD_JOB_PHASES)
    .optional(),
  observedGeneration,
  progress: schema.integer("Percent of the source transcoded in the current attempt.", { minimum: 0, maximum: 100 }).optional(),
  attempts: schema.integer("Attempts started so far, including the running one.", { minimum: 0 }).optional(),
  jobName: schema.string("The batch/v1 Job running the worker.").optional(),
  masterPlaylistUrl: schema.string("The published asset's master playlist (set when Succeeded).").optional(),
  startTime: schema.string("When the first attempt started.", { format: "date-time" }).optional(),
  completionTime: schema.string("When the job succeeded or finally failed.", { format: "date-time" }).optional(),
  conditions: conditions(
    "JobCreated: the worker Job exists. Complete: the asset is published. Failed: the job ran out of attempts, with the worker's last error.",
    VOD_JOB_CONDITIONS,
  ).optional(),
});

export type VodJobSpec = StoredOf<typeof vodJobSpec>;
export type VodJobSpecInput = InputOf<typeof vodJobSpec>;
export type VodJobStatus = StoredOf<typeof vodJobStatus>;

export interface VodJob {
  apiVersion: string;
  kind: typeof VOD_JOB.kind;
  metadata: V1ObjectMeta;
  spec: VodJobSpec;
  status?: VodJobStatus;
}
