import { afterEach, beforeEach, describe, expect, test } from "@jest/globals";
import { mkdtemp, readdir, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalDirectoryStorage } from "./local.js";
import { InvalidObjectNameError, StorageError } from "./storage.js";

// The behaviour shared with S3 is covered by the contract suite in test/kit (storage.contract.test.ts);
// these are the properties only a directory-backed store has to get right.
describe("LocalDirectoryStorage on disk", () => {
  let root: string;
  let storage: LocalDirectoryStorage;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "live360-local-"));
    storage = new LocalDirectoryStorage(root);
    await storage.createBucket("ingest");
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test("objects are plain files under <root>/<bucket>/<key>", async () => {
    await storage.putBody("ingest", "recordings/test/a.mp4", "bytes");
    expect(await readdir(join(root, "ingest", "recordings", "test"))).toEqual(["a.mp4"]);
  });

  test("keys that could escape the bucket or not round-trip as paths are refused", async () => {
    for (const key of ["", "../escape", "a/../../escape", "/absolute", "a//b", "a/./b", "trailing/", "nul\0byte"]) {
      await expect(storage.putBody("ingest", key, "x")).rejects.toBeInstanceOf(InvalidObjectNameError);
    }
    expect((await readdir(root)).sort()).toEqual(["ingest"]);
  });

  test("a bucket name outside S3's rules is refused", async () => {
    await expect(storage.createBucket("../up")).rejects.toThrow(/invalid bucket "..\/up"/);
    await expect(storage.head(".meta", "x")).rejects.toBeInstanceOf(InvalidObjectNameError);
  });

  test("a key that is also another key's prefix is refused with a reason, and nothing is lost", async () => {
    await storage.putBody("ingest", "vod/a", "object a");
    await expect(storage.putBody("ingest", "vod/a/b", "x")).rejects.toThrow(/cannot also be the prefix of another key/);
    expect((await storage.head("ingest", "vod/a")).size).toBe("object a".length);
  });

  test("delete prunes emptied directories, so the name can become a key again", async () => {
    await storage.putBody("ingest", "x/y/z.ts", "segment");
    await storage.delete("ingest", "x/y/z.ts");
    expect(await readdir(join(root, "ingest"))).toEqual([]);
    await storage.putBody("ingest", "x", "now a file");
    expect((await storage.head("ingest", "x")).size).toBe("now a file".length);
  });

  test("uploads leave no temporary files behind, whether they succeed or fail", async () => {
    await storage.putBody("ingest", "ok.mp4", "bytes");
    await expect(storage.putFile("ingest", "missing.mp4", join(root, "no-such-source.mp4"))).rejects.toMatchObject({ code: "ENOENT" });
    expect(await readdir(join(root, ".tmp"))).toEqual([]);
    await expect(storage.head("ingest", "missing.mp4")).rejects.toBeInstanceOf(StorageError);
  });

  test("metadata written for other bytes (a crash between the two renames) is not believed", async () => {
    await storage.putBody("ingest", "r.mp4", "original", { contentType: "video/mp4", metadata: { stream: "test" } });
    expect((await storage.head("ingest", "r.mp4")).metadata).toEqual({ stream: "test" });
    // Replace the data file behind the storage's back, as a crash after the sidecar was written would leave it.
    await writeFile(join(root, "replacement"), "other bytes");
    await rename(join(root, "replacement"), join(root, "ingest", "r.mp4"));
    const info = await storage.head("ingest", "r.mp4");
    expect(info).toMatchObject({ size: "other bytes".length, metadata: {} });
    expect(info.etag).toBeUndefined();
    expect(info.contentType).toBeUndefined();
  });
});
