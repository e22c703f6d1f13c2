/**
 * The CDN's origin-verify values copied from Secrets Manager (a stand-in spoken to through the
 * real SDK: AWS cannot run here) into a Secret beside the LiveEvents, by the real operator against
 * a real control plane (test/cluster). The edge's side (nginx refusing requests without the header,
 * reading a rotated file) is tested with real nginx in workloads/edge.
 */
import { afterAll, beforeAll, describe, expect, jest, test } from "@jest/globals";
import { AppsV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import { createLogger } from "@live360/core";
import {
  SecretsManagerStandIn,
  createNamespace,
  installCustomResourceDefinitions,
  kubeConfigFor,
  recordAwsCalls,
  startCluster,
  stopCluster,
  unlistedPermissions,
  waitFor,
  type LocalCluster,
} from "@live360/testkit";
import { CRDS_DIR } from "../api/crd.js";
import { API_VERSION, GROUP, VERSION } from "../api/v1alpha1/index.js";
import { resolveOperatorConfig } from "../config.js";
import { withRequestTimeout } from "../engine/client.js";
import type { Manager } from "../manager.js";
import { startOperator } from "../operator.js";
import { resolveOperatorRunConfig } from "../run-config.js";
import { OriginVerifyError, SecretsManagerOriginVerify, parseOriginVerifySecret } from "./origin-verify.js";

jest.setTimeout(300_000);
const converge = { timeoutMs: Number(process.env.LIVE360_CONVERGE_MS ?? 120_000), intervalMs: 200 };
const NAMESPACE = "cdn-events";
const SECRET_ID = "live360/origin-verify";
const CURRENT = "current-0123456789abcdef0123456789abcdef";
const PREVIOUS = "previous-0123456789abcdef0123456789abcde";
const NEXT = "next-0123456789abcdef0123456789abcdef0123";
const logger = createLogger("origin-verify-test", { sink: process.env.LIVE360_TEST_LOGS ? undefined : () => {} });

describe("origin-verify secret text", () => {
  test("JSON {current, previous} as eks-infra makes it, or lines; a bad value is refused without being shown", () => {
    expect(parseOriginVerifySecret("s", JSON.stringify({ current: CURRENT, previous: "" }))).toEqual([CURRENT]);
    expect(parseOriginVerifySecret("s", JSON.stringify({ current: CURRENT, previous: PREVIOUS }))).toEqual([CURRENT, PREVIOUS]);
    expect(parseOriginVerifySecret("s", `${CURRENT}\n${PREVIOUS}\n`)).toEqual([CURRENT, PREVIOUS]);
    expect(() => parseOriginVerifySecret("s", "{not json")).toThrow(OriginVerifyError);
    expect(() => parseOriginVerifySecret("s", JSON.stringify({ previous: PREVIOUS }))).toThrow(/needs a string "current"/);
    expect(() => parseOriginVerifySecret("s", JSON.stringify({ current: "short" }))).toThrow(/s entry 1="<5 characters>": use at least 32/);
  });
});

describe("Secrets Manager → a Secret beside the LiveEvents → the edges that mount it", () => {
  let cluster: LocalCluster;
  let admin: KubeConfig;
  let secrets: SecretsManagerStandIn;
  let manager: Manager | undefined;
  const awsCalls = recordAwsCalls("operator");

  beforeAll(async () => {
    secrets = await SecretsManagerStandIn.start();
    cluster = await startCluster();
    admin = kubeConfigFor(cluster);
    await installCustomResourceDefinitions(admin, CRDS_DIR);
    await createNamespace(admin, NAMESPACE);
  }, 60 * 60_000);

  afterAll(async () => {
    awsCalls.stop();
    await manager?.stop();
    await secrets?.stop();
    if (cluster) await stopCluster(cluster);
  });

  const core = () => admin.makeApiClient(CoreV1Api);
  const mirrored = async (): Promise<string | undefined> => {
    try {
      const secret = await core().readNamespacedSecret({ namespace: NAMESPACE, name: "live360-origin-verify" });
      return Buffer.from(secret.data?.values ?? "", "base64").toString("utf8");
    } catch {
      return undefined;
    }
  };
  const edgeDeployment = async () => {
    const list = await admin.makeApiClient(AppsV1Api).listNamespacedDeployment({ namespace: NAMESPACE });
    return list.items.find((d) => d.metadata?.name === "show-edge");
  };

  test("no values (Secrets Manager hung): no edge is made; once it answers, the Secret and the edge that mounts it are", async () => {
    secrets.put(SECRET_ID, JSON.stringify({ current: CURRENT, previous: PREVIOUS }));
    secrets.hang();
    const config = resolveOperatorConfig({
      rtmpServiceType: "NodePort",
      recording: { region: "us-east-1" },
      edgeCdn: { originVerifySecret: "live360-origin-verify", originVerifyFrom: SECRET_ID, originVerifyRefreshSeconds: 10, secretsManagerEndpoint: secrets.endpoint },
    });
    process.env.AWS_ACCESS_KEY_ID = "test";
    process.env.AWS_SECRET_ACCESS_KEY = "test";
    const run = resolveOperatorRunConfig({ metricsPort: 0, identity: "origin-verify-test" });
    manager = await startOperator({ kubeConfig: withRequestTimeout(kubeConfigFor(cluster)), run, config, logger, fetchStat: async () => undefined });
    await admin.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: NAMESPACE,
      plural: "liveevents",
      body: { apiVersion: API_VERSION, kind: "LiveEvent", metadata: { name: "show" }, spec: { streamName: "show" } },
    });
    // The reconcile asks and waits; nothing is made meanwhile, so no edge could answer without the header.
    await waitFor("the operator to ask Secrets Manager", async () => (secrets.requests > 0 ? true : undefined), converge);
    expect(await mirrored()).toBeUndefined();
    expect(await edgeDeployment()).toBeUndefined();
    secrets.answer();
    await waitFor("the mirrored Secret", async () => ((await mirrored()) === `${CURRENT}\n${PREVIOUS}\n` ? true : undefined), converge);
    const edge = await waitFor("the edge Deployment", edgeDeployment, converge);
    expect(edge.spec?.template.spec?.volumes?.find((v) => v.name === "origin-verify")?.secret?.secretName).toBe("live360-origin-verify");
  });

  test("a rotation in Secrets Manager reaches the Secret at the next refresh", async () => {
    secrets.put(SECRET_ID, JSON.stringify({ current: NEXT, previous: CURRENT }));
    await waitFor("the rotated values in the Secret", async () => ((await mirrored()) === `${NEXT}\n${CURRENT}\n` ? true : undefined), converge);
  });

  test("a hung Secrets Manager ends a read with an error, not a wait", async () => {
    secrets.hang();
    const source = new SecretsManagerOriginVerify({
      secretId: SECRET_ID,
      endpoint: secrets.endpoint,
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
      timeouts: { connectMs: 500, idleMs: 500, attempts: 1 },
    });
    await expect(source.read()).rejects.toThrow(OriginVerifyError);
    secrets.answer();
    expect(await source.read()).toEqual([NEXT, CURRENT]);
  });

  test("every Secrets Manager call the operator made is a permission eks-infra grants its role (eks-infra/workload-calls.json)", async () => {
    expect(awsCalls.calls.filter((c) => c.service === "secretsmanager").length).toBeGreaterThan(0);
    expect(await unlistedPermissions("operator", awsCalls.calls, {})).toEqual([]);
  });
});
