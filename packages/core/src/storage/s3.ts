import { open } from "node:fs/promises";
import { Readable } from "node:stream";
import type { S3Client, S3ClientConfig } from "@aws-sdk/client-s3";
import {
  BucketNotFoundError,
  ObjectNotFoundError,
  StorageError,
  validateMetadata,
  type ObjectInfo,
  type ObjectStorage,
  type ObjectSummary,
  type PutOptions,
  type SignalOption,
} from "./storage.js";
import { streamToFileAtomic } from "../atomic-file.js";
import { awsCallRecorder } from "../aws-calls.js";
import { once } from "../lazy.js";
import { DEFAULT_SERVICE_TIMEOUTS, sdkTimeoutConfig, type ServiceTimeouts } from "../service-timeouts.js";

// Loaded on first use: a process that never talks to S3 never pays for the SDK.
const loadSdk = once(async () => ({ s3: await import("@aws-sdk/client-s3"), storage: await import("@aws-sdk/lib-storage") }));

export interface S3StorageOptions {
  /** Default: the SDK's region chain (AWS_REGION, profile), else us-east-1. */
  region?: string;
  /** An S3-compatible server (versitygw, MinIO, ...). Implies path-style unless forcePathStyle says otherwise. */
  endpoint?: string;
  /** `http://host/bucket/key` instead of `http://bucket.host/key`; S3-compatible servers usually need it. */
  forcePathStyle?: boolean;
  /** Default: the SDK's credential chain (environment, IRSA / pod identity, instance profile). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Multipart part size; S3's minimum is 5 MiB. Files smaller than one part go up in a single PUT. */
  partSizeBytes?: number;
  /** Parts uploaded concurrently. */
  queueSize?: number;
  timeouts?: ServiceTimeouts;
  /** Names this client in the AWS call record (aws-calls.ts), so a test tells a workload's calls from its own. */
  caller?: string;
}

export const S3_MIN_PART_SIZE = 5 * 1024 * 1024;
const DEFAULT_PART_SIZE = 16 * 1024 * 1024;
const DEFAULT_QUEUE_SIZE = 4;

export class S3Storage implements ObjectStorage {
  private readonly clientConfig: S3ClientConfig;
  private client: S3Client | undefined;
  private readonly partSize: number;
  private readonly queueSize: number;
  private readonly caller: string | undefined;

  constructor(private readonly options: S3StorageOptions = {}) {
    this.caller = options.caller;
    this.partSize = options.partSizeBytes ?? DEFAULT_PART_SIZE;
    if (this.partSize < S3_MIN_PART_SIZE) {
      throw new StorageError(`partSizeBytes ${this.partSize} is below S3's minimum part size ${S3_MIN_PART_SIZE}`);
    }
    this.queueSize = options.queueSize ?? DEFAULT_QUEUE_SIZE;
    this.clientConfig = {
      region: options.region ?? process.env.AWS_REGION ?? "us-east-1",
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      forcePathStyle: options.forcePathStyle ?? options.endpoint !== undefined,
      ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
      ...sdkTimeoutConfig(options.timeouts ?? DEFAULT_SERVICE_TIMEOUTS),
    };
  }

  private async sdk() {
    const sdk = await loadSdk();
    if (!this.client) {
      this.client = new sdk.s3.S3Client(this.clientConfig);
      this.client.middlewareStack.add(awsCallRecorder("s3", this.caller), { step: "initialize", name: "live360AwsCallRecorder" });
    }
    return { ...sdk, client: this.client };
  }

  /** The same storage, its calls recorded as `caller`'s. */
  forCaller(caller: string): S3Storage {
    return new S3Storage({ ...this.options, caller });
  }

  async putFile(bucket: string, key: string, file: string, options: PutOptions = {}): Promise<void> {
    validateMetadata(options.metadata ?? {});
    // Opened up front: a missing file is a plain ENOENT here, not a stream error mid-upload.
    const { storage, client } = await this.sdk();
    const source = await open(file, "r");
    const upload = new storage.Upload({
      client,
      partSize: this.partSize,
      queueSize: this.queueSize,
      // A failed upload must not leave billed, invisible parts behind.
      leavePartsOnError: false,
      params: {
        Bucket: bucket,
        Key: key,
        Body: source.createReadStream(),
        ContentType: options.contentType,
        Metadata: options.metadata,
      },
    });
    const abort = (): void => void upload.abort();
    options.signal?.addEventListener("abort", abort, { once: true });
    try {
      await upload.done();
    } catch (error) {
      throw describe(error, "upload", bucket, key);
    } finally {
      options.signal?.removeEventListener("abort", abort);
      await source.close().catch(() => undefined);
    }
  }

  async putBody(bucket: string, key: string, body: string | Uint8Array, options: PutOptions = {}): Promise<void> {
    validateMetadata(options.metadata ?? {});
    try {
      const { s3, client } = await this.sdk();
      await client.send(
        new s3.PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: options.contentType, Metadata: options.metadata }),
        { abortSignal: options.signal },
      );
    } catch (error) {
      throw describe(error, "put", bucket, key);
    }
  }

  async getToFile(bucket: string, key: string, file: string, options: SignalOption = {}): Promise<ObjectInfo> {
    const { info, body } = await this.getStream(bucket, key, options);
    try {
      await streamToFileAtomic(body, file, options.signal);
    } catch (error) {
      throw describe(error, "download", bucket, key);
    }
    return info;
  }

  async getStream(bucket: string, key: string, options: SignalOption = {}): Promise<{ info: ObjectInfo; body: Readable }> {
    try {
      const { s3, client } = await this.sdk();
      const out = await client.send(new s3.GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: options.signal });
      if (!(out.Body instanceof Readable)) throw new StorageError(`get s3://${bucket}/${key}: response has no body stream`);
      return { info: objectInfo(key, out), body: out.Body };
    } catch (error) {
      throw describe(error, "get", bucket, key);
    }
  }

  async head(bucket: string, key: string): Promise<ObjectInfo> {
    try {
      const { s3, client } = await this.sdk();
      return objectInfo(key, await client.send(new s3.HeadObjectCommand({ Bucket: bucket, Key: key })));
    } catch (error) {
      // A HEAD response has no body, so S3 cannot say whether the key or the bucket is missing.
      if (httpStatus(error) === 404 && !(await this.bucketExists(bucket))) throw new BucketNotFoundError(bucket, { cause: error });
      throw describe(error, "head", bucket, key);
    }
  }

  async *list(bucket: string, prefix = ""): AsyncIterable<ObjectSummary> {
    try {
      const { s3, client } = await this.sdk();
      for await (const page of s3.paginateListObjectsV2({ client }, { Bucket: bucket, Prefix: prefix })) {
        for (const object of page.Contents ?? []) {
          if (object.Key === undefined) continue;
          yield { key: object.Key, size: object.Size ?? 0, lastModified: object.LastModified ?? new Date(0) };
        }
      }
    } catch (error) {
      throw describe(error, "list", bucket, prefix);
    }
  }

  async delete(bucket: string, key: string): Promise<void> {
    try {
      const { s3, client } = await this.sdk();
      await client.send(new s3.DeleteObjectCommand({ Bucket: bucket, Key: key }));
    } catch (error) {
      throw describe(error, "delete", bucket, key);
    }
  }

  private async bucketExists(bucket: string): Promise<boolean> {
    try {
      const { s3, client } = await this.sdk();
      await client.send(new s3.HeadBucketCommand({ Bucket: bucket }));
      return true;
    } catch (error) {
      if (httpStatus(error) === 404) return false;
      throw describe(error, "head bucket", bucket, "");
    }
  }
}

interface ObjectHeaders {
  ContentLength?: number;
  LastModified?: Date;
  ETag?: string;
  ContentType?: string;
  Metadata?: Record<string, string>;
}

function objectInfo(key: string, out: ObjectHeaders): ObjectInfo {
  return {
    key,
    size: out.ContentLength ?? 0,
    lastModified: out.LastModified ?? new Date(0),
    ...(out.ETag === undefined ? {} : { etag: out.ETag.replace(/"/g, "") }),
    ...(out.ContentType === undefined ? {} : { contentType: out.ContentType }),
    metadata: out.Metadata ?? {},
  };
}

/** The HTTP status of an S3 service error (the SDK's `$metadata`; the class itself is loaded lazily). */
function httpStatus(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

/** Maps S3's error codes onto the storage errors both implementations throw. */
function describe(error: unknown, operation: string, bucket: string, key: string): Error {
  if (error instanceof StorageError) return error;
  // Cancellation is the caller's own doing, not a storage failure: let it through unchanged.
  if (error instanceof Error && error.name === "AbortError") return error;
  const code = error instanceof Error ? error.name : "";
  if (code === "NoSuchKey" || (code === "NotFound" && operation === "head")) return new ObjectNotFoundError(bucket, key, { cause: error });
  if (code === "NoSuchBucket") return new BucketNotFoundError(bucket, { cause: error });
  const message = error instanceof Error ? error.message : String(error);
  return new StorageError(`${operation} s3://${bucket}/${key} failed: ${code ? `${code}: ` : ""}${message}`, { cause: error });
}
