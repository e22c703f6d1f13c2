/**
 * Fast checks of the kind recipe, before `make test` runs it for real (test/kind/test.sh and the
 * end-to-end suite e2e.kind.ts): its scripts pass shellcheck, its manifests and the example the
 * scripts apply are accepted by a real Kubernetes 1.34 API server (server-side dry-run), and the
 * ports, labels, images and versions that tie kind-config.yaml, lib.sh, the manifests and the rest
 * of the repository together agree.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { execFile } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { parseAllDocuments } from "yaml";
import { createNamespace, installCustomResourceDefinitions, kubeConfigFor, startCluster, stopCluster, type LocalCluster } from "@live360/testkit";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../../", import.meta.url));
const kindDir = path.join(root, "test/kind");
const read = (rel: string): string => readFileSync(path.join(root, rel), "utf8");
const yamlDocs = (rel: string): Record<string, unknown>[] => parseAllDocuments(read(rel)).map((d) => d.toJS() as Record<string, unknown>);

/** `NAME=value` (or `["key"]=value` inside NODE_PORTS) from lib.sh, which the scripts source. */
function libValue(name: string): string {
  const value = new RegExp(`^${name}=(.*)$`, "m").exec(read("test/kind/lib.sh"))?.[1];
  if (value === undefined) throw new Error(`test/kind/lib.sh does not set ${name}`);
  return value.replace(/^"|"$/g, "");
}

describe("scripts", () => {
  test("every script is shellcheck-clean (sources followed)", async () => {
    const top = readdirSync(kindDir).filter((f) => f.endsWith(".sh")).sort();
    expect(top).toEqual(expect.arrayContaining(["docker.sh", "down.sh", "e2e.sh", "lib.sh", "test.sh", "up.sh"]));
    const nodeImage = readdirSync(path.join(kindDir, "node-image")).filter((f) => f.endsWith(".sh")).map((f) => `node-image/${f}`);
    expect(nodeImage).toContain("node-image/build.sh");
    const scripts = [...top, ...nodeImage];
    const result = await run("shellcheck", ["--external-sources", "--severity=style", ...scripts], { cwd: kindDir }).catch(
      (err: NodeJS.ErrnoException & { stdout?: string }) => {
        if (err.code === "ENOENT") throw new Error("shellcheck is not installed: run `make system-deps` (Debian package shellcheck)");
        return { stdout: err.stdout ?? String(err) };
      },
    );
    expect(result.stdout).toBe("");
  });
});

describe("consistency", () => {
  const config = yamlDocs("test/kind/kind-config.yaml")[0] as {
    nodes: { role: string; image: string; labels?: Record<string, string>; extraPortMappings?: { containerPort: number; hostPort: number }[] }[];
  };

  test("two Spot workers in two zones and one on-demand worker, Kubernetes 1.34 pinned by digest", () => {
    const workers = config.nodes.filter((n) => n.role === "worker");
    const spot = workers.filter((n) => n.labels?.["eks.amazonaws.com/capacityType"] === "SPOT");
    expect(spot).toHaveLength(2);
    expect(new Set(spot.map((n) => n.labels?.["topology.kubernetes.io/zone"])).size).toBe(2);
    expect(workers.filter((n) => n.labels?.["eks.amazonaws.com/capacityType"] === "ON_DEMAND")).toHaveLength(1);
    const minor = /^KUBERNETES_VERSION=v1\.(\d+)\./m.exec(read("test/cluster/versions.env"))?.[1];
    for (const node of config.nodes) expect(node.image).toMatch(new RegExp(`^kindest/node:v1\\.${minor}\\.\\d+@sha256:[a-f0-9]{64}$`));
  });

  test("kind itself accepts kind-config.yaml, and refuses a misspelt field", async () => {
    // config-check decodes with kind's own v1alpha4 types, strictly, as `kind create cluster` does.
    const check = (file: string) => run("go", ["run", ".", file], { cwd: path.join(kindDir, "config-check"), env: { ...process.env, GOWORK: "off" } });
    expect((await check(path.join(kindDir, "kind-config.yaml"))).stdout).toContain("valid kind configuration, 4 nodes");
    expect(read("test/kind/config-check/go.mod")).toContain(`sigs.k8s.io/kind ${libValue("KIND_VERSION")}`);
    const dir = await mkdtemp(path.join(os.tmpdir(), "live360-kind-"));
    try {
      await writeFile(path.join(dir, "bad.yaml"), read("test/kind/kind-config.yaml").replace("extraPortMappings", "extraPortMapping"));
      const failure = await check(path.join(dir, "bad.yaml")).then(() => undefined, (err: { stderr: string }) => err);
      expect(failure?.stderr).toContain('unknown field "extraPortMapping"');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 300_000);

  test("the host ports reach the node ports up.sh pins the RTMP and edge Services to", () => {
    const nodePorts = [...read("test/kind/lib.sh").matchAll(/^\s+\["\$EVENT-[a-z-]+"\]=(\d+)$/gm)].map((m) => Number(m[1]));
    const mapped = config.nodes.flatMap((n) => n.extraPortMappings ?? []);
    expect(mapped.map((m) => m.containerPort).sort()).toEqual(nodePorts.sort());
    expect(mapped.map((m) => m.hostPort).sort()).toEqual([1935, 1936, 8080]);
    for (const port of nodePorts) expect(port).toBeGreaterThanOrEqual(30000);
  });

  test("the stand-ins run the versions the tests use, and the bucket job the images make kind-up loads", () => {
    const versions = read("test/services/versions.env");
    const images = yamlDocs("test/kind/manifests/services.yaml").flatMap((doc) => JSON.stringify(doc).match(/"image":"[^"]+"/g) ?? []);
    const version = (name: string) => new RegExp(`^${name}=(.+)$`, "m").exec(versions)?.[1];
    expect(images).toContain(`"image":"ghcr.io/versity/versitygw:${version("VERSITYGW_VERSION")}@sha256:30292fc2eeacc67a36993b01f7a7a5e3361a19cced0e80c1d71cfa2a4b0a2499"`);
    expect(images.some((i) => i.startsWith(`"image":"softwaremill/elasticmq-native:${version("ELASTICMQ_VERSION")}@sha256:`))).toBe(true);
    const operatorVersion = (JSON.parse(read("operator/package.json")) as { version: string }).version;
    expect(images).toContain(`"image":"${libValue("REGISTRY")}/vod-worker:${operatorVersion}"`);
  });

  test("the in-cluster Prometheus runs the release promtool and its stand-in are built from", () => {
    const version = /^PROMETHEUS_VERSION=(.+)$/m.exec(read("test/promtool/build.sh"))?.[1];
    const images = yamlDocs("test/kind/manifests/prometheus.yaml").flatMap((doc) => JSON.stringify(doc).match(/"image":"[^"]+"/g) ?? []);
    expect(images).toEqual([`"image":"prom/prometheus:v${version}"`]);
  });

  test("the chart values name the images make kind-up builds and loads", () => {
    const operatorVersion = (JSON.parse(read("operator/package.json")) as { version: string }).version;
    const values = yamlDocs("test/kind/values.yaml")[0] as { image: { repository: string }; workloads: { images: Record<string, string> } };
    const registry = libValue("REGISTRY");
    expect(values.image.repository).toBe(`${registry}/operator`);
    expect(values.workloads.images).toEqual({
      origin: `${registry}/origin:${operatorVersion}`,
      edge: `${registry}/edge:${operatorVersion}`,
      testSource: `${registry}/test-source:${operatorVersion}`,
      vodWorker: `${registry}/vod-worker:${operatorVersion}`,
      edgeMetrics: `${registry}/operator:${operatorVersion}`,
    });
  });

  test("the chart hands the workloads the stand-ins' static keys: the Secret values.yaml names is in the manifests, in the workloads' namespace, with both keys", () => {
    const values = yamlDocs("test/kind/values.yaml")[0] as { aws: { credentialsSecret?: string }; watchNamespaces: string[]; vod: { namespace: string } };
    const secrets = yamlDocs("test/kind/manifests/services.yaml").filter((doc) => doc.kind === "Secret") as {
      metadata: { name: string; namespace: string };
      stringData: Record<string, string>;
    }[];
    const secret = secrets.find((s) => s.metadata.name === values.aws.credentialsSecret);
    expect(secret).toBeDefined();
    // Origins run in the watched namespace and workers in vod.namespace: secretKeyRef reads only the pod's own.
    const namespace = libValue("NAMESPACE");
    expect([secret?.metadata.namespace, ...values.watchNamespaces, values.vod.namespace]).toEqual([namespace, namespace, namespace]);
    expect(Object.keys(secret?.stringData ?? {})).toEqual(expect.arrayContaining(["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]));
  });

  test("the example LiveEvent is the one the scripts drive", () => {
    const [example] = yamlDocs("examples/liveevent.yaml") as { metadata: { name: string }; spec: { streamName: string; testSource: { enabled: boolean } } }[];
    expect(example?.metadata.name).toBe(libValue("EVENT"));
    expect(example?.spec.streamName).toBe(libValue("STREAM"));
    expect(example?.spec.testSource.enabled).toBe(true);
  });
});

describe("manifests against a real API server (server-side dry-run)", () => {
  let cluster: LocalCluster;
  let kubectl: string;
  const namespace = libValue("NAMESPACE");

  beforeAll(async () => {
    cluster = await startCluster();
    // build.sh prints the cached binaries' directory (building them only on a fresh machine).
    kubectl = path.join((await run("bash", [path.join(root, "test/cluster/build.sh")], { maxBuffer: 64 * 1024 * 1024 })).stdout.trim(), "kubectl");
    const kubeConfig = kubeConfigFor(cluster);
    await installCustomResourceDefinitions(kubeConfig, path.join(root, "crds"));
    // The Namespace itself is in the manifest, but a dry-run creates nothing for the rest to go in.
    await createNamespace(kubeConfig, namespace);
  }, 900_000);
  afterAll(async () => {
    if (cluster) await stopCluster(cluster);
  }, 120_000);

  const dryRun = (file: string, ...extra: string[]) =>
    run(kubectl, ["--kubeconfig", cluster.kubeconfig, "apply", "--dry-run=server", "--server-side", "--field-manager=live360-kind", "-f", path.join(root, file), ...extra]);

  test("the S3 and SQS stand-ins, their credentials and the bucket job are accepted", async () => {
    const { stdout } = await dryRun("test/kind/manifests/services.yaml");
    for (const object of ["namespace/live360", "secret/live360-aws-credentials", "deployment.apps/s3", "service/s3", "configmap/sqs-config", "deployment.apps/sqs", "service/sqs", "job.batch/create-buckets"]) {
      expect(stdout).toContain(`${object} serverside-applied (server dry run)`);
    }
  });

  test("Prometheus, its pod discovery Role and its configuration are accepted", async () => {
    const { stdout } = await dryRun("test/kind/manifests/prometheus.yaml");
    for (const object of ["serviceaccount/prometheus", "role.rbac.authorization.k8s.io/prometheus", "rolebinding.rbac.authorization.k8s.io/prometheus", "configmap/prometheus", "deployment.apps/prometheus", "service/prometheus"]) {
      expect(stdout).toContain(`${object} serverside-applied (server dry run)`);
    }
  });

  test("examples/liveevent.yaml is accepted in the kind namespace", async () => {
    const { stdout } = await dryRun("examples/liveevent.yaml", "--namespace", namespace);
    expect(stdout).toContain("liveevent.live360.io/demo serverside-applied (server dry run)");
  });

  test("the example with small-nodes.json merged in (what up.sh applies on small nodes) is accepted", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "live360-kind-"));
    try {
      const { stdout: patched } = await run(kubectl, [
        "patch", "--local", "-f", path.join(root, "examples/liveevent.yaml"), "--type", "merge", "-p", read("test/kind/small-nodes.json"), "-o", "yaml",
      ]);
      expect(patched).toContain("size: 640x320");
      await writeFile(path.join(dir, "liveevent.yaml"), patched);
      const { stdout } = await run(kubectl, ["--kubeconfig", cluster.kubeconfig, "apply", "--dry-run=server", "--server-side", "--namespace", namespace, "-f", path.join(dir, "liveevent.yaml")]);
      expect(stdout).toContain("liveevent.live360.io/demo serverside-applied (server dry run)");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("the EKS variant of the example (eks-infra/examples) is accepted too", async () => {
    const { stdout } = await dryRun("eks-infra/examples/liveevent.yaml", "--namespace", namespace);
    expect(stdout).toContain("liveevent.live360.io/demo serverside-applied (server dry run)");
  });

  test("the operator chart rendered with values.yaml is accepted, with kind's service types and stand-ins", async () => {
    const helm = (await run("bash", [path.join(root, "test/helm/build.sh")], { maxBuffer: 64 * 1024 * 1024 })).stdout.trim();
    const { stdout: rendered } = await run(helm, ["template", "live360-operator", path.join(root, "charts/live360-operator"), "--namespace", namespace, "--values", path.join(kindDir, "values.yaml")], { maxBuffer: 16 * 1024 * 1024 });
    for (const arg of ["--rtmp-service-type=NodePort", "--edge-service-type=NodePort", "--image-pull-policy=Never", "--s3-endpoint=http://s3.live360.svc.cluster.local:7070", "--ingest-bucket=live360-ingest", "--vod-egress-bucket=live360-egress", "--aws-credentials-secret=live360-aws-credentials"]) {
      expect(rendered).toContain(arg);
    }
    // The operator itself signs its SQS calls with the stand-ins' keys.
    const deployment = parseAllDocuments(rendered).map((d) => d.toJS() as { kind?: string; spec?: { template: { spec: { containers: { env?: unknown[] }[] } } } }).find((m) => m?.kind === "Deployment");
    expect(deployment?.spec?.template.spec.containers[0]?.env).toEqual(
      expect.arrayContaining([
        { name: "AWS_ACCESS_KEY_ID", valueFrom: { secretKeyRef: { name: "live360-aws-credentials", key: "AWS_ACCESS_KEY_ID" } } },
        { name: "AWS_SECRET_ACCESS_KEY", valueFrom: { secretKeyRef: { name: "live360-aws-credentials", key: "AWS_SECRET_ACCESS_KEY" } } },
      ]),
    );
    const dir = await mkdtemp(path.join(os.tmpdir(), "live360-kind-"));
    try {
      await writeFile(path.join(dir, "operator.yaml"), rendered);
      const { stdout } = await run(kubectl, ["--kubeconfig", cluster.kubeconfig, "apply", "--dry-run=server", "--server-side", "--field-manager=live360-kind", "--namespace", namespace, "-f", path.join(dir, "operator.yaml")]);
      expect(stdout).toContain("deployment.apps/live360-operator serverside-applied (server dry run)");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 900_000);

  test("an invalid manifest is refused, so the dry-run is a real check", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "live360-kind-"));
    const file = path.join(dir, "broken.yaml");
    // A Deployment without a selector: only the API server's validation can refuse it.
    await writeFile(file, "apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: broken, namespace: live360 }\nspec:\n  template:\n    metadata: { labels: { a: b } }\n    spec: { containers: [{ name: c, image: x }] }\n");
    const failure = await run(kubectl, ["--kubeconfig", cluster.kubeconfig, "apply", "--dry-run=server", "--server-side", "-f", file]).then(
      () => undefined,
      (err: { stderr: string }) => err,
    );
    await rm(dir, { recursive: true, force: true });
    expect(failure?.stderr).toContain("spec.selector: Required value");
  });
});
