import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { open, rename, rm } from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

/**
 * Crash-safe file writes for the local storage and the file-backed queue: data is written to a
 * temporary file in the same directory, flushed, renamed over the target (atomic on POSIX) and
 * the directory is flushed, so after a crash the target holds the old content or the new, never
 * a torn mix, and a completed write survives power loss.
 */

/** A unique hidden name beside `file`, on the same filesystem so rename() is atomic. */
export function temporarySibling(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString("hex")}.partial`);
}

export async function writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const temporary = temporarySibling(file);
  try {
    const handle = await open(temporary, "wx");
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  await syncDirectory(path.dirname(file));
}

/** Makes a directory's entries (creations, renames, deletions) durable. */
export async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Streams `body` into `file` so that the file appears complete or not at all. */
export async function streamToFileAtomic(body: Readable, file: string, signal?: AbortSignal): Promise<void> {
  const temporary = temporarySibling(file);
  try {
    await pipeline(body, createWriteStream(temporary, { flags: "wx", flush: true }), { signal });
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
