import { isProjection, type Projection } from "@live360/core/browser";

/** Other names the same projections go by (FFmpeg's v360 names, the VOD worker's flag values). */
const ALIASES: Readonly<Record<string, Projection>> = {
  equirect: "equirectangular",
  e: "equirectangular",
  erp: "equirectangular",
  eac: "cubemap",
  cube: "cubemap",
  rect: "flat",
  "2d": "flat",
};

export function parseProjection(value: unknown): Projection | undefined {
  if (typeof value !== "string") return undefined;
  const name = value.trim().toLowerCase();
  return isProjection(name) ? name : ALIASES[name];
}

/**
 * The parts of a VOD asset manifest (`asset.json` beside the master playlist) the player uses.
 * `variants` may give a rung its own projection: the VOD worker can reproject only the lower
 * rungs to EAC, so the projection can change when the player switches rungs.
 */
export interface AssetManifest {
  projection: Projection | undefined;
  variants: VariantProjection[];
}

export interface VariantProjection {
  /** Absolute URL of the variant playlist, when the manifest names it by `uri`. */
  url: string | undefined;
  /** The variant's directory name (`540p`), when the manifest names it by `name`. */
  name: string | undefined;
  projection: Projection;
}

/** Where the asset manifest of a master playlist lives. */
export function assetManifestUrl(masterUrl: string): string {
  return new URL("asset.json", masterUrl).href;
}

/** Reads what it can from a manifest; anything malformed is ignored rather than fatal. */
export function parseAssetManifest(json: unknown, masterUrl: string): AssetManifest {
  const manifest: AssetManifest = { projection: undefined, variants: [] };
  if (typeof json !== "object" || json === null) return manifest;
  const record = json as Record<string, unknown>;
  manifest.projection = parseProjection(record.projection);
  if (!Array.isArray(record.variants)) return manifest;
  for (const entry of record.variants as unknown[]) {
    if (typeof entry !== "object" || entry === null) continue;
    const variant = entry as Record<string, unknown>;
    const projection = parseProjection(variant.projection);
    if (!projection) continue;
    const uri = typeof variant.uri === "string" ? variant.uri : undefined;
    const name = typeof variant.name === "string" ? variant.name : undefined;
    if (!uri && !name) continue;
    manifest.variants.push({ url: uri ? safeResolve(uri, masterUrl) : undefined, name, projection });
  }
  return manifest;
}

function safeResolve(uri: string, base: string): string | undefined {
  try {
    return new URL(uri, base).href;
  } catch {
    return undefined;
  }
}

export type ProjectionSource = "param" | "manifest" | "default";

export interface ProjectionChoice {
  projection: Projection;
  source: ProjectionSource;
}

export const DEFAULT_PROJECTION: Projection = "equirectangular";

/** The page parameter wins, then the asset manifest, then equirectangular (what cameras write). */
export function chooseProjection(explicit: Projection | undefined, manifest: AssetManifest | undefined): ProjectionChoice {
  if (explicit) return { projection: explicit, source: "param" };
  if (manifest?.projection) return { projection: manifest.projection, source: "manifest" };
  return { projection: DEFAULT_PROJECTION, source: "default" };
}

/**
 * The projection of one rung: a forced projection applies to every rung; otherwise the
 * manifest's entry for that variant (matched by playlist URL, then by directory name), then
 * the asset-wide choice.
 */
export function projectionForVariant(
  choice: ProjectionChoice,
  manifest: AssetManifest | undefined,
  variantUrl: string,
): Projection {
  if (choice.source === "param" || !manifest) return choice.projection;
  const withoutQuery = variantUrl.split(/[?#]/, 1)[0]!;
  const directory = withoutQuery.split("/").slice(-2, -1)[0];
  const match =
    manifest.variants.find((v) => v.url !== undefined && v.url.split(/[?#]/, 1)[0] === withoutQuery) ??
    manifest.variants.find((v) => v.name !== undefined && v.name === directory);
  return match?.projection ?? choice.projection;
}
