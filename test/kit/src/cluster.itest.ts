import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import {
  ApiException,
  ApiextensionsV1Api,
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type V1Node,
} from "@kubernetes/client-node";
import { kubeConfigFor, startCluster, stopCluster, type LocalCluster } from "./cluster.js";
import { waitFor } from "./wait.js";

// The first run builds Kubernetes from source (minutes on 2 shared cores); later runs start in seconds.
const startTimeoutMs = 60 * 60_000;
// Controllers, scheduler and kwok react within seconds; the margin is for a loaded machine.
const converge = { timeoutMs: 120_000, intervalMs: 250 };

function isReady(node: V1Node): boolean {
  return node.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}

describe("local control plane (test/cluster)", () => {
  let cluster: LocalCluster;
  let kc: KubeConfig;
  const namespace = "cluster-test";

  beforeAll(async () => {
    cluster = await startCluster();
    kc = kubeConfigFor(cluster);
    await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: namespace } } });
    // The service account controller creates each namespace's "default" account; pods need it.
    await waitFor(
      "the namespace's default service account",
      async () => {
        const accounts = await kc.makeApiClient(CoreV1Api).listNamespacedServiceAccount({ namespace });
        return accounts.items.some((a) => a.metadata?.name === "default");
      },
      converge,
    );
  }, startTimeoutMs);

  afterAll(async () => {
    if (cluster) await stopCluster(cluster);
  }, 60_000);

  test("has Ready Spot nodes in zones a and b and a Ready on-demand node", async () => {
    const nodes = (await kc.makeApiClient(CoreV1Api).listNode()).items;
    const summary = nodes
      .map((n) => ({
        name: n.metadata?.name,
        ready: isReady(n),
        capacityType: n.metadata?.labels?.["eks.amazonaws.com/capacityType"],
        zone: n.metadata?.labels?.["topology.kubernetes.io/zone"],
        hostname: n.metadata?.labels?.["kubernetes.io/hostname"],
      }))
      .sort((a, b) => String(a.name).localeCompare(String(b.name)));
    expect(summary).toEqual([
      { name: "on-demand-c", ready: true, capacityType: "ON_DEMAND", zone: "us-east-1c", hostname: "on-demand-c" },
      { name: "spot-a", ready: true, capacityType: "SPOT", zone: "us-east-1a", hostname: "spot-a" },
      { name: "spot-b", ready: true, capacityType: "SPOT", zone: "us-east-1b", hostname: "spot-b" },
    ]);
  });

  test("schedules a Deployment's pods onto Spot nodes, where they run and become Ready", async () => {
    const apps = kc.makeApiClient(AppsV1Api);
    const labels = { app: "spot-web" };
    await apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: "spot-web" },
        spec: {
          replicas: 4,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              // Only the scheduler reading the node labels can place these pods.
              nodeSelector: { "eks.amazonaws.com/capacityType": "SPOT" },
              containers: [{ name: "web", image: "nginx:1.27", resources: { requests: { cpu: "100m" } } }],
            },
          },
        },
      },
    });
    await waitFor(
      "4 ready replicas",
      async () => (await apps.readNamespacedDeployment({ name: "spot-web", namespace })).status?.readyReplicas === 4,
      converge,
    );
    const pods = await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace, labelSelector: "app=spot-web" });
    expect(pods.items).toHaveLength(4);
    for (const pod of pods.items) {
      expect(pod.status?.phase).toBe("Running");
      expect(["spot-a", "spot-b"]).toContain(pod.spec?.nodeName);
    }
  });

  test("runs a Job to completion", async () => {
    const batch = kc.makeApiClient(BatchV1Api);
    await batch.createNamespacedJob({
      namespace,
      body: {
        metadata: { name: "transcode" },
        spec: {
          completions: 2,
          backoffLimit: 0,
          template: {
            spec: { restartPolicy: "Never", containers: [{ name: "worker", image: "busybox:1.36" }] },
          },
        },
      },
    });
    const job = await waitFor(
      "the Job to complete",
      async () => {
        const current = await batch.readNamespacedJob({ name: "transcode", namespace });
        const complete = current.status?.conditions?.some((c) => c.type === "Complete" && c.status === "True");
        return complete ? current : undefined;
      },
      converge,
    );
    expect(job.status?.succeeded).toBe(2);
    expect(job.status?.failed ?? 0).toBe(0);
  });

  test("installs a CRD whose CEL validation rule rejects a bad object with its message", async () => {
    const group = "clustertest.live360.io";
    await kc.makeApiClient(ApiextensionsV1Api).createCustomResourceDefinition({
      body: {
        metadata: { name: `scalers.${group}` },
        spec: {
          group,
          scope: "Namespaced",
          names: { plural: "scalers", singular: "scaler", kind: "Scaler" },
          versions: [
            {
              name: "v1",
              served: true,
              storage: true,
              schema: {
                openAPIV3Schema: {
                  type: "object",
                  properties: {
                    spec: {
                      type: "object",
                      required: ["minReplicas", "maxReplicas"],
                      properties: {
                        minReplicas: { type: "integer", minimum: 0 },
                        maxReplicas: { type: "integer", minimum: 1 },
                      },
                      x_kubernetes_validations: [
                        { rule: "self.minReplicas <= self.maxReplicas", message: "maxReplicas must be >= minReplicas" },
                      ],
                    },
                  },
                },
              },
            },
          ],
        },
      },
    });
    const objects = kc.makeApiClient(CustomObjectsApi);
    const create = (name: string, minReplicas: number, maxReplicas: number): Promise<object> =>
      objects.createNamespacedCustomObject({
        group,
        version: "v1",
        namespace,
        plural: "scalers",
        body: { apiVersion: `${group}/v1`, kind: "Scaler", metadata: { name }, spec: { minReplicas, maxReplicas } },
      });

    // The resource is served only once the CRD is established; until then creates return 404.
    await waitFor("the CRD to accept a valid object", () => create("good", 1, 3), converge);
    const rejection = await create("bad", 5, 2).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(rejection).toBeInstanceOf(ApiException);
    const { code, body } = rejection as ApiException<string>;
    expect(code).toBe(422);
    const status = JSON.parse(body) as { message: string; details: { causes: { field: string }[] } };
    expect(status.message).toContain("maxReplicas must be >= minReplicas");
    expect(status.details.causes.map((cause) => cause.field)).toEqual(["spec"]);
  });
});
