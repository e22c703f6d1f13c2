import { createDecipheriv } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { tmpdir } from "node:os";
import { parseMediaPlaylist, periodKey, probe, resolveBinary, runOnce, segmentIv, vodContentId, type ObjectStorage } from "@live360/core";

/** What a VOD asset in a bucket actually contains, read back object by object. */
export interface InspectedAsset {
  /** Keys relative to the asset's prefix, sorted: the asset's layout. */
  layout: string[];
  master: string;
  manifest: Record<string, unknown> & { variants: Array<Record<string, unknown>> };
  /**
   * Per variant named in the master playlist: its playlist's segment durations, whether it ends,
   * and the key period of each segment (its `#EXT-X-KEY`'s `keys/<period>.key`; none when clear).
   */
  variants: Array<{ uri: string; ended: boolean; durations: number[]; totalSeconds: number; keyPeriods: (number | undefined)[] }>;
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

/** The key period each segment of a media playlist is under, from the `#EXT-X-KEY` before it. */
function keyPeriodsOf(playlist: string): (number | undefined)[] {
  let current: number | undefined;
  const periods: (number | undefined)[] = [];
  for (const line of playlist.split("\n")) {
    const key = /^#EXT-X-KEY:METHOD=AES-128,URI="(?:\.\.\/)?keys\/(\d+)\.key"/.exec(line);
    if (key) current = Number(key[1]);
    else if (line.startsWith("#EXT-X-KEY:")) current = undefined;
    else if (line.trim() !== "" && !line.startsWith("#")) periods.push(current);
  }
  return periods;
}

/**
 * Reads an asset back and fully decodes every segment of every variant (`ffmpeg -xerror`), so
 * "decodable" means decodable, not merely present. Throws on the first segment that is not.
 * Encrypted segments are decrypted first as a player would — the key of their period (derived
 * from `secret`) and their media sequence number as IV — so without the secret they fail.
 */
export async function inspectVodAsset(storage: ObjectStorage, bucket: string, prefix: string, options: { secret?: string } = {}): Promise<InspectedAsset> {
  const ffmpeg = await resolveBinary("ffmpeg");
  const layout = (await listKeys(storage, bucket, prefix)).map((key) => key.slice(prefix.length)).sort();
  const master = await readObjectText(storage, bucket, `${prefix}master.m3u8`);
  const manifest = JSON.parse(await readObjectText(storage, bucket, `${prefix}asset.json`)) as InspectedAsset["manifest"];
  const dir = await mkdtemp(path.join(tmpdir(), "live360-asset-"));
  try {
    const variants: InspectedAsset["variants"] = [];
    for (const uri of master.split("\n").filter((line) => line.endsWith(".m3u8"))) {
      const text = await readObjectText(storage, bucket, `${prefix}${uri}`);
      const playlist = parseMediaPlaylist(text);
      const keyPeriods = keyPeriodsOf(text);
      for (const [index, segment] of playlist.segments.entries()) {
        const file = path.join(dir, "segment.ts");
        await storage.getToFile(bucket, `${prefix}${path.posix.join(path.posix.dirname(uri), segment.uri)}`, file);
        const period = keyPeriods[index];
        if (period !== undefined && options.secret !== undefined) {
          const decipher = createDecipheriv("aes-128-cbc", periodKey(options.secret, vodContentId(prefix), period), segmentIv(playlist.mediaSequence + index));
          await writeFile(file, Buffer.concat([decipher.update(await readFile(file)), decipher.final()]));
        }
        await runOnce(ffmpeg, ["-v", "error", "-xerror", "-i", file, "-f", "null", "-"], { timeoutMs: 60_000 }).catch((error: Error) => {
          throw new Error(`segment ${segment.uri} of ${uri} does not decode: ${error.message}`);
        });
      }
      const durations = playlist.segments.map((s) => s.duration);
      variants.push({ uri, ended: playlist.ended, durations, totalSeconds: durations.reduce((a, b) => a + b, 0), keyPeriods });
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
