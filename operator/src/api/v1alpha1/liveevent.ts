import type { V1ObjectMeta } from "@kubernetes/client-node";
import { STREAM_NAME_PATTERN } from "@live360/core";
import { schema, type InputOf, type StoredOf } from "../schema.js";
import { DNS_SUBDOMAIN, DNS_SUBDOMAIN_MAX_LENGTH, conditions, hlsEncryption, observedGeneration, placementFields, projection, resources, secretKeyReference } from "./common.js";
import { ladder } from "./ladder.js";

/**
 * LiveEvent: one live 360° stream with everything it needs to be watched: a primary and a backup
 * origin (RTMP ingest, ABR HLS), an autoscaling edge cache in front of them, optional recording to
 * the VOD pipeline and an optional test source.
 */
export const LIVE_EVENT = {
  kind: "LiveEvent",
  listKind: "LiveEventList",
  plural: "liveevents",
  singular: "liveevent",
  shortNames: ["le"],
} as const;

/**
 * Children are named `<event>-origin-primary-rtmp` and so on; Services must be DNS-1035 labels
 * (≤ 63 characters, starting with a letter) and a StatefulSet's name must leave room for its
 * controller-revision-hash label, which caps event names here.
 */
export const MAX_LIVE_EVENT_NAME_LENGTH = 36;

export const liveEventSpec = schema
  .object("The desired live event. Fields marked immutable cannot change after creation.", {
  streamName: schema
    .string(
      "The stream's name: encoders publish to rtmp://<ingest>/live/<streamName>, viewers play /hls/<streamName>/master.m3u8. Lowercase letters, digits and '-', up to 63 characters. Immutable: encoders and players are configured with it.",
      { pattern: STREAM_NAME_PATTERN, maxLength: 63 },
    )
    .immutable("streamName is immutable: encoders and players already use it; create a new LiveEvent for a new stream"),
  publishKeySecretRef: secretKeyReference(
    "The publish key encoders must add to the publish URL (?key=<secret>); the origins refuse publishers without it. Without this field the operator generates a key Secret, <event>-publish-key, when the ingest is reachable from outside the cluster (the operator's RTMP Service type is LoadBalancer or NodePort) unless publishing.open is true.",
    "keys",
    'Key in the Secret holding lines of "<streamName>=<secret>" (the origin\'s --publish-keys-file format), e.g. kubectl create secret generic my-keys --from-literal=keys=my-stream=s3cret. One Secret may hold keys for several events.',
  ).optional(),
  publishing: schema
    .object("Who may publish the event's stream.", {
      open: schema
        .boolean(
          "Let anyone who reaches the ingest publish the event's stream without a key. Off by default: an ingest reachable from the internet needs a key, or anyone could take the stream over (the first publisher keeps it). Other stream names are refused either way.",
        )
        .default(false),
    })
    .default({}),
  ingest: schema
    .object("How encoders reach the origins.", {
      tls: schema
        .object(
          "RTMPS: the ingest Services take RTMP over TLS on port 443, so publish keys do not cross the internet in clear text. Encoders publish to rtmps://<ingest>:443/live/<streamName>.",
          {
            secretName: schema.string(
              "A kubernetes.io/tls Secret in the event's namespace (tls.crt, tls.key) for the ingest host names; cert-manager can issue and renew it, and the origins take a renewed one without a restart.",
              { pattern: DNS_SUBDOMAIN, maxLength: DNS_SUBDOMAIN_MAX_LENGTH },
            ),
            allowPlainRtmp: schema
              .boolean("Also keep plain RTMP on port 1935 for encoders without RTMPS; their keys then cross the network in clear text.")
              .default(false),
          },
        )
        .optional(),
    })
    .default({}),
  projection,
  ladder,
  hls: schema
    .object("HLS packaging of the live stream.", {
      lowLatency: schema
        .boolean(
          "1-second segments and zero-latency encoding instead of 2-second segments: about half the glass-to-glass delay, slightly more bits and requests. Set the encoder's keyframe interval to 1 s (the test source follows this setting by itself).",
        )
        .default(false),
      format: schema
        .enumeration(
          "ts: MPEG-TS segments, played everywhere. cmaf: fragmented-MP4 segments cut into Low-Latency HLS parts (partTargetMs) with blocking playlist reload and preload hints, cached and collapsed by the edge: the lowest latency, for hls.js, Safari and other LL-HLS players (others play the whole segments).",
          ["ts", "cmaf"] as const,
        )
        .default("ts"),
      partTargetMs: schema
        .integer("With format cmaf: the duration of an LL-HLS part in milliseconds (PART-TARGET), at most half a segment.", { minimum: 200, maximum: 1000 })
        .default(333),
      partHoldBackParts: schema
        .integer(
          "With format cmaf: how many parts behind the live edge LL-HLS players aim (PART-HOLD-BACK = this × partTargetMs). 3 is the spec's recommendation; 2, its floor, with partTargetMs 200 plays at about 0.65 s in hls.js but a player that starts inside the segment being written can stall.",
          { minimum: 2, maximum: 10 },
        )
        .default(3),
      windowSegments: schema
        .integer(
          "Segments listed in each live playlist (the sliding window): how far back a viewer can seek and how much a slow player can fall behind.",
          { minimum: 3, maximum: 60 },
        )
        .default(6),
      encryption: hlsEncryption(
        "AES-128 encryption of the live HLS: the origins encrypt every segment as they serve it, with a key per rotationSegments segments derived from the Secret (the same on both origins, so failover needs nothing more); the edge hands keys to signed URLs only, so playback.signing is required.",
      ).optional(),
    })
    .default({}),
  playback: schema
    .object("How viewers may watch.", {
      signing: schema
        .object(
          "Media (and encryption keys) through the edge only with signed URLs (/s/<keyId>/<expires>/<signature>/hls/<stream>/...; mint them with live360 sign-url or signedStreamPrefix): HMAC-SHA256 with the key the link names, which the edge pods take from the Secret into their environment. Every refusal is the same 403.",
          {
            secretRef: secretKeyReference(
              "The Secret holding the signing keys: lines keyId=secret (at least 32 characters each). Two lines during a rotation: links signed with either are good; remove the old one once its links have expired.",
              "keys",
              "Key in the Secret holding the keyId=secret lines.",
            ),
            maxLifetimeSeconds: schema
              .integer("A link expiring further ahead than this is refused, so no link outlives a key rotation by long.", { minimum: 60, maximum: 31536000 })
              .default(86400),
          },
        )
        .optional(),
    })
    .default({}),
  origin: schema
    .object("The origins: RTMP ingest and HLS packaging, one primary and (by default) one backup in another zone.", {
      redundancy: schema
        .enumeration(
          "primaryBackup: two origins in different zones; encoders publish to both (or roll over to the backup), the edge serves from the primary and fails over to the backup. single: one origin, cheaper, no failover.",
          ["primaryBackup", "single"] as const,
        )
        .default("primaryBackup")
        .immutable("origin.redundancy is immutable: encoders are configured with the ingest URLs it implies; create a new LiveEvent"),
      ...placementFields(
        "spot",
        "Origins hold the live state of the stream: choose onDemand when a 2-minute interruption notice is not acceptable even with a backup.",
      ),
      resources: resources(
        "Compute for each origin container. Transcoding the ladder dominates: about 2 cores for the standard ladder from a 4K source.",
      ).default({ requests: { cpu: "2", memory: "2Gi" }, limits: { memory: "4Gi" } }),
      dataVolumeSize: schema
        .quantity(
          "Size limit of each origin's scratch volume (emptyDir) holding the live HLS segments, and the recordings too when recording.volume.persistent is false (a 3-hour 16 Mbit/s source needs about 22Gi).",
        )
        .default("20Gi"),
    })
    .default({}),
  edge: schema
    .object("The edge cache tier viewers (or the CDN) fetch from: nginx, autoscaled on CPU.", {
      minReplicas: schema.integer("Fewest edge pods, also while nobody watches.", { minimum: 1, maximum: 1000 }).default(2),
      maxReplicas: schema.integer("Most edge pods the autoscaler may run.", { minimum: 1, maximum: 1000 }).default(10),
      targetCPUUtilizationPercentage: schema
        .integer("Average CPU use, as a percentage of the CPU request, that the autoscaler keeps the edge pods at.", {
          minimum: 10,
          maximum: 100,
        })
        .default(70),
      cacheSizeMegabytes: schema
        .integer("Size of each edge pod's on-disk cache (nginx proxy_cache max_size) in MiB; the pod's scratch volume is sized to match.", {
          minimum: 64,
          maximum: 1048576,
        })
        .default(2048),
      ...placementFields("spot", "Edges are stateless and many: Spot suits them."),
      resources: resources("Compute for each edge container; the autoscaler's target is a share of the CPU request.").default({
        requests: { cpu: "500m", memory: "256Mi" },
        limits: { memory: "512Mi" },
      }),
    })
    .rule("self.maxReplicas >= self.minReplicas", "edge.maxReplicas must be at least edge.minReplicas", { fieldPath: ".maxReplicas" })
    .default({}),
  recording: schema
    .object("Recording of the source for the live-to-VOD pipeline.", {
      enabled: schema
        .boolean("Record the source and hand each finished recording to the VOD pipeline (upload to the ingest bucket, message on the queue).")
        .default(true),
      bucket: schema
        .string("Ingest bucket for recordings; empty uses the operator's configured bucket.", { pattern: /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/ })
        .optional(),
      queueUrl: schema.string("SQS queue URL for VOD jobs; empty uses the operator's configured queue.", { format: "uri", maxLength: 2048 }).optional(),
      volume: schema
        .object(
          "Where each origin keeps recordings until the VOD pipeline has them. Immutable: a StatefulSet's volume claims cannot change; create a new LiveEvent.",
          {
            persistent: schema
              .boolean(
                "A PersistentVolumeClaim per origin (StatefulSet volumeClaimTemplates): an origin evicted, reclaimed by Spot or rescheduled comes back with its volume and delivers what S3 or SQS had not taken yet. Such a volume lives in one zone, so the origin can only return to a node in that zone (the other origin serves meanwhile). false keeps recordings on the scratch emptyDir (origin.dataVolumeSize), lost with the pod: for clusters without a volume provisioner.",
              )
              .default(true),
            size: schema
              .quantity("Size of each origin's recordings volume: the longest recording plus those that may wait for S3. A 3-hour 16 Mbit/s source needs about 22Gi.")
              .default("20Gi"),
            storageClassName: schema
              .string("StorageClass of the recordings volumes; empty uses the cluster's default class.", { pattern: /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, maxLength: 253 })
              .optional(),
          },
        )
        .immutable("recording.volume is immutable: a StatefulSet's volume claims cannot change; create a new LiveEvent")
        .default({}),
    })
    .default({}),
  testSource: schema
    .object("A synthetic 360° test pattern (grid, labels, timecode, tone) published to every origin (with the event's publish key), for trying an event without a camera.", {
      enabled: schema.boolean("Run the test source; turn it off before a real encoder publishes (the first publisher keeps the stream).").default(false),
      size: schema
        .string("Frame size WIDTHxHEIGHT of the 2:1 equirectangular pattern.", { pattern: /^[1-9][0-9]{1,4}x[1-9][0-9]{1,4}$/, maxLength: 11 })
        .default("1280x640"),
      bitrateKbps: schema.integer("H.264 bitrate of the pattern in kbit/s.", { minimum: 100, maximum: 100000 }).default(4000),
    })
    .default({}),
  })
  .rule(
    "!has(self.hls.encryption) || has(self.playback.signing)",
    "hls.encryption needs playback.signing: the edge hands encryption keys to signed URLs only, so without signing no viewer could decrypt",
    { fieldPath: ".hls.encryption" },
  )
  .rule(
    "self.hls.format != 'cmaf' || !has(self.hls.encryption)",
    "hls.encryption covers format ts only so far: use format ts for an encrypted event",
    { fieldPath: ".hls.format" },
  )
  .rule(
    "self.hls.format != 'cmaf' || self.hls.partTargetMs * 2 <= (self.hls.lowLatency ? 1000 : 2000)",
    "hls.partTargetMs must be at most half a segment (500 with lowLatency's 1-second segments, else 1000): a segment needs at least two parts",
    { fieldPath: ".hls.partTargetMs" },
  )
  .rule(
    "!(self.publishing.open && has(self.publishKeySecretRef))",
    "publishing.open lets anyone publish without a key, and publishKeySecretRef requires one: remove one of them",
    { fieldPath: ".publishing.open" },
  );

export const ACTIVE_ORIGINS = ["primary", "backup"] as const;
export type ActiveOrigin = (typeof ACTIVE_ORIGINS)[number];

export const LIVE_EVENT_PHASES = ["Pending", "Ready", "Live", "Degraded", "Ended"] as const;
export type LiveEventPhase = (typeof LIVE_EVENT_PHASES)[number];

export const LIVE_EVENT_CONDITIONS = ["OriginsReady", "EdgeReady", "Publishing", "Recording", "Degraded"] as const;
export type LiveEventConditionType = (typeof LIVE_EVENT_CONDITIONS)[number];

export const liveEventStatus = schema.object("The observed state of the live event, written by the operator.", {
  phase: schema
    .enumeration(
      "Pending: children are being created or are not ready. Ready: origins and edge are ready, nobody publishes yet. Live: an encoder publishes and viewers can watch. Degraded: live or ready, but without redundancy (an origin is down or its node is being reclaimed). Ended: publishing stopped after the event was live.",
      LIVE_EVENT_PHASES,
    )
    .optional(),
  observedGeneration,
  activeOrigin: schema
    .enumeration("The origin the edge serves from: primary, or backup while the primary is not ready or not live.", ACTIVE_ORIGINS)
    .optional(),
  ingest: schema
    .object("Where encoders publish (append ?key=<secret> when a publish key is required).", {
      primary: schema.string("RTMP URL of the primary origin.").optional(),
      backup: schema.string("RTMP URL of the backup origin (absent with redundancy single).").optional(),
      publishKeySecret: schema
        .string(
          "Where the publish key is, as <Secret>/<key> in the event's namespace (the key itself is never in the status): kubectl get secret <Secret> -o jsonpath='{.data.<key>}' | base64 -d gives the line <streamName>=<key>. Absent when publishing is open.",
        )
        .optional(),
    })
    .optional(),
  playback: schema
    .object("Where viewers watch.", {
      masterPlaylistUrl: schema.string("HLS master playlist through the edge Service.").optional(),
      playerUrl: schema.string("The 360° web player opened on that playlist.").optional(),
    })
    .optional(),
  conditions: conditions(
    "OriginsReady: the origin pods are ready. EdgeReady: enough edge pods are ready. Publishing: an encoder is publishing to the active origin. Recording: the recording is being made and handed off. Degraded: redundancy is lost, with the reason.",
    LIVE_EVENT_CONDITIONS,
  ).optional(),
});

export type LiveEventSpec = StoredOf<typeof liveEventSpec>;
export type LiveEventSpecInput = InputOf<typeof liveEventSpec>;
export type LiveEventStatus = StoredOf<typeof liveEventStatus>;

/** A LiveEvent as the operator reads it from the API server (defaults applied). */
export interface LiveEvent {
  apiVersion: string;
  kind: typeof LIVE_EVENT.kind;
  metadata: V1ObjectMeta;
  spec: LiveEventSpec;
  status?: LiveEventStatus;
}
