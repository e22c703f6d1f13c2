import { readFileSync } from "node:fs";
import { readFile, readdir } from "node:fs/promises";
import { createServer, type IncomingMessage } from "node:http";
import { Agent, request } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { ApiextensionsV1Api, CoreV1Api, KubeConfig, loadAllYaml, type V1CustomResourceDefinition } from "@kubernetes/client-node";
import { waitFor } from "./wait.js";

/** One request that went through an ApiProxy. */
export interface RecordedRequest {
  method: string;
  /** Path and query, e.g. `/apis/apps/v1/namespaces/ns/statefulsets?watch=true&...`. */
  url: string;
}

export interface ApiProxy {
  /** A client configuration that talks to the API server through the proxy. */
  readonly kubeConfig: KubeConfig;
  /** Every request so far, in arrival order; tests may clear it (`requests.length = 0`). */
  readonly requests: RecordedRequest[];
  close(): Promise<void>;
}

/** A watch (long-running GET) rather than a read of the current state. */
export function isWatchRequest(r: RecordedRequest): boolean {
  return r.method === "GET" && /[?&]watch=(true|1)(&|$)/.test(r.url);
}

function pem(data: string | undefined, file: string | undefined): Buffer | undefined {
  if (data) return Buffer.from(data, "base64");
  return file ? readFileSync(file) : undefined;
}

/**
 * A loopback HTTP proxy in front of the API server that records every request, so a test can
 * count what a client (the operator) really sends, watches included, without trusting the
 * client's own accounting. It authenticates upstream as `target`'s current user.
 */
export async function startApiProxy(target: KubeConfig): Promise<ApiProxy> {
  const cluster = target.getCurrentCluster();
  const user = target.getCurrentUser();
  if (!cluster) throw new Error("startApiProxy: the kubeconfig has no current cluster");
  const upstream = new URL(cluster.server);
  const agent = new Agent({
    ca: pem(cluster.caData, cluster.caFile),
    cert: pem(user?.certData, user?.certFile),
    key: pem(user?.keyData, user?.keyFile),
    keepAlive: true,
  });
  const requests: RecordedRequest[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    requests.push({ method: req.method ?? "GET", url: req.url ?? "/" });
    const headers = { ...req.headers, host: upstream.host };
    const forwarded = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        // A watch may stay silent for a minute: its client must see the headers now, as from the API server.
        res.flushHeaders();
        answer.pipe(res);
      },
    );
    forwarded.on("error", (error) => {
      if (!res.headersSent) res.writeHead(502, { "Content-Type": "text/plain" });
      res.end(`proxy: ${error.message}\n`);
    });
    // A client that hangs up (a stopped watch) ends the upstream request too.
    res.on("close", () => forwarded.destroy());
    req.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    // client-node refuses plain http unless TLS verification is off; the proxy itself verifies upstream.
    clusters: [{ name: "proxy", server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: "proxy" }],
    contexts: [{ name: "proxy", cluster: "proxy", user: "proxy" }],
    currentContext: "proxy",
  });
  return {
    kubeConfig,
    requests,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}

/**
 * Creates every CustomResourceDefinition in the YAML files of `dir` (as `kubectl apply -f dir`
 * would for a fresh cluster) and waits until the API server serves each of them.
 */
export async function installCustomResourceDefinitions(kubeConfig: KubeConfig, dir: string): Promise<string[]> {
  const api = kubeConfig.makeApiClient(ApiextensionsV1Api);
  const files = (await readdir(dir)).filter((f) => f.endsWith(".yaml") || f.endsWith(".yml")).sort();
  const names: string[] = [];
  for (const file of files) {
    for (const doc of loadAllYaml(await readFile(join(dir, file), "utf8")) as V1CustomResourceDefinition[]) {
      if (doc?.kind !== "CustomResourceDefinition") continue;
      await api.createCustomResourceDefinition({ body: doc });
      names.push(doc.metadata?.name ?? "");
    }
  }
  for (const name of names) {
    await waitFor(`CRD ${name} to be established`, async () => {
      const crd = await api.readCustomResourceDefinition({ name });
      return crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True");
    }, { timeoutMs: 60_000, intervalMs: 100 });
  }
  return names;
}

/** Creates a namespace and waits for its "default" service account, without which no pod can be created. */
export async function createNamespace(kubeConfig: KubeConfig, name: string): Promise<void> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name } } });
  await waitFor(`the default service account of namespace ${name}`, async () => {
    const accounts = await core.listNamespacedServiceAccount({ namespace: name });
    return accounts.items.some((a) => a.metadata?.name === "default");
  }, { timeoutMs: 120_000, intervalMs: 100 });
}
