#!/usr/bin/env node
/**
 * The CDK app: `npx cdk deploy` in eks-infra/ (after `npm run build` at the root). Settings come
 * from context, e.g. `-c adminRoleArn=arn:aws:iam::123456789012:role/Admin -c apiAllowedCidrs=203.0.113.0/24`
 * (apiAllowedCidrs is required: the CIDRs that may reach the Kubernetes API, or "private").
 * The stack is environment-agnostic: it deploys to the CLI's account and region (AWS_PROFILE,
 * AWS_REGION), and one template, synthesized offline, serves any region.
 */
import { App, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks } from "cdk-nag";
import { Live360Error } from "@live360/core";
import { resolveInfraConfig, type InfraConfigInput } from "./config.js";
import { Live360Stack } from "./stack.js";

const CONTEXT_KEYS = [
  "clusterName",
  "namespace",
  "imageRegistry",
  "edgeOriginDomain",
  "edgeOriginCertificateArn",
  "originVerifyRotation",
  "domainName",
  "certificateArn",
  "apiAllowedCidrs",
  "adminRoleArn",
  "notifyQueueOnUpload",
  "operatorChartPath",
  "playerPath",
] as const satisfies readonly (keyof InfraConfigInput)[];

const app = new App();
try {
  const input: Record<string, unknown> = {};
  for (const key of CONTEXT_KEYS) {
    const value: unknown = app.node.tryGetContext(key);
    if (value !== undefined) input[key] = value;
  }
  // No env: one template for any account and region; `cdk deploy` targets the CLI's own.
  new Live360Stack(app, app.node.tryGetContext("stackName") ?? "Live360", {
    config: resolveInfraConfig(input as InfraConfigInput),
    description: "live360: live and on-demand 360 video on EKS Spot (eks-infra)",
  });
  // Any AwsSolutions finding not acknowledged with a reason (stack.ts) stops the synth.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  app.synth();
} catch (err) {
  if (!(err instanceof Live360Error)) throw err;
  process.stderr.write(`live360 eks-infra: ${err.message}\n`);
  process.exit(2);
}
