/**
 * `cdk synth` as a user runs it, offline and without AWS credentials: the CLI runs the app
 * (dist/main.js, with cdk-nag as an aspect) and writes a cloud assembly; bad context is a clear error.
 */
import { describe, expect, test } from "@jest/globals";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const eksInfra = fileURLToPath(new URL("../", import.meta.url));
const cdk = path.join(eksInfra, "node_modules/.bin/cdk");
const rootCdk = fileURLToPath(new URL("../../node_modules/.bin/cdk", import.meta.url));

/** No credentials, no notices, no version check, no telemetry: nothing may need the network. */
const offline = {
  ...process.env,
  AWS_ACCESS_KEY_ID: "",
  AWS_SECRET_ACCESS_KEY: "",
  AWS_PROFILE: "",
  AWS_CONFIG_FILE: "/nonexistent",
  AWS_SHARED_CREDENTIALS_FILE: "/nonexistent",
  AWS_EC2_METADATA_DISABLED: "true",
  CDK_DISABLE_VERSION_CHECK: "1",
  CDK_DISABLE_CLI_TELEMETRY: "true",
};

async function cdkBinary(): Promise<string> {
  for (const candidate of [cdk, rootCdk]) {
    try {
      await readFile(candidate);
      return candidate;
    } catch {
      // npm may hoist the CLI to the root node_modules.
    }
  }
  throw new Error("the aws-cdk CLI is not installed: run npm ci at the repository root");
}

describe("cdk synth", () => {
  test("synthesizes the stack offline with the AwsSolutions checks on", async () => {
    const out = await mkdtemp(path.join(os.tmpdir(), "live360-synth-"));
    try {
      await run(await cdkBinary(), ["synth", "--no-notices", "--quiet", "--output", out, "-c", "edgeOriginDomain=edge.example.com", "-c", "apiAllowedCidrs=203.0.113.0/24"], {
        cwd: eksInfra,
        env: offline,
        timeout: 240_000,
      });
      const manifest = JSON.parse(await readFile(path.join(out, "manifest.json"), "utf8")) as { artifacts: Record<string, { type: string }> };
      expect(manifest.artifacts.Live360?.type).toBe("aws:cloudformation:stack");
      const template = JSON.parse(await readFile(path.join(out, "Live360.template.json"), "utf8")) as { Resources: Record<string, { Type: string }> };
      const types = new Set(Object.values(template.Resources).map((r) => r.Type));
      for (const type of ["AWS::EKS::Cluster", "AWS::EKS::Nodegroup", "AWS::CloudFront::Distribution", "AWS::SQS::Queue", "Custom::AWSCDK-EKS-HelmChart"]) {
        expect(types).toContain(type);
      }
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  }, 300_000);

  test("a bad context value stops the synth with the field, the value and the fix", async () => {
    const out = await mkdtemp(path.join(os.tmpdir(), "live360-synth-"));
    const failed = await run(await cdkBinary(), ["synth", "--no-notices", "--quiet", "--output", out, "-c", "apiAllowedCidrs=everyone"], {
      cwd: eksInfra,
      env: offline,
      timeout: 240_000,
    }).then(
      () => undefined,
      (err: { stderr: string }) => err,
    );
    await rm(out, { recursive: true, force: true });
    expect(failed?.stderr).toContain('live360 eks-infra: invalid configuration: apiAllowedCidrs="everyone": give the IPv4 CIDRs allowed to reach the Kubernetes API');
  }, 300_000);
});
