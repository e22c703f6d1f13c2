/**
 * charts/live360-operator with a pinned helm built from the Go module proxy (test/helm/build.sh):
 * lint, template, the rendered manifests accepted by a real API server (server-side dry run), and
 * the chart's RBAC proven sufficient by running both controllers as the chart's ServiceAccount.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { execFile } from "node:child_process";
import { readFile, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { CoreV1Api, CustomObjectsApi, KubeConfig, type V1ClusterRole, type V1Deployment, type V1Role } from "@kubernetes/client-node";
import { SqsQueue, createLogger, formatRecordingJob } from "@live360/core";
import { kubeConfigFor, startCluster, startSqsServer, stopCluster, tempDir, waitFor, type LocalCluster, type SqsServer } from "@live360/testkit";
import { parseAllDocuments } from "yaml";
import { CHART_CRDS_DIR, renderCrdYaml } from "./api/crd.js";
import { CRDS, GROUP, LIVE_EVENT, VERSION, type LiveEvent, type VodJob } from "./api/v1alpha1/index.js";
import { resolveOperatorConfig } from "./config.js";
import { Manager } from "./manager.js";
import { vodJobName } from "./vodjob/queue-poller.js";
import { liveEventController } from "./liveevent/reconcile.js";
import { vodJobController } from "./vodjob/reconcile.js";
import { resolveVodJobSettings } from "./vodjob/settings.js";

const run = promisify(execFile);
const repo = fileURLToPath(new URL("../../", import.meta.url));
const chart = path.join(repo, "charts/live360-operator");
const logger = createLogger("chart-test", { level: process.env.LIVE360_LOG_LEVEL === "debug" ? "debug" : "error" });
const converge = { timeoutMs: 120_000, intervalMs: 250 };
const RELEASE = "live360-operator";
const OPERATOR_NS = "live360-system";
const MEDIA_NS = "media";

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  [field: string]: unknown;
}

/** Everything a production install sets, so every template branch renders. */
const PRODUCTION_VALUES = {
  watchNamespaces: [MEDIA_NS],
  serviceAccount: { annotations: { "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/live360-operator" } },
  aws: { region: "eu-west-1" },
  recording: { ingestBucket: "live360-ingest", queueUrl: "https://sqs.eu-west-1.amazonaws.com/123456789012/live360-vod" },
  vod: {
    egressBucket: "live360-egress",
    egressOrigin: "https://live360-egress.s3.eu-west-1.amazonaws.com",
    namespace: MEDIA_NS,
    maxConcurrentJobs: 4,
    workerServiceAccount: { annotations: { "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/live360-vod-worker" } },
    jobResources: { requests: { cpu: "1", memory: "2Gi" }, limits: { cpu: 2, memory: "4Gi" } },
    jobCapacityType: "onDemand",
    jobNodeSelector: { "kubernetes.io/arch": "amd64", "node.kubernetes.io/instance-type": "c7i.2xlarge" },
    jobActiveDeadlineSeconds: 21600,
    jobTtlSecondsAfterFinished: 3600,
  },
  workloads: {
    rtmpServiceType: "NodePort",
    originServiceAccount: { create: true, name: "live360-origin", annotations: { "eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/live360-origin" } },
    nodePools: { origin: "origin", edge: "edge", vod: "vod", require: true },
    networkPolicy: { enabled: true, metricsNamespaces: ["monitoring", "observability"] },
    edgeCdn: {
      originVerifySecret: "live360-origin-verify",
      originVerifyFrom: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:live360-origin-verify-AbCdEf",
      tlsCertificateArn: "arn:aws:acm:eu-west-1:123456789012:certificate/01234567-89ab-cdef-0123-456789abcdef",
      securityGroups: ["sg-0123456789abcdef0", "sg-0fedcba9876543210"],
    },
  },
  metrics: { serviceMonitor: { enabled: true, labels: { release: "kube-prometheus-stack" } } },
};

describe("Helm chart charts/live360-operator", () => {
  let helm: string;
  let kubectl: string;
  let dir: string;
  let cluster: LocalCluster;
  let kc: KubeConfig;

  const helmRun = async (...args: string[]) => (await run(helm, args, { maxBuffer: 16 * 1024 * 1024 })).stdout;
  const valuesFile = async (name: string, values: object) => {
    const file = path.join(dir, `${name}.json`);
    await writeFile(file, JSON.stringify(values));
    return file;
  };
  const template = async (values: object, ...extra: string[]): Promise<Manifest[]> => {
    const out = await helmRun("template", RELEASE, chart, "--namespace", OPERATOR_NS, "--values", await valuesFile("values", values), ...extra);
    return parseAllDocuments(out)
      .map((doc) => doc.toJS() as Manifest | null)
      .filter((m): m is Manifest => m !== null);
  };
  const kubectlRun = async (...args: string[]) => (await run(kubectl, ["--kubeconfig", cluster.kubeconfig, ...args], { maxBuffer: 16 * 1024 * 1024 })).stdout;

  beforeAll(async () => {
    // Both build on first use and print where the cached binaries are.
    helm = (await run("bash", [path.join(repo, "test/helm/build.sh")], { maxBuffer: 1024 * 1024 })).stdout.trim();
    kubectl = path.join((await run("bash", [path.join(repo, "test/cluster/build.sh")])).stdout.trim(), "kubectl");
    dir = await tempDir("helm-chart");
    cluster = await startCluster();
    kc = kubeConfigFor(cluster);
    for (const name of [OPERATOR_NS, MEDIA_NS]) await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name } } });
  }, 60 * 60_000);

  afterAll(async () => {
    if (cluster) await stopCluster(cluster);
  }, 60_000);

  test("crds/ holds exactly the generated CRDs (run `make crds` after changing the API types)", async () => {
    expect((await readdir(CHART_CRDS_DIR)).sort()).toEqual(CRDS.map(({ file }) => file).sort());
    for (const { crd, file } of CRDS) expect(await readFile(path.join(CHART_CRDS_DIR, file), "utf8")).toBe(renderCrdYaml(crd));
  });

  test("helm lint --strict passes with the defaults and with every option set", async () => {
    await helmRun("lint", "--strict", chart);
    await helmRun("lint", "--strict", chart, "--values", await valuesFile("production", PRODUCTION_VALUES));
  }, 60_000);

  test("defaults: two replicas with leader election, cluster-wide RBAC, no queue, no ServiceMonitor", async () => {
    const manifests = await template({});
    const kinds = manifests.map((m) => `${m.kind}/${m.metadata.name}`).sort();
    expect(kinds).toEqual([
      "ClusterRole/live360-operator",
      "ClusterRole/live360-operator-nodes",
      "ClusterRoleBinding/live360-operator",
      "ClusterRoleBinding/live360-operator-nodes",
      "Deployment/live360-operator",
      "PodDisruptionBudget/live360-operator",
      "Role/live360-operator-leader-election",
      "RoleBinding/live360-operator-leader-election",
      "Service/live360-operator-metrics",
      "ServiceAccount/live360-operator",
      "ServiceAccount/live360-vod-worker",
    ]);
    const deployment = manifests.find((m) => m.kind === "Deployment") as unknown as V1Deployment;
    expect(deployment.spec?.replicas).toBe(2);
    const container = deployment.spec!.template.spec!.containers[0]!;
    expect(container.image).toBe("ghcr.io/live360/operator:0.1.0");
    expect(container.args).toEqual(expect.arrayContaining(["operator", "--leader-elect", "--leader-election-id=live360-operator", "--vod-namespace=live360-system"]));
    expect(container.args?.some((a) => a.startsWith("--queue-url") || a.startsWith("--namespace"))).toBe(false);
    // Queue-made VodJobs keep the CRD's defaults.
    expect(container.args?.filter((a) => a.startsWith("--vod-job-"))).toEqual([]);
  });

  test("production values: namespaced RBAC in the watched namespace, queue and buckets passed, IRSA annotations, ServiceMonitor", async () => {
    const manifests = await template(PRODUCTION_VALUES);
    const role = manifests.find((m) => m.kind === "Role" && m.metadata.name === "live360-operator") as unknown as V1Role;
    expect(role.metadata?.namespace).toBe(MEDIA_NS);
    expect(manifests.some((m) => m.kind === "ClusterRole" && m.metadata.name === "live360-operator")).toBe(false);
    // Secrets: only get and create (the generated publish keys) and a patch of the one origin-verify
    // Secret by name, never list or watch, so the operator holds no one else's keys; no rule is a wildcard.
    const rules = [...(role.rules ?? []), ...manifests.filter((m) => m.kind === "ClusterRole").flatMap((m) => (m as unknown as V1ClusterRole).rules ?? [])];
    expect(rules.filter((r) => r.resources?.includes("secrets")).map((r) => ({ resources: r.resources, resourceNames: r.resourceNames, verbs: r.verbs }))).toEqual([
      { resources: ["secrets"], resourceNames: undefined, verbs: ["get", "create"] },
      { resources: ["secrets"], resourceNames: ["live360-origin-verify"], verbs: ["patch"] },
    ]);
    expect(rules.flatMap((r) => [...(r.verbs ?? []), ...(r.resources ?? []), ...(r.apiGroups ?? [])])).not.toContain("*");
    const args = (manifests.find((m) => m.kind === "Deployment") as unknown as V1Deployment).spec!.template.spec!.containers[0]!.args;
    expect(args).toEqual(
      expect.arrayContaining([
        `--namespace=${MEDIA_NS}`,
        "--region=eu-west-1",
        "--ingest-bucket=live360-ingest",
        "--queue-url=https://sqs.eu-west-1.amazonaws.com/123456789012/live360-vod",
        "--vod-egress-bucket=live360-egress",
        "--vod-egress-origin=https://live360-egress.s3.eu-west-1.amazonaws.com",
        `--vod-namespace=${MEDIA_NS}`,
        "--max-concurrent-jobs=4",
        "--rtmp-service-type=NodePort",
        "--origin-service-account=live360-origin",
        "--origin-node-pool=origin",
        "--edge-node-pool=edge",
        "--vod-node-pool=vod",
        "--require-node-pools",
        "--metrics-namespace=monitoring,observability",
        "--edge-origin-verify-secret=live360-origin-verify",
        "--edge-origin-verify-from=arn:aws:secretsmanager:eu-west-1:123456789012:secret:live360-origin-verify-AbCdEf",
        "--edge-origin-verify-refresh=300",
        "--edge-tls-certificate-arn=arn:aws:acm:eu-west-1:123456789012:certificate/01234567-89ab-cdef-0123-456789abcdef",
        "--edge-security-group=sg-0123456789abcdef0,sg-0fedcba9876543210",
        "--vod-job-requests=cpu=1,memory=2Gi",
        "--vod-job-limits=cpu=2,memory=4Gi",
        "--vod-job-capacity-type=onDemand",
        "--vod-job-node-selector=kubernetes.io/arch=amd64,node.kubernetes.io/instance-type=c7i.2xlarge",
        "--vod-job-active-deadline=21600",
        "--vod-job-ttl-after-finished=3600",
      ]),
    );
    const accounts = manifests.filter((m) => m.kind === "ServiceAccount") as unknown as { metadata: { name: string; namespace: string; annotations?: Record<string, string> } }[];
    expect(accounts.map((a) => [a.metadata.name, a.metadata.namespace, a.metadata.annotations?.["eks.amazonaws.com/role-arn"]])).toEqual([
      ["live360-operator", OPERATOR_NS, "arn:aws:iam::123456789012:role/live360-operator"],
      ["live360-vod-worker", MEDIA_NS, "arn:aws:iam::123456789012:role/live360-vod-worker"],
      ["live360-origin", MEDIA_NS, "arn:aws:iam::123456789012:role/live360-origin"],
    ]);
    expect(manifests.find((m) => m.kind === "ServiceMonitor")?.metadata.name).toBe("live360-operator");
  });

  test("aws.credentialsSecret: the operator's keys from the Secret, and the flag that hands it to origins and VOD workers; neither without it", async () => {
    const operator = async (values: object) => (await template(values)).find((m) => m.kind === "Deployment") as unknown as V1Deployment;
    const container = (await operator({ aws: { credentialsSecret: "live360-aws-credentials" } })).spec!.template.spec!.containers[0]!;
    expect(container.args).toContain("--aws-credentials-secret=live360-aws-credentials");
    expect(container.env?.filter((e) => e.valueFrom?.secretKeyRef)).toEqual([
      { name: "AWS_ACCESS_KEY_ID", valueFrom: { secretKeyRef: { name: "live360-aws-credentials", key: "AWS_ACCESS_KEY_ID" } } },
      { name: "AWS_SECRET_ACCESS_KEY", valueFrom: { secretKeyRef: { name: "live360-aws-credentials", key: "AWS_SECRET_ACCESS_KEY" } } },
    ]);
    // A name YAML would read as a number stays a string.
    const numeric = (await operator({ aws: { credentialsSecret: "1234" } })).spec!.template.spec!.containers[0]!;
    expect(numeric.env?.map((e) => e.valueFrom?.secretKeyRef?.name).filter(Boolean)).toEqual(["1234", "1234"]);
    for (const values of [{}, PRODUCTION_VALUES]) {
      const eks = (await operator(values)).spec!.template.spec!.containers[0]!;
      expect(eks.env?.map((e) => e.name)).toEqual(["POD_NAMESPACE"]);
      expect(eks.args?.some((a) => a.startsWith("--aws-credentials-secret"))).toBe(false);
    }
    await helmRun("lint", "--strict", chart, "--values", await valuesFile("credentials", { ...PRODUCTION_VALUES, aws: { ...PRODUCTION_VALUES.aws, credentialsSecret: "live360-aws-credentials" } }));
  }, 60_000);

  test("VodJob defaults: each given part of vod.jobResources is its own flag, and a TTL of 0 is passed, not taken for unset", async () => {
    const args = async (vod: object) => {
      const deployment = (await template({ vod })).find((m) => m.kind === "Deployment") as unknown as V1Deployment;
      return deployment.spec!.template.spec!.containers[0]!.args!.filter((a) => a.startsWith("--vod-job-"));
    };
    expect(await args({ jobResources: { limits: { memory: "1Gi" } }, jobTtlSecondsAfterFinished: 0 })).toEqual(["--vod-job-limits=memory=1Gi", "--vod-job-ttl-after-finished=0"]);
    expect(await args({ jobResources: { requests: { cpu: "250m" } } })).toEqual(["--vod-job-requests=cpu=250m"]);
  });

  test("inconsistent values fail the render with the field and the fix", async () => {
    await expect(template({ recording: { queueUrl: "https://sqs.eu-west-1.amazonaws.com/1/q" } })).rejects.toThrow(/recording.ingestBucket: set it together with recording.queueUrl/);
    await expect(
      template({ watchNamespaces: ["a"], recording: { ingestBucket: "b", queueUrl: "https://sqs.eu-west-1.amazonaws.com/1/q" } }),
    ).rejects.toThrow(/vod.namespace: VodJobs from the queue are created in live360-system, which watchNamespaces \(a\) lacks/);
    await expect(template({ workloads: { originServiceAccount: { create: true } } })).rejects.toThrow(/workloads.originServiceAccount.create needs workloads.originServiceAccount.name/);
  });

  test("the rendered chart, CRDs included, is accepted by the API server (server-side dry run)", async () => {
    // The ServiceMonitor needs the Prometheus Operator's CRD, which this cluster does not have.
    const { metrics, ...values } = PRODUCTION_VALUES;
    const file = path.join(dir, "rendered.yaml");
    await writeFile(file, await helmRun("template", RELEASE, chart, "--namespace", OPERATOR_NS, "--include-crds", "--values", await valuesFile("dry-run", { ...values, metrics: { ...metrics, serviceMonitor: { enabled: false } } })));
    const out = await kubectlRun("apply", "--server-side", "--dry-run=server", "--field-manager=helm-chart-test", "-f", file);
    expect(out).toMatch(/deployment.apps\/live360-operator serverside-applied \(server dry run\)/);
    expect(out).toMatch(/customresourcedefinition.apiextensions.k8s.io\/vodjobs.live360.io serverside-applied \(server dry run\)/);
  }, 120_000);

  describe("installed, its RBAC is all the VodJob and LiveEvent controllers need", () => {
    let sqs: SqsServer;
    let manager: Manager | undefined;

    beforeAll(async () => {
      sqs = await startSqsServer({ queues: [{ name: "vod", deadLetter: { name: "vod-dead", maxReceiveCount: 3 } }] });
    }, 120_000);

    afterAll(async () => {
      await manager?.stop();
      await sqs?.stop();
    }, 60_000);

    test("running as the chart's ServiceAccount (leader election on), a queue message becomes a VodJob that succeeds", async () => {
      const file = path.join(dir, "installed.yaml");
      const values = { ...PRODUCTION_VALUES, metrics: { serviceMonitor: { enabled: false } }, recording: { ingestBucket: "ingest", queueUrl: sqs.queueUrls.vod } };
      await writeFile(file, await helmRun("template", RELEASE, chart, "--namespace", OPERATOR_NS, "--include-crds", "--values", await valuesFile("installed", values)));
      await kubectlRun("apply", "--server-side", "--field-manager=helm-chart-test", "-f", file);
      await kubectlRun("wait", "--for=condition=Established", "crd/vodjobs.live360.io", "crd/liveevents.live360.io", "--timeout=60s");

      // The admin (system:masters) acts as the operator's ServiceAccount, with nothing but its RBAC.
      const admin = kubeConfigFor(cluster);
      const asOperator = new KubeConfig();
      asOperator.loadFromOptions({
        clusters: admin.clusters,
        users: admin.users.map((user) => ({ ...user, impersonateUser: `system:serviceaccount:${OPERATOR_NS}:live360-operator` })),
        contexts: admin.contexts,
        currentContext: admin.currentContext,
      });
      // The impersonation is real: what the chart does not grant is refused.
      await expect(asOperator.makeApiClient(CoreV1Api).listNamespacedSecret({ namespace: MEDIA_NS })).rejects.toMatchObject({ code: 403 });
      const queue = new SqsQueue({ queueUrl: sqs.queueUrls.vod!, endpoint: sqs.endpoint, region: sqs.region, credentials: sqs.credentials });
      manager = new Manager({
        kubeConfig: asOperator,
        namespaces: [MEDIA_NS],
        identity: "chart-test",
        leaderElection: { namespace: OPERATOR_NS, leaseName: "live360-operator", leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 },
        httpPort: undefined,
        bindAddress: "127.0.0.1",
        logger,
        controllers: [
          liveEventController({ config: resolveOperatorConfig({ rtmpServiceType: "NodePort", networkPolicy: { operatorNamespace: OPERATOR_NS } }) }),
          vodJobController({
            // Workers that reference a credentials Secret need no Secret access of the operator's: the kubelet resolves it.
            config: resolveOperatorConfig({ awsCredentialsSecret: "live360-aws-credentials" }),
            settings: resolveVodJobSettings({ egressBucket: "egress", namespace: MEDIA_NS, workerServiceAccount: "live360-vod-worker", visibilityTimeoutSeconds: 20, heartbeatSeconds: 5 }),
            namespaces: [MEDIA_NS],
            queue,
          }),
        ],
      });
      await manager.start();
      await queue.send(formatRecordingJob({ bucket: "ingest", key: "recordings/rbac/20260701T180000Z.mp4", recording: { stream: "rbac", startedAt: new Date("2026-07-01T18:00:00Z"), durationSeconds: 60, projection: "equirectangular" } }));
      const name = vodJobName("s3://ingest/recordings/rbac/20260701T180000Z.mp4");
      const objects = admin.makeApiClient(CustomObjectsApi);
      await waitFor("the VodJob to succeed", async () => {
        const vodJob = (await objects.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: MEDIA_NS, plural: "vodjobs", name }).catch(() => undefined)) as VodJob | undefined;
        return vodJob?.status?.phase === "Succeeded";
      }, converge);
      await waitFor("the message to be deleted", async () => {
        const counts = await queue.counts();
        return counts.visible + counts.inFlight === 0;
      }, converge);
      // The worker pod ran as the chart's worker ServiceAccount.
      const pods = await admin.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: MEDIA_NS, labelSelector: `live360.io/vodjob=${name}` });
      expect(pods.items.map((p) => p.spec?.serviceAccountName)).toEqual(["live360-vod-worker"]);
      expect(pods.items[0]?.spec?.containers[0]?.env?.map((e) => e.valueFrom?.secretKeyRef)).toEqual([
        { name: "live360-aws-credentials", key: "AWS_ACCESS_KEY_ID" },
        { name: "live360-aws-credentials", key: "AWS_SECRET_ACCESS_KEY" },
      ]);
    }, 240_000);

    test("with the same manager, a LiveEvent gets its children, its NetworkPolicy and a generated publish key Secret, and its status", async () => {
      expect(manager).toBeDefined();
      const admin = kubeConfigFor(cluster);
      const objects = admin.makeApiClient(CustomObjectsApi);
      await objects.createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: MEDIA_NS,
        plural: LIVE_EVENT.plural,
        body: { apiVersion: `${GROUP}/${VERSION}`, kind: LIVE_EVENT.kind, metadata: { name: "rbac" }, spec: { streamName: "rbac", testSource: { enabled: true } } },
      });
      const status = await waitFor("the LiveEvent's status with its key's whereabouts", async () => {
        const event = (await objects.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: MEDIA_NS, plural: LIVE_EVENT.plural, name: "rbac" })) as LiveEvent;
        return event.status?.ingest?.publishKeySecret ? event.status : undefined;
      }, converge);
      expect(status.ingest?.publishKeySecret).toBe("rbac-publish-key/keys");
      const secret = await admin.makeApiClient(CoreV1Api).readNamespacedSecret({ namespace: MEDIA_NS, name: "rbac-publish-key" });
      expect(Buffer.from(secret.data?.keys ?? "", "base64").toString()).toMatch(/^rbac=[A-Za-z0-9_-]{32}\n$/);
      const policy = await kubectlRun("get", "networkpolicy", "rbac-origins", "--namespace", MEDIA_NS, "-o", "json");
      expect(JSON.parse(policy).spec.podSelector.matchLabels).toMatchObject({ "app.kubernetes.io/component": "origin", "live360.io/event": "rbac" });
      for (const kind of ["statefulset/rbac-origin-primary", "statefulset/rbac-origin-backup", "deployment/rbac-edge", "deployment/rbac-test-source", "service/rbac-origin-primary-rtmp"]) {
        await kubectlRun("get", kind, "--namespace", MEDIA_NS);
      }
    }, 240_000);
  });
});
