import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { onAwsCall, type AwsCall } from "@live360/core";

/** The identities eks-infra gives a role each (eks-infra/src/workload-roles.ts). */
export type AwsCaller = "origin" | "vodWorker" | "operator";

/**
 * What each workload calls, as `<action> <resource>`: the file eks-infra's policy test checks its
 * roles against, and that the real-process tests check their recorded calls against. Resources:
 * `ingest/<first key segment>/*` or `egress/…/*` for objects, `ingest` / `egress` for a bucket,
 * `queue` for the VOD queue, `deadLetterQueue` for its dead-letter queue, `originVerify` for the
 * origin-verify secret.
 */
export const WORKLOAD_CALLS_FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../eks-infra/workload-calls.json");

const S3_ACTIONS: Record<string, { action: string; level: "object" | "bucket" }> = {
  GetObject: { action: "s3:GetObject", level: "object" },
  HeadObject: { action: "s3:GetObject", level: "object" },
  PutObject: { action: "s3:PutObject", level: "object" },
  CreateMultipartUpload: { action: "s3:PutObject", level: "object" },
  UploadPart: { action: "s3:PutObject", level: "object" },
  CompleteMultipartUpload: { action: "s3:PutObject", level: "object" },
  AbortMultipartUpload: { action: "s3:AbortMultipartUpload", level: "object" },
  DeleteObject: { action: "s3:DeleteObject", level: "object" },
  ListObjectsV2: { action: "s3:ListBucket", level: "bucket" },
  HeadBucket: { action: "s3:ListBucket", level: "bucket" },
};

/** What a test's bucket or queue stands for in the infrastructure (queues not named are the VOD queue). */
export type InfraNames = Readonly<Record<string, "ingest" | "egress" | "deadLetterQueue">>;

/**
 * The permission one call needs, named as in WORKLOAD_CALLS_FILE. `names` maps the test's bucket
 * names to the infrastructure's (`ingest`, `egress`) and its dead-letter queue's name to `deadLetterQueue`.
 */
export function permissionFor(call: AwsCall, names: InfraNames): string {
  if (call.service === "sqs") {
    const queueName = call.queueName ?? call.queueUrl?.split("/").at(-1) ?? "";
    return `sqs:${call.operation} ${names[queueName] === "deadLetterQueue" ? "deadLetterQueue" : "queue"}`;
  }
  // One secret is ever read: the CDN's origin-verify values.
  if (call.service === "secretsmanager") return `secretsmanager:${call.operation} originVerify`;
  const known = S3_ACTIONS[call.operation];
  if (!known) throw new Error(`no IAM action known for S3 ${call.operation}: add it to S3_ACTIONS`);
  const bucket = names[call.bucket ?? ""];
  if (bucket !== "ingest" && bucket !== "egress") throw new Error(`S3 ${call.operation} on bucket ${call.bucket}, which is neither ingest nor egress here`);
  if (known.level === "bucket") return `${known.action} ${bucket}`;
  return `${known.action} ${bucket}/${(call.key ?? "").split("/")[0]}/*`;
}

/** Records the calls of clients labelled `caller` (their `caller` option, or forCaller) from now on. */
export function recordAwsCalls(caller: AwsCaller): { calls: AwsCall[]; stop(): void } {
  const calls: AwsCall[] = [];
  onAwsCall((call) => {
    if (call.caller === caller) calls.push(call);
  });
  return { calls, stop: () => onAwsCall(undefined) };
}

/** Permissions the recorded calls need that WORKLOAD_CALLS_FILE does not list for `caller` (should be none). */
export async function unlistedPermissions(caller: AwsCaller, calls: readonly AwsCall[], names: InfraNames): Promise<string[]> {
  const listed = (JSON.parse(await readFile(WORKLOAD_CALLS_FILE, "utf8")) as Record<AwsCaller, string[]>)[caller] ?? [];
  const needed = [...new Set(calls.map((call) => permissionFor(call, names)))].sort();
  return needed.filter((permission) => !listed.includes(permission));
}
