import { Live360Error, ObjectNotFoundError, utcStamp, type ObjectStorage, type Projection } from "@live360/core";

/**
 * An asset's layout in the egress bucket, deterministic from its recording so a job that runs
 * twice writes the same keys:
 *
 *   vod/<stream>/<UTC timestamp of the recording's start>/master.m3u8   (uploaded last)
 *                                                       /asset.json
 *                                                       /poster.jpg
 *                                                       /<variant>/index.m3u8, seg_00000.ts, …
 *
 * With encryption, the variant playlists name `../keys/<period>.key`, which is not in the bucket.
 */
export const VOD_PREFIX = "vod/";
export const MASTER_PLAYLIST = "master.m3u8";
export const ASSET_MANIFEST = "asset.json";
export const ASSET_MANIFEST_VERSION = 1;

export function assetPrefix(stream: string, startedAt: Date): string {
  return `${VOD_PREFIX}${stream}/${utcStamp(startedAt)}/`;
}

export interface AssetVariant {
  name: string;
  /** Relative to the asset's directory, as in the master playlist. */
  playlist: string;
  width: number;
  height: number;
  frameRate: number;
  bandwidth: number;
  averageBandwidth: number;
  codecs: string[];
  projection: Projection;
  segments: number;
  durationSeconds: number;
}

/** `asset.json`, beside the master playlist: what a catalogue or player needs without parsing HLS. */
export interface AssetManifest {
  version: typeof ASSET_MANIFEST_VERSION;
  stream: string;
  /** When the recording started (ISO 8601); the asset's directory is named after it. */
  startedAt: string;
  /** When this asset was written (ISO 8601). */
  created: string;
  durationSeconds: number;
  /** The recording's projection; each variant says its own (lower rungs may be a cubemap). */
  projection: Projection;
  master: string;
  poster: string;
  segmentSeconds: number;
  variants: AssetVariant[];
  /** The recording it was made from; a job for the same object (same ETag) is already done. */
  source: { bucket: string; key: string; etag: string | undefined; sizeBytes: number };
  /**
   * Present when the segments are AES-128 encrypted: a key per `rotationSegments` segments, at
   * `keys/<period>.key` beside the master playlist, served by whoever holds the secret (the edge),
   * never stored with the asset.
   */
  encryption?: { method: "AES-128"; rotationSegments: number; keys: string };
}

export class AssetManifestError extends Live360Error {}

/** Reads an asset's manifest; undefined when it does not exist (yet). */
export async function readAssetManifest(storage: ObjectStorage, bucket: string, prefix: string): Promise<AssetManifest | undefined> {
  let text: string;
  try {
    const { body } = await storage.getStream(bucket, `${prefix}${ASSET_MANIFEST}`);
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    text = Buffer.concat(chunks).toString("utf8");
  } catch (error) {
    if (error instanceof ObjectNotFoundError) return undefined;
    throw error;
  }
  try {
    const manifest = JSON.parse(text) as AssetManifest;
    if (manifest.version !== ASSET_MANIFEST_VERSION) throw new Error(`version ${String(manifest.version)}`);
    return manifest;
  } catch (error) {
    throw new AssetManifestError(`s3://${bucket}/${prefix}${ASSET_MANIFEST} is not a valid asset manifest: ${(error as Error).message}`);
  }
}

/** Whether the master playlist exists: only then is an asset complete and advertised. */
export async function hasMasterPlaylist(storage: ObjectStorage, bucket: string, prefix: string): Promise<boolean> {
  try {
    await storage.head(bucket, `${prefix}${MASTER_PLAYLIST}`);
    return true;
  } catch (error) {
    if (error instanceof ObjectNotFoundError) return false;
    throw error;
  }
}

/** The complete assets in a bucket (those with a master playlist), newest recording first. */
export async function listAssets(storage: ObjectStorage, bucket: string): Promise<{ prefix: string; manifest: AssetManifest }[]> {
  const prefixes: string[] = [];
  for await (const object of storage.list(bucket, VOD_PREFIX)) {
    if (object.key.endsWith(`/${MASTER_PLAYLIST}`)) prefixes.push(object.key.slice(0, -MASTER_PLAYLIST.length));
  }
  const assets: { prefix: string; manifest: AssetManifest }[] = [];
  for (const prefix of prefixes) {
    const manifest = await readAssetManifest(storage, bucket, prefix).catch(() => undefined);
    if (manifest) assets.push({ prefix, manifest });
  }
  return assets.sort((a, b) => (a.manifest.startedAt < b.manifest.startedAt ? 1 : a.manifest.startedAt > b.manifest.startedAt ? -1 : 0));
}
