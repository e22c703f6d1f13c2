/**
 * The kind cluster `make kind-up` made, driven the way a user drives it: kubectl, helm and docker
 * as processes (on PATH: test/kind/tools.sh puts the project's builds there). Every call has a
 * timeout, so a hung API server fails the suite instead of hanging it.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

export const CLUSTER = process.env.LIVE360_KIND_CLUSTER ?? "live360";
export const NAMESPACE = "live360";
export const EVENT = "demo";
export const STREAM = "demo";
/** kind-config.yaml maps the edge's node port here. */
export const EDGE_URL = "http://127.0.0.1:8080";
const CONTEXT = `kind-${CLUSTER}`;

export class CommandError extends Error {}

async function command(file: string, args: readonly string[], timeoutMs: number, input?: string): Promise<string> {
  try {
    const child = run(file, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
    if (input !== undefined) {
      child.child.stdin?.end(input);
    }
    return (await child).stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new CommandError(`${file} ${args.join(" ")}: ${(e.stderr ?? "").trim() || e.message}`);
  }
}

/** `kubectl --context kind-<cluster> ...` in the suite's namespace unless the args name another. */
export function kubectl(args: readonly string[], options: { timeoutMs?: number; input?: string } = {}): Promise<string> {
  return command("kubectl", ["--context", CONTEXT, "-n", NAMESPACE, ...args], options.timeoutMs ?? 60_000, options.input);
}

export async function kubectlJson<T>(args: readonly string[], timeoutMs?: number): Promise<T> {
  return JSON.parse(await kubectl([...args, "-o", "json"], { timeoutMs })) as T;
}

export function helm(args: readonly string[], timeoutMs = 300_000): Promise<string> {
  return command("helm", ["--kube-context", CONTEXT, ...args], timeoutMs);
}

export function docker(args: readonly string[], timeoutMs = 60_000): Promise<string> {
  return command("docker", args, timeoutMs);
}

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export interface LiveEvent {
  metadata: { generation: number };
  status?: {
    phase?: string;
    activeOrigin?: string;
    ingest?: { primary?: string; backup?: string; publishKeySecret?: string };
    playback?: { master?: string; player?: string };
    conditions?: Condition[];
    observedGeneration?: number;
  };
}

export interface Pod {
  metadata: { name: string; uid: string; labels?: Record<string, string>; ownerReferences?: { kind: string; name: string }[] };
  spec: {
    nodeName?: string;
    terminationGracePeriodSeconds?: number;
    securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
    volumes?: { name: string; emptyDir?: { sizeLimit?: string } }[];
    containers: {
      name: string;
      image: string;
      args?: string[];
      securityContext?: { readOnlyRootFilesystem?: boolean; runAsNonRoot?: boolean; allowPrivilegeEscalation?: boolean };
      readinessProbe?: unknown;
      livenessProbe?: unknown;
      lifecycle?: { preStop?: unknown };
    }[];
  };
  status: {
    phase: string;
    conditions?: Condition[];
    containerStatuses?: { name: string; ready: boolean; restartCount: number; containerID?: string }[];
  };
}

export interface Node {
  metadata: { name: string; labels: Record<string, string> };
  spec: { unschedulable?: boolean; taints?: { key: string; effect: string }[] };
}

export const liveEvent = (): Promise<LiveEvent> => kubectlJson<LiveEvent>(["get", "liveevent", EVENT]);

export async function pods(selector: string): Promise<Pod[]> {
  return (await kubectlJson<{ items: Pod[] }>(["get", "pods", "-l", selector])).items;
}

export async function originPod(role: "primary" | "backup"): Promise<Pod | undefined> {
  return (await pods(`live360.io/event=${EVENT},live360.io/origin-role=${role}`)).find((p) => p.status.phase === "Running" || p.status.phase === "Pending");
}

export async function nodes(): Promise<Node[]> {
  return (await kubectlJson<{ items: Node[] }>(["get", "nodes"])).items;
}

export const isReady = (pod: Pod | undefined): boolean => pod?.status.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;

/** Evicts a pod through the Eviction API, as a drain or the Node Termination Handler does (PDBs apply). */
export function evict(pod: string): Promise<string> {
  const eviction = JSON.stringify({ apiVersion: "policy/v1", kind: "Eviction", metadata: { name: pod, namespace: NAMESPACE } });
  return kubectl(["create", "--raw", `/api/v1/namespaces/${NAMESPACE}/pods/${pod}/eviction`, "-f", "-"], { input: eviction });
}

/** SIGKILLs a pod's container from inside its kind node (crictl), the way an OOM kill or a crash ends it. */
export async function killContainer(pod: Pod, container: string): Promise<void> {
  const node = pod.spec.nodeName;
  if (!node) throw new Error(`pod ${pod.metadata.name} has no node`);
  const id = (await docker(["exec", node, "crictl", "ps", "-q", "--name", `^${container}$`, "--label", `io.kubernetes.pod.name=${pod.metadata.name}`])).trim();
  if (!id) throw new Error(`no running container ${container} of ${pod.metadata.name} on ${node}`);
  const pid = (await docker(["exec", node, "crictl", "inspect", "--output", "go-template", "--template", "{{.info.pid}}", id])).trim();
  await docker(["exec", node, "kill", "-KILL", pid]);
}
