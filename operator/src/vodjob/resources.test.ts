import { describe, expect, test } from "@jest/globals";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { V1Job } from "@kubernetes/client-node";
import { parse } from "yaml";
import { applyDefaults } from "../api/schema.js";
import { API_VERSION, vodJobSpec, type VodJob, type VodJobSpecInput } from "../api/v1alpha1/index.js";
import { resolveOperatorConfig } from "../config.js";
import { NON_RETRYABLE_EXIT_CODES, NoEgressBucketError, VodJobSpecError, vodJobResources } from "./resources.js";
import { resolveVodJobSettings } from "./settings.js";

const examplesDir = fileURLToPath(new URL("../../../examples/", import.meta.url));

/** A VodJob as the API server returns it: defaults applied, uid and namespace set. */
function vodJob(name: string, spec: VodJobSpecInput): VodJob {
  return { apiVersion: API_VERSION, kind: "VodJob", metadata: { name, namespace: "media", uid: `uid-${name}`, generation: 1 }, spec: applyDefaults(vodJobSpec, spec) };
}

const config = resolveOperatorConfig({ recording: { bucket: "ingest", queueUrl: "https://sqs.eu-west-1.amazonaws.com/1/vod", region: "eu-west-1" } });
const settings = resolveVodJobSettings({ egressBucket: "egress", workerServiceAccount: "live360-vod-worker" });

describe("VodJob → worker Job", () => {
  test("the example becomes one Job running `live360 vod-worker --job` for its recording, owned by the VodJob", async () => {
    const example = parse(await readFile(`${examplesDir}vodjob.yaml`, "utf8")) as { metadata: { name: string }; spec: VodJobSpecInput };
    const job = vodJobResources(vodJob(example.metadata.name, example.spec), config, settings) as V1Job;
    expect(job).toMatchObject({
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: {
        name: "demo-recording",
        namespace: "media",
        labels: { "live360.io/vodjob": "demo-recording", "app.kubernetes.io/component": "vod-worker", "app.kubernetes.io/managed-by": "live360-operator" },
        ownerReferences: [{ apiVersion: API_VERSION, kind: "VodJob", name: "demo-recording", uid: "uid-demo-recording", controller: true, blockOwnerDeletion: true }],
      },
      spec: { backoffLimit: 3, ttlSecondsAfterFinished: 86400 },
    });
    const pod = job.spec!.template.spec!;
    expect(pod.restartPolicy).toBe("Never");
    expect(pod.serviceAccountName).toBe("live360-vod-worker");
    const worker = pod.containers[0]!;
    expect(worker.command).toEqual(["live360"]);
    expect(worker.args).toEqual([
      "vod-worker",
      "--job", "s3://live360-ingest/recordings/demo/20260624T180000Z.mp4",
      "--egress-bucket", "egress",
      "--ladder", "source,1920x960:5000k,1080x540:2200k,960x480:1600k",
      "--projection", "cubemap",
      "--work-dir", "/var/lib/live360/vod",
      "--result-file", "/dev/termination-log",
      "--http-port", "9090",
      "--region", "eu-west-1",
    ]);
    expect(worker.ports).toEqual([{ name: "metrics", containerPort: 9090, protocol: "TCP" }]);
    expect(worker.terminationMessagePath).toBe("/dev/termination-log");
    expect(worker.securityContext).toMatchObject({ readOnlyRootFilesystem: true, runAsNonRoot: true, allowPrivilegeEscalation: false });
    expect(worker.resources).toEqual({ requests: { cpu: "2", memory: "2Gi" }, limits: { memory: "4Gi" } });
    // Workers prefer Spot: the failure policy makes an interruption cost nothing but the time.
    expect(pod.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.map((term) => term.preference.matchExpressions)).toEqual([
      [{ key: "eks.amazonaws.com/capacityType", operator: "In", values: ["SPOT"] }],
      [{ key: "live360.io/pool", operator: "In", values: ["vod"] }],
    ]);
    // eks-infra's vod pool is tainted: the worker tolerates it (and must run there with --require-node-pools).
    expect(pod.tolerations).toEqual([{ key: "live360.io/pool", operator: "Equal", value: "vod", effect: "NoSchedule" }]);
    const required = vodJobResources(vodJob(example.metadata.name, example.spec), resolveOperatorConfig({ nodePools: { require: true } }), settings) as V1Job;
    expect(required.spec!.template.spec!.nodeSelector).toEqual({ "live360.io/pool": "vod" });
  });

  test("static AWS keys reach the worker from the configured Secret, and nothing names a Secret without it", () => {
    const source = { source: "s3://ingest/recordings/keys/20260101T000000Z.mp4" };
    const withKeys = vodJobResources(vodJob("keys", source), resolveOperatorConfig({ awsCredentialsSecret: "live360-aws-credentials" }), settings) as V1Job;
    expect(withKeys.spec!.template.spec!.containers[0]!.env).toEqual([
      { name: "AWS_ACCESS_KEY_ID", valueFrom: { secretKeyRef: { name: "live360-aws-credentials", key: "AWS_ACCESS_KEY_ID" } } },
      { name: "AWS_SECRET_ACCESS_KEY", valueFrom: { secretKeyRef: { name: "live360-aws-credentials", key: "AWS_SECRET_ACCESS_KEY" } } },
    ]);
    // EKS: the worker ServiceAccount's Pod Identity signs; the pod carries no key.
    const eks = vodJobResources(vodJob("keys", source), config, settings) as V1Job;
    expect(eks.spec!.template.spec!.containers[0]!.env).toBeUndefined();
    expect(JSON.stringify(eks)).not.toContain("secretKeyRef");
  });

  test("a Spot eviction costs no retry, and a refused recording fails the Job at once", () => {
    const job = vodJobResources(vodJob("a", { source: "s3://ingest/recordings/a/20260101T000000Z.mp4" }), config, settings) as V1Job;
    expect(job.spec?.podFailurePolicy?.rules).toEqual([
      { action: "Ignore", onPodConditions: [{ type: "DisruptionTarget", status: "True" }] },
      { action: "FailJob", onExitCodes: { containerName: "worker", operator: "In", values: NON_RETRYABLE_EXIT_CODES } },
    ]);
    expect(NON_RETRYABLE_EXIT_CODES).toEqual([2, 3]);
  });

  test("the spec's own bucket, limits, placement and the S3 endpoint reach the Job", () => {
    const local = resolveOperatorConfig({ recording: { s3Endpoint: "http://versitygw.storage:7070" } });
    const job = vodJobResources(
      vodJob("b", {
        source: "s3://ingest/recordings/b/20260101T000000Z.mp4",
        egressBucket: "other-egress",
        backoffLimit: 0,
        activeDeadlineSeconds: 3600,
        ttlSecondsAfterFinished: 60,
        capacityType: "onDemand",
        nodeSelector: { pool: "vod" },
        ladder: { renditions: [{ passthrough: true }, { width: 960, height: 480, videoBitrateKbps: 1600 }] },
      }),
      local,
      resolveVodJobSettings(),
    ) as V1Job;
    expect(job.spec).toMatchObject({ backoffLimit: 0, activeDeadlineSeconds: 3600, ttlSecondsAfterFinished: 60 });
    const pod = job.spec!.template.spec!;
    expect(pod.nodeSelector).toEqual({ pool: "vod" });
    // On-demand workers never tolerate the Spot pool's taint.
    expect(pod.tolerations).toBeUndefined();
    expect(pod.serviceAccountName).toBeUndefined();
    expect(pod.containers[0]!.args).toEqual(
      expect.arrayContaining(["--egress-bucket", "other-egress", "--ladder", "source,960x480:1600k", "--projection", "equirect", "--s3-endpoint", "http://versitygw.storage:7070"]),
    );
  });

  test("spec.hls.encryption: the worker encrypts with the Secret's key, mounted read-only for its group, and the flags name the file, never the secret", () => {
    const source = "s3://ingest/recordings/enc/20260101T000000Z.mp4";
    const job = vodJobResources(vodJob("enc", { source, hls: { encryption: { secretRef: { name: "demo-hls", key: "k" }, rotationSegments: 5 } } }), config, settings) as V1Job;
    const pod = job.spec!.template.spec!;
    const worker = pod.containers[0]!;
    const args = worker.args ?? [];
    const flag = (name: string) => args[args.indexOf(name) + 1];
    expect([flag("--hls-encryption-secret-file"), flag("--hls-key-rotation")]).toEqual(["/etc/live360/hls/secret", "5"]);
    expect(pod.volumes?.find((v) => v.name === "hls-encryption")?.secret).toEqual({ secretName: "demo-hls", items: [{ key: "k", path: "secret" }], defaultMode: 0o440 });
    expect(worker.volumeMounts).toContainEqual({ name: "hls-encryption", mountPath: "/etc/live360/hls", readOnly: true });
    // 0440 and a non-root worker (USER 1000:1000): only the pod's fsGroup makes the file readable.
    expect(pod.securityContext?.fsGroup).toBe(1000);
    expect(worker.securityContext).toMatchObject({ runAsNonRoot: true });

    // The CRD's defaults: key "secret", a key per 10 segments.
    const defaulted = vodJobResources(vodJob("enc", { source, hls: { encryption: { secretRef: { name: "demo-hls" } } } }), config, settings) as V1Job;
    const defaultedArgs = defaulted.spec!.template.spec!.containers[0]!.args ?? [];
    expect(defaultedArgs.slice(defaultedArgs.indexOf("--hls-encryption-secret-file"))).toEqual(["--hls-encryption-secret-file", "/etc/live360/hls/secret", "--hls-key-rotation", "10"]);
    expect(defaulted.spec!.template.spec!.volumes?.find((v) => v.name === "hls-encryption")?.secret?.items).toEqual([{ key: "secret", path: "secret" }]);

    // Neither the volume nor the flags without encryption.
    const clear = vodJobResources(vodJob("clear", { source }), config, settings) as V1Job;
    expect(JSON.stringify(clear)).not.toContain("hls-encryption");
  });

  test("no egress bucket anywhere, or an output projection the worker cannot make: no Job, and a message saying what to set", () => {
    const source = "s3://ingest/recordings/c/20260101T000000Z.mp4";
    expect(() => vodJobResources(vodJob("c", { source }), config, resolveVodJobSettings())).toThrow(NoEgressBucketError);
    expect(() => vodJobResources(vodJob("c", { source }), config, resolveVodJobSettings())).toThrow(/set spec.egressBucket/);
    expect(() => vodJobResources(vodJob("c", { source, projection: { output: "flat" } }), config, settings)).toThrow(VodJobSpecError);
  });
});
