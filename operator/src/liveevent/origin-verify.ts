import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { GetSecretValueCommandOutput, SecretsManagerClient, SecretsManagerClientConfig } from "@aws-sdk/client-secrets-manager";
import type { V1Secret } from "@kubernetes/client-node";
import { DEFAULT_SERVICE_TIMEOUTS, Live360Error, awsCallRecorder, once, sdkTimeoutConfig, type Logger, type ServiceTimeouts } from "@live360/core";
import { parseOriginVerifyValues } from "@live360/edge";
import { ORIGIN_VERIFY_SECRET_KEY } from "../config.js";
import type { ObjectWriter } from "../engine/client.js";
import { MANAGED_BY } from "./names.js";

/** The origin-verify values could not be had (Secrets Manager unreachable, refused, or malformed). */
export class OriginVerifyError extends Live360Error {}

/** Where the CDN's origin-verify values come from. */
export interface OriginVerifySource {
  /** The values, current first; throws OriginVerifyError. */
  read(): Promise<string[]>;
}

/**
 * The values in a Secrets Manager secret's text: either JSON `{"current": …, "previous": …}`
 * (eks-infra's layout: CloudFront sends `current`, edges accept both during a rotation) or plain
 * lines. Checked by the edge's own rules; a bad value is named by position, never shown.
 */
export function parseOriginVerifySecret(source: string, text: string): string[] {
  const trimmed = text.trim();
  if (!trimmed.startsWith("{")) return parseOriginVerifyValues(source, text);
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    throw new OriginVerifyError(`${source}: the secret looks like JSON but does not parse; write {"current": "<value>", "previous": "<value or empty>"}`);
  }
  const { current, previous } = (parsed ?? {}) as { current?: unknown; previous?: unknown };
  if (typeof current !== "string" || (previous !== undefined && typeof previous !== "string")) {
    throw new OriginVerifyError(`${source}: the JSON secret needs a string "current" (and optionally a string "previous")`);
  }
  return parseOriginVerifyValues(source, [current, previous ?? ""].join("\n"));
}

const loadSdk = once(() => import("@aws-sdk/client-secrets-manager"));

export interface SecretsManagerSourceOptions {
  /** Name or ARN of the secret. */
  secretId: string;
  region?: string;
  /** A Secrets Manager-compatible endpoint (tests). */
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  timeouts?: ServiceTimeouts;
  /** Names this client in the AWS call record (aws-calls.ts). */
  caller?: string;
}

/** The values from AWS Secrets Manager (GetSecretValue of the current version), with the same timeouts as every AWS call. */
export class SecretsManagerOriginVerify implements OriginVerifySource {
  private readonly clientConfig: SecretsManagerClientConfig;
  private client: SecretsManagerClient | undefined;

  constructor(private readonly options: SecretsManagerSourceOptions) {
    this.clientConfig = {
      region: options.region ?? process.env.AWS_REGION ?? "us-east-1",
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
      ...sdkTimeoutConfig(options.timeouts ?? DEFAULT_SERVICE_TIMEOUTS),
    };
  }

  async read(): Promise<string[]> {
    const sdk = await loadSdk();
    if (!this.client) {
      this.client = new sdk.SecretsManagerClient(this.clientConfig);
      this.client.middlewareStack.add(awsCallRecorder("secretsmanager", this.options.caller), { step: "initialize", name: "live360AwsCallRecorder" });
    }
    let out: GetSecretValueCommandOutput;
    try {
      out = await this.client.send(new sdk.GetSecretValueCommand({ SecretId: this.options.secretId }));
    } catch (error) {
      throw new OriginVerifyError(`reading secret ${this.options.secretId} from Secrets Manager: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    if (out.SecretString === undefined) throw new OriginVerifyError(`secret ${this.options.secretId} has no SecretString (binary secrets are not supported)`);
    return parseOriginVerifySecret(`secret ${this.options.secretId}`, out.SecretString);
  }
}

export interface OriginVerifyMirrorOptions {
  source: OriginVerifySource;
  /** The Secret written in each namespace (the one edge pods mount). */
  secretName: string;
  writer: ObjectWriter;
  logger: Logger;
}

/**
 * Keeps the CDN's origin-verify values, read from their source, in a Secret in every namespace
 * with LiveEvents, so edges there can check the header. The Secret is shared by the namespace's
 * events (not owned by one) and written with server-side apply only when the values changed since
 * it was last written there: a steady state makes no API calls. The operator never lists Secrets;
 * its RBAC may patch exactly this name.
 */
export class OriginVerifyMirror {
  private values: string[] | undefined;
  private digest = "";
  /** The read in flight: reconciles of several namespaces waiting for values share one call. */
  private reading: Promise<void> | undefined;
  /** Namespace → the digest of the values last written there. */
  private readonly written = new Map<string, string>();

  constructor(private readonly options: OriginVerifyMirrorOptions) {}

  /**
   * Makes sure `namespace` has the Secret with the current values, reading them first if none are
   * known. Throws when none can be had: the LiveEvent's reconcile fails and is retried, so no edge
   * is made that would answer without the values (fail closed).
   */
  async ensureIn(namespace: string): Promise<void> {
    if (this.values === undefined) await this.refresh();
    if (this.written.get(namespace) === this.digest) return;
    await this.write(namespace);
  }

  /**
   * Reads the values again; when they changed, rewrites every namespace written so far (a mounted
   * Secret reaches the edges within kubelet's sync period, and they read it per request). A failed
   * read keeps the last values and throws.
   */
  refresh(): Promise<void> {
    this.reading ??= this.readAndWrite().finally(() => (this.reading = undefined));
    return this.reading;
  }

  private async readAndWrite(): Promise<void> {
    const values = await this.options.source.read();
    const digest = createHash("sha256").update(values.join("\n")).digest("hex");
    if (digest === this.digest) return;
    const first = this.values === undefined;
    this.values = values;
    this.digest = digest;
    if (!first) this.options.logger.info("origin-verify values changed; updating the Secrets", { secret: this.options.secretName, namespaces: [...this.written.keys()] });
    for (const namespace of [...this.written.keys()]) await this.write(namespace);
  }

  /** Refreshes every `intervalMs` until `signal` aborts; a failed read is logged and retried next time. */
  async run(intervalMs: number, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      // Aborting ends the wait at once; no listener is left behind per round.
      const aborted = await sleep(intervalMs, false, { signal }).catch(() => true);
      if (aborted) return;
      try {
        await this.refresh();
      } catch (error) {
        this.options.logger.warn("origin-verify values not refreshed; the last ones stay", { error });
      }
    }
  }

  private async write(namespace: string): Promise<void> {
    const secret: V1Secret = {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: this.options.secretName, namespace, labels: { ...MANAGED_BY, "app.kubernetes.io/component": "edge" } },
      type: "Opaque",
      data: { [ORIGIN_VERIFY_SECRET_KEY]: Buffer.from(`${(this.values ?? []).join("\n")}\n`).toString("base64") },
    };
    await this.options.writer.apply(secret);
    this.written.set(namespace, this.digest);
  }
}
