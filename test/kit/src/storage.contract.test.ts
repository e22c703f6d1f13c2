import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  BucketNotFoundError,
  InvalidObjectNameError,
  LocalDirectoryStorage,
  ObjectNotFoundError,
  S3_MIN_PART_SIZE,
  S3Storage,
  type ObjectStorage,
} from "@live360/core";
import { startS3Server } from "./s3-server.js";

/**
 * One contract, two implementations: whatever the VOD pipeline can rely on from S3 it can rely on
 * from local mode's directory storage, and the other way round.
 */
interface Subject {
  name: string;
  /** S3 multipart uploads have an ETag ending in -<parts>; a directory has no parts. */
  uploadsInParts: boolean;
  start(): Promise<{ storage: ObjectStorage; stop(): Promise<void> }>;
}

const BUCKET = "contract";

const subjects: Subject[] = [
  {
    name: "S3Storage on versitygw",
    uploadsInParts: true,
    async start() {
      const server = await startS3Server({ buckets: [BUCKET] });
      const storage = new S3Storage({
        endpoint: server.endpoint,
        region: server.region,
        credentials: server.credentials,
        partSizeBytes: S3_MIN_PART_SIZE,
      });
      return { storage, stop: () => server.stop() };
    },
  },
  {
    name: "LocalDirectoryStorage",
    uploadsInParts: false,
    async start() {
      const root = await mkdtemp(join(tmpdir(), "live360-local-storage-"));
      const storage = new LocalDirectoryStorage(root);
      await storage.createBucket(BUCKET);
      return { storage, stop: () => rm(root, { recursive: true, force: true }) };
    },
  },
];

const sha256 = (data: Buffer): string => createHash("sha256").update(data).digest("hex");

async function readAll(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function keys(storage: ObjectStorage, prefix?: string): Promise<string[]> {
  const found: string[] = [];
  for await (const object of storage.list(BUCKET, prefix)) found.push(object.key);
  return found;
}

describe.each(subjects)("ObjectStorage contract: $name", (subject) => {
  let storage: ObjectStorage;
  let stop: () => Promise<void>;
  let work: string;

  beforeAll(async () => {
    ({ storage, stop } = await subject.start());
    work = await mkdtemp(join(tmpdir(), "live360-storage-test-"));
  });

  afterAll(async () => {
    await stop?.();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test("a file larger than 5 MiB round-trips byte for byte, with its content type and metadata", async () => {
    // 11 MiB: three 5 MiB parts where the storage uploads in parts, the last one short.
    const data = randomBytes(11 * 1024 * 1024);
    const source = join(work, "recording.mp4");
    await writeFile(source, data);
    const metadata = { stream: "test", "started-at": "2026-11-24T13:55:44.000Z", "duration-seconds": "12.5", projection: "equirectangular" };
    await storage.putFile(BUCKET, "recordings/test/20261124T135544Z.mp4", source, { contentType: "video/mp4", metadata });

    const info = await storage.head(BUCKET, "recordings/test/20261124T135544Z.mp4");
    expect(info).toMatchObject({ key: "recordings/test/20261124T135544Z.mp4", size: data.length, contentType: "video/mp4", metadata });
    if (subject.uploadsInParts) expect(info.etag).toMatch(/-3$/);

    const copy = join(work, "download.mp4");
    const downloaded = await storage.getToFile(BUCKET, "recordings/test/20261124T135544Z.mp4", copy);
    expect(downloaded.metadata).toEqual(metadata);
    expect(sha256(await readFile(copy))).toBe(sha256(data));

    const { info: streamed, body } = await storage.getStream(BUCKET, "recordings/test/20261124T135544Z.mp4");
    expect(streamed.size).toBe(data.length);
    expect(sha256(await readAll(body))).toBe(sha256(data));
  });

  test("small bodies (playlists, manifests) are stored with their content type", async () => {
    const playlist = "#EXTM3U\n#EXT-X-VERSION:7\n";
    await storage.putBody(BUCKET, "vod/test/1/master.m3u8", playlist, { contentType: "application/vnd.apple.mpegurl" });
    const { info, body } = await storage.getStream(BUCKET, "vod/test/1/master.m3u8");
    expect(info).toMatchObject({ size: Buffer.byteLength(playlist), contentType: "application/vnd.apple.mpegurl", metadata: {} });
    expect((await readAll(body)).toString()).toBe(playlist);
    // Writing the same key again replaces the object (a job that runs twice rewrites its asset).
    await storage.putBody(BUCKET, "vod/test/1/master.m3u8", "#EXTM3U\n");
    expect((await storage.head(BUCKET, "vod/test/1/master.m3u8")).size).toBe(8);
  });

  test("list returns the keys under a prefix in S3 key order, with sizes", async () => {
    for (const key of ["list/a/2.ts", "list/a/10.ts", "list/a/master.m3u8", "list/ab", "list/b/x.ts", "other/x"]) {
      await storage.putBody(BUCKET, key, `body of ${key}`);
    }
    expect(await keys(storage, "list/a")).toEqual(["list/a/10.ts", "list/a/2.ts", "list/a/master.m3u8", "list/ab"]);
    expect(await keys(storage, "list/a/")).toEqual(["list/a/10.ts", "list/a/2.ts", "list/a/master.m3u8"]);
    expect(await keys(storage, "list/nothing/")).toEqual([]);
    const all: Array<{ key: string; size: number }> = [];
    for await (const object of storage.list(BUCKET, "list/b/")) all.push({ key: object.key, size: object.size });
    expect(all).toEqual([{ key: "list/b/x.ts", size: Buffer.byteLength("body of list/b/x.ts") }]);
    expect(await keys(storage)).toEqual(expect.arrayContaining(["list/ab", "other/x", "recordings/test/20261124T135544Z.mp4"]));
  });

  test("a missing object, bucket or source file is a typed error, and a failed transfer leaves nothing behind", async () => {
    await expect(storage.head(BUCKET, "no/such/key.mp4")).rejects.toBeInstanceOf(ObjectNotFoundError);
    await expect(storage.head(BUCKET, "no/such/key.mp4")).rejects.toMatchObject({ bucket: BUCKET, key: "no/such/key.mp4" });
    await expect(storage.getStream(BUCKET, "no/such/key.mp4")).rejects.toBeInstanceOf(ObjectNotFoundError);
    const target = join(work, "never.mp4");
    await expect(storage.getToFile(BUCKET, "no/such/key.mp4", target)).rejects.toBeInstanceOf(ObjectNotFoundError);
    await expect(stat(target)).rejects.toMatchObject({ code: "ENOENT" });
    await expect(storage.putFile(BUCKET, "from/missing.mp4", join(work, "no-such-source.mp4"))).rejects.toMatchObject({ code: "ENOENT" });
    expect(await keys(storage, "from/")).toEqual([]);
    await expect(storage.head("no-such-bucket", "a.mp4")).rejects.toBeInstanceOf(BucketNotFoundError);
    await expect(storage.putBody("no-such-bucket", "a.mp4", "x")).rejects.toBeInstanceOf(BucketNotFoundError);
    await expect(storage.list("no-such-bucket")[Symbol.asyncIterator]().next()).rejects.toBeInstanceOf(BucketNotFoundError);
  });

  test("delete removes the object, and deleting it again succeeds", async () => {
    await storage.putBody(BUCKET, "delete/me.ts", "segment");
    await storage.delete(BUCKET, "delete/me.ts");
    await expect(storage.head(BUCKET, "delete/me.ts")).rejects.toBeInstanceOf(ObjectNotFoundError);
    expect(await keys(storage, "delete/")).toEqual([]);
    await storage.delete(BUCKET, "delete/me.ts");
  });

  test("metadata that would not survive S3's headers is refused before anything is written", async () => {
    await expect(storage.putBody(BUCKET, "meta/upper", "x", { metadata: { Stream: "test" } })).rejects.toBeInstanceOf(InvalidObjectNameError);
    await expect(storage.putBody(BUCKET, "meta/accent", "x", { metadata: { stream: "café" } })).rejects.toThrow(/printable ASCII/);
    expect(await keys(storage, "meta/")).toEqual([]);
  });
});
