import { spawn } from "node:child_process";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { KubeConfig } from "@kubernetes/client-node";
import { Live360Error } from "@live360/core";

/**
 * A real Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler)
 * with kwok-simulated nodes, started by test/cluster/up.sh. The scripts are the single
 * implementation, shared with `make cluster`; this module only runs them and reads their output.
 */
export interface LocalCluster {
  /** Run directory holding certificates, etcd data, logs and pids; removed by stopCluster. */
  readonly dir: string;
  /** Admin kubeconfig (client certificate in system:masters). */
  readonly kubeconfig: string;
  /** API server URL, https on a loopback port chosen at start-up. */
  readonly server: string;
}

export interface StartClusterOptions {
  /** Run directory; a new temporary directory when omitted. */
  dir?: string;
  /** Seconds each component may take to become ready (LIVE360_CLUSTER_TIMEOUT); 180 by default. */
  readinessTimeoutSeconds?: number;
}

/** up.sh or down.sh failed; the message carries the script's output, which names the component and its log. */
export class ClusterError extends Live360Error {}

const scriptsDir = fileURLToPath(new URL("../../cluster/", import.meta.url));

/**
 * Starts the control plane, building its binaries first when the cache lacks them (that first build
 * takes minutes; later starts take seconds). Resolves once the API server is ready, the three
 * nodes (spot-a, spot-b, on-demand-c) are Ready and the default service account exists.
 */
export async function startCluster(options: StartClusterOptions = {}): Promise<LocalCluster> {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), "live360-cluster-")));
  // The owner pid arms up.sh's watchdog: should this process die without stopCluster, the cluster goes too.
  const env: NodeJS.ProcessEnv = { ...process.env, LIVE360_CLUSTER_DIR: dir, LIVE360_CLUSTER_OWNER_PID: String(process.pid) };
  if (options.readinessTimeoutSeconds !== undefined) {
    env.LIVE360_CLUSTER_TIMEOUT = String(options.readinessTimeoutSeconds);
  }
  await runScript("up.sh", env);
  const values = parseEnvFile(await readFile(join(dir, "cluster.env"), "utf8"));
  const kubeconfig = values.get("KUBECONFIG");
  const server = values.get("LIVE360_APISERVER_URL");
  if (kubeconfig === undefined || server === undefined) {
    throw new ClusterError(`${join(dir, "cluster.env")} lacks KUBECONFIG or LIVE360_APISERVER_URL`);
  }
  return { dir, kubeconfig, server };
}

/** Stops every process of the cluster and removes its run directory. Safe to call twice. */
export async function stopCluster(cluster: Pick<LocalCluster, "dir">): Promise<void> {
  await runScript("down.sh", { ...process.env, LIVE360_CLUSTER_DIR: cluster.dir });
}

/** A client configuration for the cluster's admin user. */
export function kubeConfigFor(cluster: Pick<LocalCluster, "kubeconfig">): KubeConfig {
  const config = new KubeConfig();
  config.loadFromFile(cluster.kubeconfig);
  return config;
}

function runScript(script: string, env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [join(scriptsDir, script)], { env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const collect = (chunk: Buffer): void => {
      output += chunk.toString();
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    child.on("error", (error) => reject(new ClusterError(`cannot run ${script}: ${error.message}`, { cause: error })));
    child.on("close", (code, signal) => {
      if (code === 0) resolve();
      else reject(new ClusterError(`${script} failed (${signal ?? `exit ${code}`}):\n${output.trimEnd()}`));
    });
  });
}

function parseEnvFile(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of text.split("\n")) {
    const separator = line.indexOf("=");
    if (separator > 0) values.set(line.slice(0, separator), line.slice(separator + 1));
  }
  return values;
}
