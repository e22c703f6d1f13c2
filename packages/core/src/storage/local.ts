import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream, type Dirent } from "node:fs";
import { mkdir, open, readFile, readdir, rename, rm, rmdir, stat, unlink, type FileHandle } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { streamToFileAtomic, syncDirectory, writeFileAtomic } from "../atomic-file.js";
import {
  BucketNotFoundError,
  InvalidObjectNameError,
  ObjectNotFoundError,
  StorageError,
  compareKeys,
  validateBucketName,
  validateMetadata,
  type ObjectInfo,
  type ObjectStorage,
  type ObjectSummary,
  type PutOptions,
  type SignalOption,
} from "./storage.js";

/**
 * Object storage in a local directory, for `live360 local`:
 *
 *   <root>/<bucket>/<key>                 the object's bytes, so a bucket is a plain browsable tree
 *   <root>/.meta/<bucket>/<sha256(key)>   a JSON sidecar: content type, user metadata, ETag
 *   <root>/.tmp/                          uploads in progress, renamed into place when complete
 *
 * Bucket names cannot start with a dot, so the two service directories never clash with a bucket.
 * Because a bucket is a directory tree, a key cannot also be the prefix of another key
 * ("a" and "a/b"); S3 allows that, this storage rejects it with InvalidObjectNameError.
 */
export class LocalDirectoryStorage implements ObjectStorage {
  constructor(readonly root: string) {}

  /** Local mode owns its buckets (in AWS they are provisioned with the infrastructure). */
  async createBucket(bucket: string): Promise<void> {
    validateBucketName(bucket);
    await mkdir(path.join(this.root, bucket), { recursive: true });
  }

  async putFile(bucket: string, key: string, file: string, options: PutOptions = {}): Promise<void> {
    await this.store(bucket, key, () => createReadStream(file), options);
  }

  async putBody(bucket: string, key: string, body: string | Uint8Array, options: PutOptions = {}): Promise<void> {
    await this.store(bucket, key, () => Readable.from([typeof body === "string" ? Buffer.from(body) : body]), options);
  }

  async getToFile(bucket: string, key: string, file: string, options: SignalOption = {}): Promise<ObjectInfo> {
    const { info, body } = await this.getStream(bucket, key);
    await streamToFileAtomic(body, file, options.signal);
    return info;
  }

  async getStream(bucket: string, key: string): Promise<{ info: ObjectInfo; body: Readable }> {
    // Stat and read the same open file, so the info describes exactly the bytes streamed even if
    // the object is replaced meanwhile.
    const handle = await this.openObject(bucket, key);
    try {
      const info = await this.describe(bucket, key, handle);
      return { info, body: handle.createReadStream() };
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async head(bucket: string, key: string): Promise<ObjectInfo> {
    const handle = await this.openObject(bucket, key);
    try {
      return await this.describe(bucket, key, handle);
    } finally {
      await handle.close();
    }
  }

  async *list(bucket: string, prefix = ""): AsyncIterable<ObjectSummary> {
    const bucketDirectory = await this.requireBucket(bucket);
    // Walk only the deepest directory the prefix names completely ("vod/a/1" -> "vod/a").
    const directoryPart = prefix.includes("/") ? prefix.slice(0, prefix.lastIndexOf("/")) : "";
    if (directoryPart.split("/").some((segment) => segment === "." || segment === "..")) return;
    const keys: string[] = [];
    await collectKeys(bucketDirectory, directoryPart, keys);
    keys.sort(compareKeys);
    for (const key of keys) {
      if (!key.startsWith(prefix)) continue;
      const stats = await stat(path.join(bucketDirectory, key)).catch(ignoreMissing);
      if (stats) yield { key, size: stats.size, lastModified: stats.mtime };
    }
  }

  async delete(bucket: string, key: string): Promise<void> {
    const bucketDirectory = await this.requireBucket(bucket);
    const file = this.objectPath(bucket, key);
    await unlink(file).catch(ignoreMissing);
    await rm(this.sidecarPath(bucket, key), { force: true });
    // Remove directories the delete emptied, so the tree does not fill with empty folders and
    // the name can be used as a key again.
    for (let directory = path.dirname(file); directory !== bucketDirectory; directory = path.dirname(directory)) {
      try {
        await rmdir(directory);
      } catch {
        break;
      }
    }
  }

  /** `source` is opened only once the upload can proceed, so no stream errors with nobody listening. */
  private async store(bucket: string, key: string, source: () => Readable, options: PutOptions): Promise<void> {
    validateMetadata(options.metadata ?? {});
    const target = this.objectPath(bucket, key);
    await this.requireBucket(bucket);
    await mkdir(this.metaDirectory(bucket), { recursive: true });
    await mkdir(this.temporaryDirectory(), { recursive: true });
    const temporary = path.join(this.temporaryDirectory(), randomBytes(12).toString("hex"));
    const md5 = createHash("md5");
    try {
      await pipeline(
        source(),
        async function* (chunks: AsyncIterable<Buffer>) {
          for await (const chunk of chunks) {
            md5.update(chunk);
            yield chunk;
          }
        },
        // flush: the bytes are on disk before the rename makes them visible.
        createWriteStream(temporary, { flags: "wx", flush: true }),
        { signal: options.signal },
      );
      const { ino, size } = await stat(temporary);
      const sidecar: Sidecar = { key, ino, size, etag: md5.digest("hex"), contentType: options.contentType, metadata: options.metadata ?? {} };
      await writeFileAtomic(this.sidecarPath(bucket, key), JSON.stringify(sidecar));
      await this.moveIntoPlace(temporary, target, key);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
  }

  private async moveIntoPlace(temporary: string, target: string, key: string): Promise<void> {
    // A concurrent delete may prune the parent directory between mkdir and rename: try twice.
    for (let attempt = 1; ; attempt++) {
      try {
        await mkdir(path.dirname(target), { recursive: true });
        await rename(temporary, target);
        await syncDirectory(path.dirname(target));
        return;
      } catch (error) {
        const code = errorCode(error);
        if (code === "ENOENT" && attempt === 1) continue;
        if (code === "EEXIST" || code === "ENOTDIR" || code === "EISDIR" || code === "ENOTEMPTY") {
          throw new InvalidObjectNameError("key", key, "it collides with another key in this local bucket (a key cannot also be the prefix of another key)");
        }
        throw error;
      }
    }
  }

  private async openObject(bucket: string, key: string): Promise<FileHandle> {
    const file = this.objectPath(bucket, key);
    let handle: FileHandle;
    try {
      handle = await open(file, "r");
    } catch (error) {
      const code = errorCode(error);
      if (code !== "ENOENT" && code !== "ENOTDIR") throw error;
      await this.requireBucket(bucket);
      throw new ObjectNotFoundError(bucket, key, { cause: error });
    }
    // A directory is a key prefix here, not an object.
    if ((await handle.stat()).isDirectory()) {
      await handle.close();
      throw new ObjectNotFoundError(bucket, key);
    }
    return handle;
  }

  private async describe(bucket: string, key: string, handle: FileHandle): Promise<ObjectInfo> {
    const stats = await handle.stat();
    const info: ObjectInfo = { key, size: stats.size, lastModified: stats.mtime, metadata: {} };
    const sidecar = await readSidecar(this.sidecarPath(bucket, key));
    // The sidecar names the inode it was written for: after a crash between writing the sidecar and
    // renaming the data, it describes other bytes and must not be believed.
    if (sidecar === undefined || sidecar.ino !== stats.ino || sidecar.size !== stats.size) return info;
    return {
      ...info,
      etag: sidecar.etag,
      ...(sidecar.contentType === undefined ? {} : { contentType: sidecar.contentType }),
      metadata: sidecar.metadata,
    };
  }

  private async requireBucket(bucket: string): Promise<string> {
    validateBucketName(bucket);
    const directory = path.join(this.root, bucket);
    const stats = await stat(directory).catch(ignoreMissing);
    if (!stats?.isDirectory()) throw new BucketNotFoundError(bucket);
    return directory;
  }

  private objectPath(bucket: string, key: string): string {
    validateBucketName(bucket);
    validateLocalKey(key);
    return path.join(this.root, bucket, ...key.split("/"));
  }

  private sidecarPath(bucket: string, key: string): string {
    return path.join(this.metaDirectory(bucket), `${createHash("sha256").update(key).digest("hex")}.json`);
  }

  private metaDirectory(bucket: string): string {
    return path.join(this.root, ".meta", bucket);
  }

  private temporaryDirectory(): string {
    return path.join(this.root, ".tmp");
  }
}

interface Sidecar {
  key: string;
  ino: number;
  size: number;
  etag: string;
  contentType?: string | undefined;
  metadata: Record<string, string>;
}

const MAX_KEY_BYTES = 1024;
const MAX_SEGMENT_BYTES = 255;

/** Keys become paths: refuse anything that could escape the bucket or not round-trip as a path. */
function validateLocalKey(key: string): void {
  const reject = (reason: string): never => {
    throw new InvalidObjectNameError("key", key, reason);
  };
  if (key === "") reject("a key cannot be empty");
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) reject(`a key is at most ${MAX_KEY_BYTES} bytes`);
  if (key.includes("\0")) reject("a key cannot contain NUL");
  for (const segment of key.split("/")) {
    if (segment === "") reject("a key cannot start or end with '/' or contain '//'");
    if (segment === "." || segment === "..") reject("a key cannot contain '.' or '..' path segments");
    if (Buffer.byteLength(segment) > MAX_SEGMENT_BYTES) reject(`each '/'-separated part of a key is at most ${MAX_SEGMENT_BYTES} bytes`);
  }
}

async function collectKeys(bucketDirectory: string, relative: string, into: string[]): Promise<void> {
  let entries: Dirent[];
  try {
    entries = await readdir(path.join(bucketDirectory, relative), { withFileTypes: true });
  } catch (error) {
    if (errorCode(error) === "ENOENT" || errorCode(error) === "ENOTDIR") return;
    throw error;
  }
  for (const entry of entries) {
    const key = relative === "" ? entry.name : `${relative}/${entry.name}`;
    if (entry.isDirectory()) await collectKeys(bucketDirectory, key, into);
    else if (entry.isFile()) into.push(key);
  }
}

async function readSidecar(file: string): Promise<Sidecar | undefined> {
  try {
    return JSON.parse(await readFile(file, "utf8")) as Sidecar;
  } catch (error) {
    if (errorCode(error) === "ENOENT") return undefined;
    if (error instanceof SyntaxError) throw new StorageError(`metadata sidecar ${file} is not valid JSON`, { cause: error });
    throw error;
  }
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

function ignoreMissing(error: unknown): undefined {
  if (errorCode(error) === "ENOENT" || errorCode(error) === "ENOTDIR") return undefined;
  throw error;
}
