import { constants } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { CreateBucketCommand, PutBucketPolicyCommand, S3Client } from "@aws-sdk/client-s3";
import { freePort } from "./net.js";
import { startProcess, type ManagedProcess } from "./process.js";
import { requireInstalled, testServicePaths } from "./test-services.js";
import { waitFor } from "./wait.js";

/** A real S3-compatible server: versitygw with its posix backend on a temporary directory. */
export interface S3Server {
  /** `http://127.0.0.1:<port>`; clients must use path-style addressing. */
  readonly endpoint: string;
  readonly region: string;
  /** The gateway's root account. */
  readonly credentials: { accessKeyId: string; secretAccessKey: string };
  /** The posix backend's directory: `<root>/<bucket>/<key>`. */
  readonly root: string;
  readonly process: ManagedProcess;
  createBucket(bucket: string): Promise<void>;
  /**
   * Lets anyone GET the objects under `prefix` without signing: what the egress bucket's policy
   * grants the cluster's S3 VPC endpoint for `vod/*` on EKS, so the edge can proxy VOD assets.
   */
  allowAnonymousRead(bucket: string, prefix: string): Promise<void>;
  /** Stops the server and removes its directory. Safe to repeat. */
  stop(): Promise<void>;
}

export interface StartS3ServerOptions {
  /** Buckets to create before returning. */
  buckets?: string[];
}

const REGION = "us-east-1";
/** A free port can be taken by someone else before the server binds it: try a few. */
const PORT_ATTEMPTS = 3;

export async function startS3Server(options: StartS3ServerOptions = {}): Promise<S3Server> {
  const { versitygw } = await testServicePaths();
  await requireInstalled("versitygw (the S3 server the tests use)", versitygw, constants.X_OK);
  const root = await mkdtemp(join(tmpdir(), "live360-s3-"));
  const credentials = { accessKeyId: `test${randomBytes(6).toString("hex")}`, secretAccessKey: randomBytes(20).toString("hex") };
  try {
    const { process, endpoint } = await startOnFreePort(versitygw, root, credentials);
    const client = new S3Client({ endpoint, region: REGION, forcePathStyle: true, credentials });
    const server: S3Server = {
      endpoint,
      region: REGION,
      credentials,
      root,
      process,
      async createBucket(bucket) {
        await client.send(new CreateBucketCommand({ Bucket: bucket }));
      },
      async allowAnonymousRead(bucket, prefix) {
        const statement = { Effect: "Allow", Principal: "*", Action: ["s3:GetObject"], Resource: [`arn:aws:s3:::${bucket}/${prefix}*`] };
        await client.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify({ Version: "2012-10-17", Statement: [statement] }) }));
      },
      async stop() {
        client.destroy();
        await process.stop(5_000);
        await rm(root, { recursive: true, force: true });
      },
    };
    try {
      for (const bucket of options.buckets ?? []) await server.createBucket(bucket);
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  } catch (error) {
    await rm(root, { recursive: true, force: true });
    throw error;
  }
}

async function startOnFreePort(
  binary: string,
  root: string,
  credentials: { accessKeyId: string; secretAccessKey: string },
): Promise<{ process: ManagedProcess; endpoint: string }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const endpoint = `http://127.0.0.1:${port}`;
    const args = ["--access", credentials.accessKeyId, "--secret", credentials.secretAccessKey, "--region", REGION, "--port", `127.0.0.1:${port}`, "--quiet", "posix", root];
    const process = startProcess(binary, args);
    let exited = false;
    void process.exited.then(() => (exited = true));
    // Any HTTP answer (an unsigned request gets 403) means the gateway is serving.
    const state = await waitFor(
      `versitygw on ${endpoint}`,
      async () => (exited ? "exited" : (await fetch(endpoint).catch(() => undefined)) && "serving"),
      { timeoutMs: 30_000, intervalMs: 50 },
    ).catch((error: Error) => error);
    if (state === "serving") return { process, endpoint };
    await process.stop(1_000);
    const output = process.output();
    if (attempt < PORT_ATTEMPTS && /address already in use/i.test(output)) continue;
    throw new Error(`versitygw did not start on ${endpoint}: ${state === "exited" ? "it exited" : state.message}\n${output}`);
  }
}
