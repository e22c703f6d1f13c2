/**
 * The Helm chart and `live360 operator` agree: the arguments the chart's Deployment passes are
 * flags the command knows, and they validate into the configuration the values asked for.
 */
import { describe, expect, test } from "@jest/globals";
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { loadAllYaml, type V1Deployment } from "@kubernetes/client-node";
import { tempDir } from "@live360/testkit";
import type { Command } from "commander";
import { operatorCommand, operatorConfigFromFlags, runConfigFromFlags } from "./commands/operator.js";
import { vodJobSettingsFromFlags } from "./commands/vod-job-options.js";

const run = promisify(execFile);
const repo = fileURLToPath(new URL("../../../", import.meta.url));

/** The operator container's args for these values, as `helm template` renders them. */
async function chartArgs(values: object): Promise<string[]> {
  const helm = (await run("bash", [path.join(repo, "test/helm/build.sh")])).stdout.trim();
  const file = path.join(await tempDir("operator-chart"), "values.json");
  await writeFile(file, JSON.stringify(values));
  const { stdout } = await run(helm, ["template", "live360-operator", path.join(repo, "charts/live360-operator"), "--namespace", "live360-system", "--values", file]);
  const deployment = (loadAllYaml(stdout) as ({ kind?: string } | null)[]).find((m) => m?.kind === "Deployment") as V1Deployment;
  const [command, ...args] = deployment.spec!.template.spec!.containers[0]!.args!;
  expect(command).toBe("operator");
  return args;
}

/** Parses `args` with the real command (its action replaced), so unknown flags and bad values fail here. */
async function parseOperatorFlags(args: string[]): Promise<Parameters<typeof runConfigFromFlags>[0]> {
  const command: Command = operatorCommand().exitOverride();
  let parsed: unknown;
  command.action((flags: unknown) => void (parsed = flags));
  await command.parseAsync(args, { from: "user" });
  return parsed as Parameters<typeof runConfigFromFlags>[0];
}

describe("charts/live360-operator → live360 operator", () => {
  test("every argument of a production install is a known flag and validates to what the values say", async () => {
    const args = await chartArgs({
      watchNamespaces: ["media"],
      aws: { region: "eu-west-1", s3Endpoint: "http://s3.storage:7070", sqsEndpoint: "http://sqs.storage:9324", credentialsSecret: "live360-aws-credentials" },
      recording: { ingestBucket: "live360-ingest", queueUrl: "https://sqs.eu-west-1.amazonaws.com/123456789012/live360-vod" },
      vod: {
        egressBucket: "live360-egress",
        namespace: "media",
        maxConcurrentJobs: 4,
        visibilityTimeoutSeconds: 300,
        heartbeatSeconds: 60,
        // Numbers as a values file gives them: helm prints 1073741824 and 2592000 in exponent form.
        jobResources: { requests: { cpu: 0.5, memory: "512Mi" }, limits: { memory: 1073741824 } },
        jobCapacityType: "onDemand",
        jobNodeSelector: { "kubernetes.io/arch": "amd64", disk: "ssd" },
        jobActiveDeadlineSeconds: 3600,
        jobTtlSecondsAfterFinished: 2592000,
      },
      workloads: {
        images: { vodWorker: "registry.example/vod-worker:1.2.3" },
        rtmpServiceType: "NodePort",
        edgeCdn: { originVerifySecret: "live360-origin-verify", originVerifyFrom: "live360/origin-verify", originVerifyRefreshSeconds: 120, tlsCertificateArn: "arn:aws:acm:eu-west-1:123456789012:certificate/01234567-89ab-cdef-0123-456789abcdef", securityGroups: ["sg-0123456789abcdef0"] },
      },
    });
    const flags = await parseOperatorFlags(args);
    // The chart gives the pod its namespace in POD_NAMESPACE: the Lease lives there.
    process.env.POD_NAMESPACE = "live360-system";
    try {
      const runConfig = runConfigFromFlags(flags);
      expect(runConfig.namespaces).toEqual(["media"]);
      expect(runConfig.leaderElection).toMatchObject({ namespace: "live360-system", leaseName: "live360-operator" });
    } finally {
      delete process.env.POD_NAMESPACE;
    }
    const config = operatorConfigFromFlags(flags);
    expect(config.images.vodWorker).toBe("registry.example/vod-worker:1.2.3");
    expect(config.rtmpServiceType).toBe("NodePort");
    expect(config.awsCredentialsSecret).toBe("live360-aws-credentials");
    expect(config.edgeCdn).toEqual({
      originVerifySecret: "live360-origin-verify",
      originVerifyFrom: "live360/origin-verify",
      originVerifyRefreshSeconds: 120,
      secretsManagerEndpoint: undefined,
      tlsCertificateArn: "arn:aws:acm:eu-west-1:123456789012:certificate/01234567-89ab-cdef-0123-456789abcdef",
      securityGroups: ["sg-0123456789abcdef0"],
    });
    expect(config.recording).toEqual({
      bucket: "live360-ingest",
      queueUrl: "https://sqs.eu-west-1.amazonaws.com/123456789012/live360-vod",
      s3Endpoint: "http://s3.storage:7070",
      sqsEndpoint: "http://sqs.storage:9324",
      region: "eu-west-1",
    });
    expect(vodJobSettingsFromFlags(flags, flags.queueUrl)).toEqual({
      egressBucket: "live360-egress",
      queueUrl: "https://sqs.eu-west-1.amazonaws.com/123456789012/live360-vod",
      namespace: "media",
      maxConcurrentJobs: 4,
      visibilityTimeoutSeconds: 300,
      heartbeatSeconds: 60,
      workerServiceAccount: "live360-vod-worker",
      jobResources: { requests: { cpu: "0.5", memory: "512Mi" }, limits: { memory: "1.073741824e+09" } },
      jobCapacityType: "onDemand",
      jobNodeSelector: { "kubernetes.io/arch": "amd64", disk: "ssd" },
      jobActiveDeadlineSeconds: 3600,
      jobTtlSecondsAfterFinished: 2592000,
    });
  }, 120_000);

  test("the defaults parse too", async () => {
    const flags = await parseOperatorFlags(await chartArgs({}));
    expect(operatorConfigFromFlags(flags).awsCredentialsSecret).toBeUndefined();
    expect(runConfigFromFlags(flags).namespaces).toEqual([]);
    expect(vodJobSettingsFromFlags(flags, flags.queueUrl)).toMatchObject({ queueUrl: undefined, namespace: "live360-system", maxConcurrentJobs: 10, jobResources: undefined });
  }, 120_000);
});

describe("live360 operator VodJob default flags", () => {
  test("key=value lists, repeated or comma-separated, and a pair without = refused with the fix", async () => {
    const flags = await parseOperatorFlags(["--vod-job-requests", "cpu=250m", "--vod-job-requests", "memory=512Mi", "--vod-job-node-selector", "kubernetes.io/arch=amd64,disk="]);
    expect(vodJobSettingsFromFlags(flags, undefined)).toMatchObject({
      jobResources: { requests: { cpu: "250m", memory: "512Mi" } },
      jobNodeSelector: { "kubernetes.io/arch": "amd64", disk: "" },
    });
    expect(() => vodJobSettingsFromFlags({ ...flags, vodJobLimits: ["memory:1Gi"] }, undefined)).toThrow(/--vod-job-limits="memory:1Gi": give key=value pairs separated by commas, such as memory=1Gi/);
  });
});

describe("live360 operator placement flags", () => {
  test("origin ServiceAccount and node pools: defaults prefer eks-infra's pools, flags require them or turn one off", async () => {
    const defaults = operatorConfigFromFlags(await parseOperatorFlags([]));
    expect(defaults.originServiceAccount).toBeUndefined();
    expect(defaults.nodePools).toEqual({ origin: "origin", edge: "edge", vod: "vod", require: false });
    const flags = await parseOperatorFlags(["--origin-service-account", "live360-origin", "--require-node-pools", "--edge-node-pool", "", "--vod-node-pool", "batch"]);
    const config = operatorConfigFromFlags(flags);
    expect(config.originServiceAccount).toBe("live360-origin");
    expect(config.nodePools).toEqual({ origin: "origin", edge: undefined, vod: "batch", require: true });
  });
});
