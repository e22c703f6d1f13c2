import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import { VARIANT_PLAYLIST, type ObjectStorage } from "@live360/core";
import { ASSET_MANIFEST, MASTER_PLAYLIST } from "./asset.js";
import { POSTER_FILE } from "./plan.js";
import { throwIfAborted } from "./errors.js";
import { retryTransient, type RetryOptions } from "./retry.js";

const CONTENT_TYPES: Record<string, string> = {
  ".m3u8": "application/vnd.apple.mpegurl",
  ".ts": "video/mp2t",
  ".jpg": "image/jpeg",
  ".json": "application/json",
};

/** Parallel PUTs: segments are small, so latency rather than bandwidth bounds one at a time. */
const UPLOAD_CONCURRENCY = 8;

/**
 * Uploads a finished asset directory in an order that never advertises a partial asset:
 * segments and poster first, then each variant playlist (which lists those segments), then
 * `asset.json`, and the master playlist last. An aborted upload leaves no master, so readers
 * never see the asset; the next attempt overwrites the same keys. An upload S3 does not answer
 * (down, black-holed, 5xx) is retried with backoff (retry.ts) before the job gives up, so the
 * order holds across an outage: nothing of a stage starts before the stage before it is all up.
 */
export async function uploadAsset(
  storage: ObjectStorage,
  bucket: string,
  prefix: string,
  dir: string,
  variantNames: readonly string[],
  retry: RetryOptions,
): Promise<{ objects: number; bytes: number }> {
  const { signal } = retry;
  const stages: string[][] = [[POSTER_FILE], [], [ASSET_MANIFEST], [MASTER_PLAYLIST]];
  for (const name of variantNames) {
    const files = await readdir(path.join(dir, name));
    stages[0]!.push(...files.filter((f) => f.endsWith(".ts")).sort().map((f) => `${name}/${f}`));
    stages[1]!.push(`${name}/${VARIANT_PLAYLIST}`);
  }
  let bytes = 0;
  // Once one upload has failed for good the job fails: the others' retries end with it.
  const failed = new AbortController();
  const uploadSignal = AbortSignal.any([signal, failed.signal]);
  for (const stage of stages) {
    throwIfAborted(signal);
    await inParallel(stage, UPLOAD_CONCURRENCY, failed, async (relative) => {
      throwIfAborted(signal);
      const file = path.join(dir, relative);
      const key = `${prefix}${relative}`;
      const put = (): Promise<void> => storage.putFile(bucket, key, file, { contentType: CONTENT_TYPES[path.extname(relative)], signal: uploadSignal });
      await retryTransient("upload", `s3://${bucket}/${key}`, put, { ...retry, signal: uploadSignal });
      bytes += (await stat(file)).size;
    });
  }
  return { objects: stages.flat().length, bytes };
}

/**
 * Runs `task` over `items` with at most `limit` at a time; the first failure stops new starts,
 * aborts `failed` (ending the others' retries) and is thrown.
 */
async function inParallel<T>(items: readonly T[], limit: number, failed: AbortController, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: unknown;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (failure === undefined && next < items.length) {
      const item = items[next++]!;
      try {
        await task(item);
      } catch (error) {
        failure ??= error;
        failed.abort();
      }
    }
  });
  await Promise.all(runners);
  if (failure !== undefined) throw failure;
}
