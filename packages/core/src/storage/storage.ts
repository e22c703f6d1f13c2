import type { Readable } from "node:stream";
import { Live360Error } from "../errors.js";

/**
 * Object storage as the VOD pipeline needs it: recordings go in, HLS assets come out. Two
 * implementations share this contract (and one test suite): S3Storage for S3 and S3-compatible
 * servers, LocalDirectoryStorage for `live360 local`.
 */
export interface ObjectStorage {
  /** Uploads a local file; large files go up in parts (S3 multipart) so a failure costs one part. */
  putFile(bucket: string, key: string, file: string, options?: PutOptions): Promise<void>;
  /** Uploads a small object held in memory (playlists, manifests). */
  putBody(bucket: string, key: string, body: string | Uint8Array, options?: PutOptions): Promise<void>;
  /** Downloads to `file`, atomically: the file appears complete or not at all. */
  getToFile(bucket: string, key: string, file: string, options?: SignalOption): Promise<ObjectInfo>;
  /** Streams an object; the caller must consume or destroy `body`. */
  getStream(bucket: string, key: string, options?: SignalOption): Promise<{ info: ObjectInfo; body: Readable }>;
  /** Size, ETag, content type and user metadata; ObjectNotFoundError / BucketNotFoundError when missing. */
  head(bucket: string, key: string): Promise<ObjectInfo>;
  /** Every object whose key starts with `prefix`, in key order (UTF-8 byte order, like S3). */
  list(bucket: string, prefix?: string): AsyncIterable<ObjectSummary>;
  /** Deletes an object; deleting a missing object succeeds, as in S3. */
  delete(bucket: string, key: string): Promise<void>;
}

export interface SignalOption {
  signal?: AbortSignal;
}

export interface PutOptions extends SignalOption {
  contentType?: string;
  /** User metadata (S3 `x-amz-meta-*`); see validateMetadata for the allowed keys and values. */
  metadata?: Record<string, string>;
}

export interface ObjectSummary {
  key: string;
  size: number;
  lastModified: Date;
}

export interface ObjectInfo extends ObjectSummary {
  /** Without quotes. A multipart upload's ETag ends in `-<parts>`, as in S3. */
  etag?: string;
  contentType?: string;
  metadata: Record<string, string>;
}

export class StorageError extends Live360Error {}

export class ObjectNotFoundError extends StorageError {
  constructor(
    readonly bucket: string,
    readonly key: string,
    options?: ErrorOptions,
  ) {
    super(`object s3://${bucket}/${key} does not exist`, options);
  }
}

export class BucketNotFoundError extends StorageError {
  constructor(
    readonly bucket: string,
    options?: ErrorOptions,
  ) {
    super(`bucket ${bucket} does not exist`, options);
  }
}

/** A bucket name, key or metadata entry that storage would reject or could not round-trip. */
export class InvalidObjectNameError extends StorageError {
  constructor(
    readonly what: "bucket" | "key" | "metadata",
    readonly value: string,
    readonly reason: string,
  ) {
    super(`invalid ${what} ${JSON.stringify(value)}: ${reason}`);
  }
}

/** S3's bucket naming rules (the subset that matters: length, characters, no leading dot). */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function validateBucketName(bucket: string): void {
  if (!BUCKET_NAME.test(bucket)) {
    throw new InvalidObjectNameError("bucket", bucket, "use 3-63 characters a-z 0-9 . - starting and ending with a letter or digit");
  }
}

const METADATA_KEY = /^[a-z0-9][a-z0-9-]*$/;
const METADATA_VALUE = /^[\x20-\x7e]*$/;
/** S3 limits user metadata to 2 KiB (keys + values). */
const METADATA_MAX_BYTES = 2048;

/**
 * S3 sends user metadata as HTTP headers: keys come back lower-cased and values must be
 * printable ASCII without surrounding spaces. Both implementations enforce the same rules so
 * that what works locally also works against S3 and reads back unchanged.
 */
export function validateMetadata(metadata: Record<string, string>): void {
  let bytes = 0;
  for (const [key, value] of Object.entries(metadata)) {
    if (!METADATA_KEY.test(key)) {
      throw new InvalidObjectNameError("metadata", key, "metadata keys must be lower-case letters, digits and '-'");
    }
    if (!METADATA_VALUE.test(value) || value.trim() !== value) {
      throw new InvalidObjectNameError("metadata", `${key}=${value}`, "metadata values must be printable ASCII without leading or trailing spaces");
    }
    bytes += key.length + value.length;
  }
  if (bytes > METADATA_MAX_BYTES) {
    throw new InvalidObjectNameError("metadata", Object.keys(metadata).join(","), `metadata is ${bytes} bytes; S3 allows ${METADATA_MAX_BYTES}`);
  }
}

/** Sorts keys the way S3 lists them: by UTF-8 bytes, not UTF-16 code units. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}
