import { rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { renderMasterPlaylist, type VariantEntry } from "@live360/core";

// Describing a variant is shared with the VOD worker, so it lives in core.
export { describeVariant } from "@live360/core";

export const MASTER_PLAYLIST = "master.m3u8";

/** Writes the master playlist atomically, so a reader never sees half of it. */
export async function writeMasterPlaylist(streamDir: string, variants: readonly VariantEntry[]): Promise<void> {
  const file = path.join(streamDir, MASTER_PLAYLIST);
  await writeFile(`${file}.tmp`, renderMasterPlaylist(variants));
  await rename(`${file}.tmp`, file);
}
