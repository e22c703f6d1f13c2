import { mkdtemp, rm } from "node:fs/promises";
import path from "node:path";
import { tmpdir } from "node:os";
import { parseMediaPlaylist, probe, resolveBinary, runOnce, type ObjectStorage } from "@live360/core";

/** What a VOD asset in a bucket actually contains, read back object by object. */
export interface InspectedAsset {
  /** Keys relative to the asset's prefix, sorted: the asset's layout. */
  layout: string[];
  master: string;
  manifest: Record<string, unknown> & { variants: Array<Record<string, unknown>> };
  /** Per variant named in the master playlist: its playlist's segment durations and whether it ends. */
  variants: Array<{ uri: string; ended: boolean; durations: number[]; totalSeconds: number }>;
  poster: { width: number; height: number; codec: string };
}

export async function readObjectText(storage: ObjectStorage, bucket: string, key: string): Promise<string> {
  const { body } = await storage.getStream(bucket, key);
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export async function listKeys(storage: ObjectStorage, bucket: string, prefix = ""): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of storage.list(bucket, prefix)) keys.push(object.key);
  return keys;
}

/**
 * Reads an asset back and fully decodes every segment of every variant (`ffmpeg -xerror`), so
 * "decodable" means decodable, not merely present. Throws on the first segment that is not.
 */
export async function inspectVodAsset(storage: ObjectStorage, bucket: string, prefix: string): Promise<InspectedAsset> {
  const ffmpeg = await resolveBinary("ffmpeg");
  const layout = (await listKeys(storage, bucket, prefix)).map((key) => key.slice(prefix.length)).sort();
  const master = await readObjectText(storage, bucket, `${prefix}master.m3u8`);
  const manifest = JSON.parse(await readObjectText(storage, bucket, `${prefix}asset.json`)) as InspectedAsset["manifest"];
  const dir = await mkdtemp(path.join(tmpdir(), "live360-asset-"));
  try {
    const variants: InspectedAsset["variants"] = [];
    for (const uri of master.split("\n").filter((line) => line.endsWith(".m3u8"))) {
      const playlist = parseMediaPlaylist(await readObjectText(storage, bucket, `${prefix}${uri}`));
      for (const segment of playlist.segments) {
        const file = path.join(dir, "segment.ts");
        await storage.getToFile(bucket, `${prefix}${path.posix.join(path.posix.dirname(uri), segment.uri)}`, file);
        await runOnce(ffmpeg, ["-v", "error", "-xerror", "-i", file, "-f", "null", "-"], { timeoutMs: 60_000 }).catch((error: Error) => {
          throw new Error(`segment ${segment.uri} of ${uri} does not decode: ${error.message}`);
        });
      }
      const durations = playlist.segments.map((s) => s.duration);
      variants.push({ uri, ended: playlist.ended, durations, totalSeconds: durations.reduce((a, b) => a + b, 0) });
    }
    const posterFile = path.join(dir, "poster.jpg");
    await storage.getToFile(bucket, `${prefix}poster.jpg`, posterFile);
    const posterVideo = (await probe(posterFile)).streams.find((s) => s.codec_type === "video");
    return {
      layout,
      master,
      manifest,
      variants,
      poster: { width: posterVideo?.width ?? 0, height: posterVideo?.height ?? 0, codec: posterVideo?.codec_name ?? "" },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
