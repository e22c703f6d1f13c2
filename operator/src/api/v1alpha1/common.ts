import { DEFAULT_KEY_ROTATION_SEGMENTS, PROJECTIONS } from "@live360/core";
import { schema, type StoredOf } from "../schema.js";

/** API group and version of every live360 custom resource. */
export const GROUP = "live360.io";
export const VERSION = "v1alpha1";
export const API_VERSION = `${GROUP}/${VERSION}`;

export const projection = schema
  .enumeration(
    "How the video maps onto the viewing sphere: equirectangular (2:1, the usual 360° camera output), cubemap (equi-angular cubemap faces) or flat (ordinary video on a plane). Recorded with recordings so the VOD pipeline and the player treat them right.",
    PROJECTIONS,
  )
  .default("equirectangular");

/** A quantity per resource, as in a container's `resources.requests`. */
const resourceList = (description: string) =>
  schema.object(description, {
    cpu: schema.quantity("CPU, in cores (\"2\") or millicores (\"500m\").").optional(),
    memory: schema.quantity('Memory, e.g. "512Mi", "2Gi".').optional(),
    "ephemeral-storage": schema.quantity('Local disk, e.g. "10Gi".').optional(),
  });

export const resources = (description: string) =>
  schema.object(description, {
    requests: resourceList("What the scheduler reserves on a node; the autoscaler's CPU target is a share of the CPU request.").optional(),
    limits: resourceList("Hard caps: a container above its memory limit is killed, above its CPU limit it is throttled.").optional(),
  });
export type Resources = StoredOf<ReturnType<typeof resources>>;

const toleration = schema.object("Lets pods run on nodes with a matching taint (same fields as a pod toleration).", {
  key: schema.string("Taint key to match; empty with operator Exists matches every taint.", { maxLength: 316 }).optional(),
  operator: schema.enumeration("Exists matches any value; Equal matches value exactly.", ["Exists", "Equal"] as const).default("Equal"),
  value: schema.string("Taint value to match with operator Equal.", { maxLength: 63 }).optional(),
  effect: schema
    .enumeration("Taint effect to match; empty matches all effects.", ["NoSchedule", "PreferNoSchedule", "NoExecute"] as const)
    .optional(),
  tolerationSeconds: schema
    .integer("For NoExecute taints: how long the pod stays after the taint appears; unset means forever.", { format: "int64" })
    .optional(),
});

/** Labels one nodeSelector may name. */
export const MAX_NODE_SELECTOR_LABELS = 16;

export const CAPACITY_TYPES = ["spot", "onDemand"] as const;
export type CapacityType = (typeof CAPACITY_TYPES)[number];

/** Where pods of one kind run; shared by origins, edges and VOD workers. */
export const placementFields = (capacityDefault: CapacityType, preferenceReason: string) => ({
  capacityType: schema
    .enumeration(
      `Preferred node capacity (the eks.amazonaws.com/capacityType node label): spot (cheap, may be reclaimed with a 2-minute notice) or onDemand. A preference, not a requirement: pods still run when only the other kind has room. ${preferenceReason}`,
      CAPACITY_TYPES,
    )
    .default(capacityDefault),
  nodeSelector: schema
    .map("Node labels the pods require (added to the operator's own placement rules).", schema.string("Label value.", { maxLength: 63 }), {
      maxProperties: MAX_NODE_SELECTOR_LABELS,
    })
    .optional(),
  tolerations: schema
    .array("Tolerations added to the pods, e.g. for tainted Spot node groups.", toleration, { maxItems: 16, listType: "atomic" })
    .optional(),
});

/** A DNS-1123 subdomain, the form of Secret names (at most 253 characters, checked apart: RE2 has no lookahead). */
export const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export const DNS_SUBDOMAIN_MAX_LENGTH = 253;

export const secretKeyReference = (description: string, defaultKey: string, keyDescription: string) =>
  schema.object(description, {
    name: schema.string("Name of a Secret in the same namespace.", { pattern: DNS_SUBDOMAIN, maxLength: DNS_SUBDOMAIN_MAX_LENGTH }),
    key: schema.string(keyDescription, { pattern: /^[-._a-zA-Z0-9]+$/, maxLength: 253 }).default(defaultKey),
  });

/**
 * AES-128 HLS encryption, one shape for LiveEvents and VodJobs: the origin and the VOD worker take
 * the same flags (--hls-encryption-secret-file, --hls-key-rotation) from it. `description` says who
 * encrypts what and who hands out the keys, which differ between the two.
 */
export const hlsEncryption = (description: string) =>
  schema.object(description, {
    secretRef: secretKeyReference(
      "The Secret holding the key derivation secret (at least 32 characters), e.g. kubectl create secret generic demo-hls --from-literal=secret=$(openssl rand -base64 32).",
      "secret",
      "Key in the Secret holding the secret.",
    ),
    rotationSegments: schema
      .integer("Segments per key: a leaked key opens this many segments only.", { minimum: 1, maximum: 10000 })
      .default(DEFAULT_KEY_ROTATION_SEGMENTS),
  });
export type HlsEncryption = StoredOf<ReturnType<typeof hlsEncryption>>;

/** The standard metav1.Condition shape, so `kubectl wait --for=condition=…` works. */
export const conditions = <const T extends readonly string[]>(description: string, types: T) =>
  schema.array(
    description,
    schema.object("One aspect of the resource's state.", {
      type: schema.enumeration("Which aspect this condition describes.", types),
      status: schema.enumeration("True, False, or Unknown when it cannot be determined.", ["True", "False", "Unknown"] as const),
      observedGeneration: schema
        .integer("The metadata.generation this condition was computed from.", { minimum: 0, format: "int64" })
        .optional(),
      lastTransitionTime: schema.string("When status last changed.", { format: "date-time" }),
      reason: schema.string("A CamelCase reason for the status, for tools and alerts.", {
        pattern: /^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/,
        minLength: 1,
        maxLength: 1024,
      }),
      message: schema.string("What happened and, for a problem, what to do about it.", { maxLength: 32768 }),
    }),
    { maxItems: 16, listType: "map", listMapKeys: ["type"] },
  );

export const observedGeneration = schema
  .integer("The metadata.generation the operator last acted on; status describes that generation.", { minimum: 0, format: "int64" })
  .optional();
