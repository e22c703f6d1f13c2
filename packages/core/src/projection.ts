/**
 * How a video maps onto the viewing sphere. Recordings, job messages, asset manifests and the
 * player all use these names, so they live in one place.
 */
export const PROJECTIONS = ["equirectangular", "cubemap", "flat"] as const;
export type Projection = (typeof PROJECTIONS)[number];

export function isProjection(value: unknown): value is Projection {
  return typeof value === "string" && (PROJECTIONS as readonly string[]).includes(value);
}
