import { createHash } from "node:crypto";
import type { KubernetesObject } from "@kubernetes/client-node";
import { App, Chart } from "cdk8s";
import { k8s } from "cdk8s-plus-34";
import { DRAIN_FLAG_FILE, SIGNING_KEYS_ENV, STUB_STATUS_PATH, blockingReadTimeoutMsFor, insightSpoolDir, renderEdgeFiles, resolveEdgeConfig, type EdgeConfig } from "@live360/edge";
import { ladderFlag, type ActiveOrigin, type LiveEvent, type LiveEventSpec, type Resources } from "../api/v1alpha1/index.js";
import { ORIGIN_VERIFY_SECRET_KEY, type OperatorConfig } from "../config.js";
import { CONTAINER_SECURITY, HLS_SECRET_FILE, POD_DEFAULTS, awsCredentialsEnv, hlsEncryptionMount, placement, resourceRequirements } from "../pod-spec.js";
import {
  EDGE_HTTP_PORT,
  EDGE_INSIGHT_PORT,
  EDGE_LL_HLS_RELAY_PORT,
  EDGE_METRICS_PORT,
  EDGE_SERVICE_PORT,
  INGEST_TLS_SERVICE_PORT,
  ORIGIN_HTTP_PORT,
  ORIGIN_RTMPS_PORT,
  ORIGIN_RTMP_PORT,
  childNames,
  objectLabels,
  ownerReference,
  selectorLabels,
  serviceHost,
  type Component,
} from "./names.js";

/**
 * The desired state of a LiveEvent: every child object, as plain manifests. Pure: the same event
 * and operator configuration always give the same manifests (golden-file tested), and nothing here
 * reads the cluster; the reconciler applies the result and prunes what is no longer in it.
 *
 * Built with cdk8s on cdk8s-plus-34's Kubernetes 1.34 API types. The L1 `k8s.Kube*` constructs are
 * used rather than cdk8s-plus's higher-level ones, whose opinions fight a reconciler that needs
 * exact, stable manifests: generated `cdk8s.io/metadata.addr` labels inside Service selectors,
 * default CPU/memory limits, `imagePullPolicy: Always`, and no topology spread constraints or
 * pass-through resource quantities.
 */

/** EC2 Spot reclaims an instance 2 minutes after its notice; every pod must be gone well before. */
export const SPOT_NOTICE_SECONDS = 120;

/**
 * Origin shutdown: the preStop pause lets the Service endpoints drop the pod while it still serves
 * normally, then SIGTERM makes the origin refuse publishers (encoders roll over to the backup),
 * end its playlists and finalize and upload the recording within --shutdown-grace.
 */
const ORIGIN_PRESTOP_SECONDS = 5;
const ORIGIN_SHUTDOWN_GRACE_SECONDS = 90;
export const ORIGIN_TERMINATION_GRACE_SECONDS = ORIGIN_PRESTOP_SECONDS + ORIGIN_SHUTDOWN_GRACE_SECONDS + 5;

/**
 * Edge shutdown: the preStop hook raises the drain flag (readiness fails, load balancers and the
 * Service stop sending viewers) and waits the drain delay; then the image's stop signal (SIGQUIT)
 * lets nginx finish in-flight downloads within the rest of the grace period.
 */
const EDGE_DRAIN_DELAY_SECONDS = 10;
const EDGE_SHUTDOWN_GRACE_SECONDS = 40;
export const EDGE_TERMINATION_GRACE_SECONDS = EDGE_SHUTDOWN_GRACE_SECONDS + 5;

const DATA_DIR = "/var/lib/live360";
/** The origin's volume claim template; its claims are named `recordings-<event>-origin-<role>-0`. */
export const RECORDINGS_VOLUME = "recordings";
/** The group of the origin image's user (workloads/origin/Dockerfile: USER 1000:1000). */
const ORIGIN_GROUP_ID = 1000;
const KEYS_DIR = "/etc/live360/keys";
/** Where the ingest's kubernetes.io/tls Secret is mounted. */
const TLS_DIR = "/etc/live360/tls";
/** The Secret's key is projected to this one file, whatever the key is called. */
export const PUBLISH_KEYS_FILE = `${KEYS_DIR}/keys`;
const EDGE_CONFIG_DIR = "/etc/live360/edge";
const EDGE_WORK_DIR = "/var/cache/live360-edge";
/**
 * The insight spool (nginx-conf.ts insightSpoolDir) on its own volume in both the nginx and the
 * sidecar container: an emptyDir's root is world-writable, so the sidecar may remove the files
 * nginx's user wrote whatever the two images' users are.
 */
const INSIGHT_SPOOL_MOUNT: k8s.VolumeMount = { name: "insight-spool", mountPath: insightSpoolDir({ workDir: EDGE_WORK_DIR }) };
/** The edge NLB's TLS listener (edgeCdn.tlsCertificateArn). */
const EDGE_TLS_SERVICE_PORT = 443;
/** The origin-verify Secret's directory: mounted whole (not subPath) so that kubelet's updates reach it. */
const EDGE_ORIGIN_VERIFY_DIR = "/etc/live360/origin-verify";
/** nginx's group in the edge image (USER 101:101, as the official nginx image's nginx user). */
const EDGE_GROUP_ID = 101;
const EDGE_ORIGIN_VERIFY_FILE = `${EDGE_ORIGIN_VERIFY_DIR}/${ORIGIN_VERIFY_SECRET_KEY}`;

const ZONE = "topology.kubernetes.io/zone";
const HOSTNAME = "kubernetes.io/hostname";

/** AWS Load Balancer Controller: an internet-facing NLB per LoadBalancer Service (RTMP, edge), straight to the pod IPs. */
const NLB_ANNOTATIONS = {
  "service.beta.kubernetes.io/aws-load-balancer-type": "external",
  "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
  "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
};

const TEST_SOURCE_RESOURCES: Resources = { requests: { cpu: "500m", memory: "256Mi" }, limits: { memory: "512Mi" } };
/**
 * The edge's sidecar: answers a scrape and folds the viewers' CMCD and beacons. Its memory is
 * bounded by the insight limits (100 000 sessions at most: 60 MB measured), plus Node's own (≈ 50 MB).
 */
const EDGE_METRICS_RESOURCES: Resources = { requests: { cpu: "20m", memory: "64Mi" }, limits: { memory: "192Mi" } };

interface Context {
  event: LiveEvent;
  spec: LiveEventSpec;
  name: string;
  namespace: string;
  names: ReturnType<typeof childNames>;
  config: OperatorConfig;
  chart: Chart;
}

export function liveEventResources(event: LiveEvent, config: OperatorConfig): KubernetesObject[] {
  const name = event.metadata.name ?? "";
  const namespace = event.metadata.namespace ?? "default";
  const chart = new Chart(new App(), "liveevent", { namespace, disableResourceNameHashes: true });
  const ctx: Context = { event, spec: event.spec, name, namespace, names: childNames(name), config, chart };

  const roles: ActiveOrigin[] = ctx.spec.origin.redundancy === "primaryBackup" ? ["primary", "backup"] : ["primary"];
  for (const role of roles) origin(ctx, role, roles);
  if (roles.length > 1) originsDisruptionBudget(ctx);
  if (config.networkPolicy.enabled) originsNetworkPolicy(ctx);
  edge(ctx, roles);
  if (ctx.spec.testSource.enabled) testSource(ctx, roles);
  return chart.toJson() as KubernetesObject[];
}

function metadata(ctx: Context, name: string, component: Component, role?: ActiveOrigin, annotations?: Record<string, string>): k8s.ObjectMeta {
  return {
    name,
    namespace: ctx.namespace,
    labels: objectLabels(ctx.name, component, role),
    ...(annotations ? { annotations } : {}),
    ownerReferences: [ownerReference(ctx.event) as k8s.OwnerReference],
  };
}

/** An origin's in-cluster HTTP base URL (the edge's upstream, the other origin's peer). */
function originHttpUrl(ctx: Pick<Context, "names" | "namespace" | "config">, role: ActiveOrigin): string {
  return `http://${serviceHost(ctx.names.origin(role), ctx.namespace, ctx.config)}:${ORIGIN_HTTP_PORT}`;
}

function originArgs(ctx: Context, role: ActiveOrigin, roles: readonly ActiveOrigin[]): string[] {
  const { spec, config } = ctx;
  const args = [
    "origin",
    "--rtmp-port", String(ORIGIN_RTMP_PORT),
    "--http-port", String(ORIGIN_HTTP_PORT),
    "--data-dir", DATA_DIR,
    "--ladder", ladderFlag(spec.ladder),
    "--window", String(spec.hls.windowSegments),
    "--projection", spec.projection,
    "--shutdown-grace", String(ORIGIN_SHUTDOWN_GRACE_SECONDS),
  ];
  if (spec.hls.lowLatency) args.push("--low-latency");
  if (spec.hls.format === "cmaf") args.push("--hls-format", "cmaf", "--part-target", String(spec.hls.partTargetMs / 1000), "--part-hold-back", String(spec.hls.partHoldBackParts));
  // Primary and backup number segments alike (the edge fails over by name); the backup waits
  // for the primary's numbering when both start together.
  for (const peer of roles.filter((r) => r !== role)) args.push("--peer", originHttpUrl(ctx, peer));
  if (role === "backup") args.push("--wait-for-peers");
  // The event's stream only: whoever reaches the ingest cannot start other streams (and their
  // FFmpeg ladders) on the event's origins, keys or not.
  args.push("--allow-stream", spec.streamName);
  if (publishKeySource(ctx)) args.push("--publish-keys-file", PUBLISH_KEYS_FILE);
  args.push(...hlsEncryptionMount(spec.hls.encryption).args);
  if (spec.ingest.tls) args.push("--rtmps-port", String(ORIGIN_RTMPS_PORT), "--tls-cert-file", `${TLS_DIR}/tls.crt`, "--tls-key-file", `${TLS_DIR}/tls.key`);
  const recording = recordingTarget(spec, config);
  if (recording) {
    args.push("--ingest-bucket", recording.bucket, "--queue-url", recording.queueUrl);
    const { s3Endpoint, sqsEndpoint, region } = config.recording;
    if (s3Endpoint) args.push("--s3-endpoint", s3Endpoint);
    if (sqsEndpoint) args.push("--sqs-endpoint", sqsEndpoint);
    if (region) args.push("--region", region);
  }
  return args;
}

/**
 * Where the origin hands recordings: the event's own bucket and queue, else the operator's. Without
 * both, recordings stay in the origin's scratch volume (the status reports it).
 */
export function recordingTarget(spec: LiveEventSpec, config: OperatorConfig): { bucket: string; queueUrl: string } | undefined {
  if (!spec.recording.enabled) return undefined;
  const bucket = spec.recording.bucket ?? config.recording.bucket;
  const queueUrl = spec.recording.queueUrl ?? config.recording.queueUrl;
  return bucket !== undefined && queueUrl !== undefined ? { bucket, queueUrl } : undefined;
}

function origin(ctx: Context, role: ActiveOrigin, roles: readonly ActiveOrigin[]): void {
  const { spec, names, config, chart } = ctx;
  const selector = selectorLabels(ctx.name, "origin", role);
  const bothOrigins = selectorLabels(ctx.name, "origin");
  const rules = placement(spec.origin, config.nodePools.origin, config.nodePools.require);

  new k8s.KubeService(chart, `origin-${role}-hls`, {
    metadata: metadata(ctx, names.origin(role), "origin", role),
    spec: {
      type: "ClusterIP",
      selector,
      ports: [{ name: "http", port: ORIGIN_HTTP_PORT, targetPort: k8s.IntOrString.fromString("http"), protocol: "TCP" }],
    },
  });

  const loadBalancer = config.rtmpServiceType === "LoadBalancer";
  const tls = spec.ingest.tls;
  new k8s.KubeService(chart, `origin-${role}-rtmp`, {
    metadata: metadata(ctx, names.originRtmp(role), "origin", role, loadBalancer ? NLB_ANNOTATIONS : undefined),
    spec: {
      type: config.rtmpServiceType,
      selector,
      ports: [
        // With TLS, plain RTMP only when asked for: it would send the key in clear text.
        ...(!tls || tls.allowPlainRtmp ? [{ name: "rtmp", port: ORIGIN_RTMP_PORT, targetPort: k8s.IntOrString.fromString("rtmp"), protocol: "TCP" }] : []),
        ...(tls ? [{ name: "rtmps", port: INGEST_TLS_SERVICE_PORT, targetPort: k8s.IntOrString.fromString("rtmps"), protocol: "TCP" }] : []),
      ],
    },
  });

  const keys = publishKeySource(ctx);
  const hlsEncryption = hlsEncryptionMount(spec.hls.encryption);
  const recordings = spec.recording.volume;
  new k8s.KubeStatefulSet(chart, `origin-${role}`, {
    metadata: metadata(ctx, names.origin(role), "origin", role),
    spec: {
      serviceName: names.origin(role),
      replicas: 1,
      selector: { matchLabels: selector },
      ...(recordings.persistent
        ? {
            volumeClaimTemplates: [
              {
                metadata: { name: RECORDINGS_VOLUME, labels: objectLabels(ctx.name, "origin", role) },
                spec: {
                  accessModes: ["ReadWriteOnce"],
                  ...(recordings.storageClassName ? { storageClassName: recordings.storageClassName } : {}),
                  resources: { requests: { storage: quantityOf(recordings.size) } },
                },
              },
            ],
            // Kept when the LiveEvent goes: a recording S3 had not taken by then is still on it, and a
            // LiveEvent of the same name adopts the claims again and delivers it (README: Operations).
            persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
          }
        : {}),
      template: {
        metadata: { labels: objectLabels(ctx.name, "origin", role) },
        spec: {
          ...POD_DEFAULTS,
          // A new volume's root belongs to root; the group lets the non-root origin write recordings there.
          securityContext: { fsGroup: ORIGIN_GROUP_ID, fsGroupChangePolicy: "OnRootMismatch" },
          // The origin uploads recordings and announces them on the queue: its account carries the AWS role.
          ...(config.originServiceAccount ? { serviceAccountName: config.originServiceAccount } : {}),
          terminationGracePeriodSeconds: ORIGIN_TERMINATION_GRACE_SECONDS,
          nodeSelector: rules.nodeSelector,
          tolerations: rules.tolerations,
          affinity: {
            nodeAffinity: rules.nodeAffinity,
            podAntiAffinity: {
              // Primary and backup on one node is no redundancy at all: never.
              requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: bothOrigins }, topologyKey: HOSTNAME }],
              preferredDuringSchedulingIgnoredDuringExecution: [
                { weight: 100, podAffinityTerm: { labelSelector: { matchLabels: bothOrigins }, topologyKey: ZONE } },
              ],
            },
          },
          // Different zones when both have room; when Spot capacity in one zone is gone, a backup in
          // the same zone (other node) beats no backup, so this is a preference, not a requirement.
          topologySpreadConstraints: [
            { maxSkew: 1, topologyKey: ZONE, whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: bothOrigins } },
          ],
          containers: [
            {
              name: "origin",
              image: config.images.origin,
              imagePullPolicy: config.imagePullPolicy,
              command: ["live360"],
              args: originArgs(ctx, role, roles),
              env: awsCredentialsEnv(config.awsCredentialsSecret),
              ports: [
                { name: "rtmp", containerPort: ORIGIN_RTMP_PORT, protocol: "TCP" },
                { name: "http", containerPort: ORIGIN_HTTP_PORT, protocol: "TCP" },
                ...(tls ? [{ name: "rtmps", containerPort: ORIGIN_RTMPS_PORT, protocol: "TCP" }] : []),
              ],
              readinessProbe: { httpGet: { path: "/readyz", port: k8s.IntOrString.fromString("http") }, periodSeconds: 5, failureThreshold: 2 },
              // Generous: a busy transcoding origin must not be restarted for a slow answer.
              livenessProbe: { httpGet: { path: "/healthz", port: k8s.IntOrString.fromString("http") }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 6 },
              lifecycle: { preStop: { sleep: { seconds: ORIGIN_PRESTOP_SECONDS } } },
              resources: resourceRequirements(spec.origin.resources),
              securityContext: CONTAINER_SECURITY,
              volumeMounts: [
                { name: "data", mountPath: DATA_DIR },
                ...(recordings.persistent ? [{ name: RECORDINGS_VOLUME, mountPath: `${DATA_DIR}/recordings` }] : []),
                ...publishKeyMounts(keys),
                ...(tls ? [{ name: "ingest-tls", mountPath: TLS_DIR, readOnly: true }] : []),
                ...hlsEncryption.volumeMounts,
              ],
            },
          ],
          volumes: [
            { name: "data", emptyDir: { sizeLimit: quantityOf(spec.origin.dataVolumeSize) } },
            ...publishKeyVolumes(keys),
            ...hlsEncryption.volumes,
            // The private key readable by the origin's group (fsGroup) only; renewals reach the files in place.
            ...(tls ? [{ name: "ingest-tls", secret: { secretName: tls.secretName, items: [{ key: "tls.crt", path: "tls.crt" }, { key: "tls.key", path: "tls.key" }], defaultMode: 0o440 } }] : []),
          ],
        },
      },
    },
  });
}

/** The Secret key holding the publish keys (`<stream>=<secret>` lines) of one event. */
export interface PublishKeySource {
  name: string;
  key: string;
  /** Made by the operator (`<event>-publish-key`), not named in the spec. */
  generated: boolean;
}

/** The key the generated Secret holds its `<stream>=<secret>` line under, as the user's would. */
export const GENERATED_PUBLISH_KEY = "keys";

/**
 * Where the event's publish key is: the Secret the spec names, else the one the operator
 * generates, since the RTMP Services (LoadBalancer or NodePort) are reachable from outside the
 * cluster and an open ingest would let anyone take the stream over. Undefined only when the spec
 * opens publishing explicitly.
 */
export function publishKeySource(ctx: Pick<Context, "spec" | "names">): PublishKeySource | undefined {
  const { spec, names } = ctx;
  if (spec.publishKeySecretRef) return { ...spec.publishKeySecretRef, generated: false };
  if (spec.publishing.open) return undefined;
  return { name: names.publishKey, key: GENERATED_PUBLISH_KEY, generated: true };
}

/** The generated publish key Secret, with a key the reconciler drew (this stays pure). */
export function generatedPublishKeySecret(event: LiveEvent, secretValue: string): KubernetesObject {
  const name = event.metadata.name ?? "";
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: childNames(name).publishKey,
      namespace: event.metadata.namespace ?? "default",
      labels: objectLabels(name, "origin"),
      ownerReferences: [ownerReference(event)],
    },
    type: "Opaque",
    stringData: { [GENERATED_PUBLISH_KEY]: `${event.spec.streamName}=${secretValue}\n` },
  } as KubernetesObject;
}

const publishKeyVolumes = (keys: PublishKeySource | undefined): k8s.Volume[] =>
  keys ? [{ name: "publish-keys", secret: { secretName: keys.name, items: [{ key: keys.key, path: "keys" }], defaultMode: 0o444 } }] : [];

const publishKeyMounts = (keys: PublishKeySource | undefined): k8s.VolumeMount[] =>
  keys ? [{ name: "publish-keys", mountPath: KEYS_DIR, readOnly: true }] : [];

function quantityOf(value: string | number): k8s.Quantity {
  return typeof value === "number" ? k8s.Quantity.fromNumber(value) : k8s.Quantity.fromString(value);
}

/** A drain (node upgrade, Spot rebalance) may take one origin at a time, never both. */
function originsDisruptionBudget(ctx: Context): void {
  new k8s.KubePodDisruptionBudget(ctx.chart, "origins-pdb", {
    metadata: metadata(ctx, ctx.names.origins, "origin"),
    spec: {
      maxUnavailable: k8s.IntOrString.fromNumber(1),
      selector: { matchLabels: selectorLabels(ctx.name, "origin") },
      // A broken origin must not block draining its node: only healthy pods count against the budget.
      unhealthyPodEvictionPolicy: "AlwaysAllow",
    },
  });
}

/** The operator's pods, as the Helm chart labels them (charts/live360-operator: selectorLabels). */
export const OPERATOR_POD_LABELS = { "app.kubernetes.io/name": "live360-operator" } as const;
/** Every namespace carries its name in this label (Kubernetes ≥ 1.22), so a policy can select one by name. */
const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

/**
 * The origins' HTTP port serves HLS to the edge, /stat to the operator and the other origin, and
 * /metrics to Prometheus: nobody else in the cluster needs it, and /stat tells who publishes.
 * RTMP stays open to all: encoders publish from anywhere, and the key and allowed stream guard it.
 * Kubelet probes come from the node, which enforcing CNIs let through.
 */
function originsNetworkPolicy(ctx: Context): void {
  const { config, names } = ctx;
  const inNamespace = (namespace: string) => ({ namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: namespace } } });
  const { operatorNamespace, metricsNamespaces } = config.networkPolicy;
  new k8s.KubeNetworkPolicy(ctx.chart, "origins-policy", {
    metadata: metadata(ctx, names.originsPolicy, "origin"),
    spec: {
      podSelector: { matchLabels: selectorLabels(ctx.name, "origin") },
      policyTypes: ["Ingress"],
      ingress: [
        {
          ports: [
            { protocol: "TCP", port: k8s.IntOrString.fromNumber(ORIGIN_RTMP_PORT) },
            ...(ctx.spec.ingest.tls ? [{ protocol: "TCP", port: k8s.IntOrString.fromNumber(ORIGIN_RTMPS_PORT) }] : []),
          ],
        },
        {
          from: [
            { podSelector: { matchLabels: selectorLabels(ctx.name, "edge") } },
            { podSelector: { matchLabels: selectorLabels(ctx.name, "origin") } },
            ...(operatorNamespace ? [{ ...inNamespace(operatorNamespace), podSelector: { matchLabels: { ...OPERATOR_POD_LABELS } } }] : []),
            ...metricsNamespaces.map(inNamespace),
          ],
          ports: [{ protocol: "TCP", port: k8s.IntOrString.fromNumber(ORIGIN_HTTP_PORT) }],
        },
      ],
    },
  });
}

/** The edge's nginx configuration: both origins by Service name, primary first. */
export function edgeConfig(ctx: Pick<Context, "spec" | "names" | "namespace" | "config">, roles: readonly ActiveOrigin[]): EdgeConfig {
  return resolveEdgeConfig({
    origins: roles.map((role) => originHttpUrl(ctx, role)),
    listenPort: EDGE_HTTP_PORT,
    // Viewer insight goes to the metrics sidecar in the same pod (its --insight-port).
    ...(ctx.config.edgeInsight ? { insightPort: EDGE_INSIGHT_PORT } : {}),
    workDir: EDGE_WORK_DIR,
    cache: { dir: `${EDGE_WORK_DIR}/cache`, maxSizeMegabytes: ctx.spec.edge.cacheSizeMegabytes },
    // One worker per requested core: nginx's `auto` would count the node's cores, not the pod's share.
    workerProcesses: Math.max(1, Math.ceil(cpuCores(ctx.spec.edge.resources.requests?.cpu) ?? 1)),
    accessLog: "stdout",
    // LL-HLS: blocking reloads and held parts wait about a part; longer parts, a longer wait. They
    // wait in the sidecar's relay, which answers every viewer of a part the moment it exists
    // (nginx's cache lock would look again only every 500 ms).
    ...(ctx.spec.hls.format === "cmaf"
      ? { blockingPlaylistReadTimeoutMs: blockingReadTimeoutMsFor(ctx.spec.hls.partTargetMs), llHlsRelayPort: EDGE_LL_HLS_RELAY_PORT }
      : {}),
    drainDelaySeconds: EDGE_DRAIN_DELAY_SECONDS,
    shutdownGraceSeconds: EDGE_SHUTDOWN_GRACE_SECONDS,
    // The secret reaches the pods from the Secret (env), never the operator or the ConfigMap.
    signedUrls: ctx.spec.playback.signing !== undefined,
    ...(ctx.spec.playback.signing ? { signingMaxLifetimeSeconds: ctx.spec.playback.signing.maxLifetimeSeconds } : {}),
    // The CDN's origin-verify values: read from the mounted Secret per request, so a rotation needs no restart.
    ...(ctx.config.edgeCdn.originVerifySecret !== undefined ? { originVerifyFile: EDGE_ORIGIN_VERIFY_FILE } : {}),
    ...(ctx.config.vodEgressOrigin !== undefined ? { vodOrigin: ctx.config.vodEgressOrigin } : {}),
    // The event's HLS secret, mounted as on the origins: its VOD assets' keys come from the edges.
    ...(edgeServesVodKeys(ctx) ? { hlsEncryptionSecretFile: HLS_SECRET_FILE } : {}),
  });
}

/** An encrypted event's edges hand out its VOD assets' keys when they serve VOD at all. */
const edgeServesVodKeys = (ctx: Pick<Context, "spec" | "config">): boolean => ctx.spec.hls.encryption !== undefined && ctx.config.vodEgressOrigin !== undefined;

/** The signing keys, from their Secret into the environment nginx (njs) reads. */
function edgeSecretEnv(ctx: Pick<Context, "spec" | "config">): k8s.EnvVar[] {
  const env: k8s.EnvVar[] = [];
  const signing = ctx.spec.playback.signing;
  if (signing) env.push({ name: SIGNING_KEYS_ENV, valueFrom: { secretKeyRef: { name: signing.secretRef.name, key: signing.secretRef.key } } });
  return env;
}

/**
 * The edge Service's annotations: an NLB for a LoadBalancer Service, whose frontend security
 * groups (e.g. CloudFront's prefix list only) replace the controller's open-to-all default.
 */
function edgeServiceAnnotations(config: OperatorConfig): Record<string, string> | undefined {
  if (config.edgeServiceType !== "LoadBalancer") return undefined;
  const { securityGroups, tlsCertificateArn } = config.edgeCdn;
  return {
    ...NLB_ANNOTATIONS,
    ...(securityGroups.length > 0
      ? {
          "service.beta.kubernetes.io/aws-load-balancer-security-groups": securityGroups.join(","),
          // With its own groups given, the controller still opens the pods to the load balancer.
          "service.beta.kubernetes.io/aws-load-balancer-manage-backend-security-group-rules": "true",
        }
      : {}),
    // TLS ends at the NLB (ACM certificate); the hop on to the pods stays inside the VPC.
    ...(tlsCertificateArn !== undefined
      ? {
          "service.beta.kubernetes.io/aws-load-balancer-ssl-cert": tlsCertificateArn,
          "service.beta.kubernetes.io/aws-load-balancer-ssl-ports": String(EDGE_TLS_SERVICE_PORT),
          "service.beta.kubernetes.io/aws-load-balancer-ssl-negotiation-policy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
        }
      : {}),
  };
}

/** Cores in a CPU quantity ("500m" = 0.5, "2" = 2); undefined when absent or not in those forms. */
function cpuCores(cpu: string | number | undefined): number | undefined {
  if (typeof cpu === "number") return cpu;
  const match = cpu === undefined ? null : /^(\d+(?:\.\d+)?)(m?)$/.exec(cpu);
  if (!match) return undefined;
  return Number(match[1]) / (match[2] === "m" ? 1000 : 1);
}

function edge(ctx: Context, roles: readonly ActiveOrigin[]): void {
  const { spec, names, config, chart } = ctx;
  const selector = selectorLabels(ctx.name, "edge");
  const edgeConf = edgeConfig(ctx, roles);
  const files = renderEdgeFiles(edgeConf);
  // nginx does not reload a changed ConfigMap: a changed checksum rolls the pods instead.
  const checksum = createHash("sha256").update(JSON.stringify(files)).digest("hex");

  new k8s.KubeConfigMap(chart, "edge-config", { metadata: metadata(ctx, names.edge, "edge"), data: files });

  new k8s.KubeService(chart, "edge-service", {
    metadata: metadata(ctx, names.edge, "edge", undefined, edgeServiceAnnotations(config)),
    spec: {
      type: config.edgeServiceType,
      selector,
      ports: [
        { name: "http", port: EDGE_SERVICE_PORT, targetPort: k8s.IntOrString.fromString("http"), protocol: "TCP" },
        ...(config.edgeServiceType === "LoadBalancer" && config.edgeCdn.tlsCertificateArn !== undefined
          ? [{ name: "https", port: EDGE_TLS_SERVICE_PORT, targetPort: k8s.IntOrString.fromString("http"), protocol: "TCP" }]
          : []),
      ],
    },
  });

  if (config.edgeInsight) new k8s.KubeService(chart, "edge-peers", {
    metadata: metadata(ctx, names.edgePeers, "edge"),
    spec: {
      clusterIp: "None",
      selector,
      // A draining edge still holds its viewers' heatmap samples.
      publishNotReadyAddresses: true,
      ports: [{ name: "metrics", port: EDGE_METRICS_PORT, targetPort: k8s.IntOrString.fromString("metrics"), protocol: "TCP" }],
    },
  });

  const rules = placement(spec.edge, config.nodePools.edge, config.nodePools.require);
  const secretEnv = edgeSecretEnv(ctx);
  const verifySecret = config.edgeCdn.originVerifySecret;
  // Only the mount: the edge's flags are its ConfigMap (edgeConfig names HLS_SECRET_FILE).
  const vodKeys = hlsEncryptionMount(edgeServesVodKeys(ctx) ? spec.hls.encryption : undefined);
  const drainFlag = `${EDGE_WORK_DIR}/${DRAIN_FLAG_FILE}`;
  new k8s.KubeDeployment(chart, "edge", {
    metadata: metadata(ctx, names.edge, "edge"),
    spec: {
      // No replicas: the HorizontalPodAutoscaler owns the count, and an apply must not reset it.
      selector: { matchLabels: selector },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: k8s.IntOrString.fromNumber(0), maxSurge: k8s.IntOrString.fromString("25%") } },
      template: {
        metadata: {
          labels: objectLabels(ctx.name, "edge"),
          annotations: {
            "live360.io/config-sha256": checksum,
            // For Prometheus set-ups that discover pods by annotation.
            ...(config.edgeInsight ? { "prometheus.io/scrape": "true", "prometheus.io/port": String(EDGE_METRICS_PORT) } : {}),
          },
        },
        spec: {
          ...POD_DEFAULTS,
          // The HLS secret's file is readable by its group only (0440): nginx's.
          ...(vodKeys.volumes.length > 0 ? { securityContext: { fsGroup: EDGE_GROUP_ID, fsGroupChangePolicy: "OnRootMismatch" } } : {}),
          terminationGracePeriodSeconds: EDGE_TERMINATION_GRACE_SECONDS,
          nodeSelector: rules.nodeSelector,
          tolerations: rules.tolerations,
          affinity: { nodeAffinity: rules.nodeAffinity },
          topologySpreadConstraints: [
            { maxSkew: 1, topologyKey: ZONE, whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: selector } },
            { maxSkew: 1, topologyKey: HOSTNAME, whenUnsatisfiable: "ScheduleAnyway", labelSelector: { matchLabels: selector } },
          ],
          containers: [
            {
              name: "nginx",
              image: config.images.edge,
              imagePullPolicy: config.imagePullPolicy,
              // The work dir is an empty volume: create the temp directories nginx.conf names, then run nginx.
              command: ["sh", "-c", `mkdir -p ${EDGE_WORK_DIR}/tmp && exec nginx -c ${EDGE_CONFIG_DIR}/nginx.conf -g 'daemon off;'`],
              ports: [{ name: "http", containerPort: EDGE_HTTP_PORT, protocol: "TCP" }],
              ...(secretEnv.length > 0 ? { env: secretEnv } : {}),
              readinessProbe: { httpGet: { path: "/readyz", port: k8s.IntOrString.fromString("http") }, periodSeconds: 2, failureThreshold: 1 },
              livenessProbe: { httpGet: { path: "/healthz", port: k8s.IntOrString.fromString("http") }, periodSeconds: 10, failureThreshold: 3 },
              lifecycle: { preStop: { exec: { command: ["sh", "-c", `touch ${drainFlag} && sleep ${EDGE_DRAIN_DELAY_SECONDS}`] } } },
              resources: resourceRequirements(spec.edge.resources),
              securityContext: CONTAINER_SECURITY,
              volumeMounts: [
                { name: "config", mountPath: EDGE_CONFIG_DIR, readOnly: true },
                { name: "work", mountPath: EDGE_WORK_DIR },
                ...(config.edgeInsight ? [INSIGHT_SPOOL_MOUNT] : []),
                ...(verifySecret !== undefined ? [{ name: "origin-verify", mountPath: EDGE_ORIGIN_VERIFY_DIR, readOnly: true }] : []),
                ...vodKeys.volumeMounts,
              ],
            },
            ...(config.edgeInsight || edgeConf.llHlsRelayPort !== undefined ? [edgeMetricsContainer(ctx, edgeConf)] : []),
          ],
          volumes: [
            { name: "config", configMap: { name: names.edge } },
            ...(verifySecret !== undefined
              ? [{ name: "origin-verify", secret: { secretName: verifySecret, items: [{ key: ORIGIN_VERIFY_SECRET_KEY, path: ORIGIN_VERIFY_SECRET_KEY }], defaultMode: 0o444 } }]
              : []),
            ...vodKeys.volumes,
            // The cache plus room for nginx's temp files.
            { name: "work", emptyDir: { sizeLimit: k8s.Quantity.fromString(`${Math.ceil(spec.edge.cacheSizeMegabytes * 1.25)}Mi`) } },
            // nginx spools viewer insight here a file per second and the sidecar reads and removes
            // them (≈ 100 KB/s per 1000 viewers): the limit is hours of a sidecar not reading.
            ...(config.edgeInsight ? [{ name: INSIGHT_SPOOL_MOUNT.name, emptyDir: { sizeLimit: k8s.Quantity.fromString("512Mi") } }] : []),
          ],
        },
      },
    },
  });

  new k8s.KubeHorizontalPodAutoscalerV2(chart, "edge-hpa", {
    metadata: metadata(ctx, names.edge, "edge"),
    spec: {
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: names.edge },
      minReplicas: spec.edge.minReplicas,
      maxReplicas: spec.edge.maxReplicas,
      // nginx's CPU alone: the metrics sidecar's (a Node start-up, a burst of beacons) says nothing
      // about how loaded the cache tier is, and scaling on it would add and remove edges for nothing.
      metrics: [
        {
          type: "ContainerResource",
          containerResource: { name: "cpu", container: "nginx", target: { type: "Utilization", averageUtilization: spec.edge.targetCPUUtilizationPercentage } },
        },
      ],
    },
  });

  new k8s.KubePodDisruptionBudget(chart, "edge-pdb", {
    metadata: metadata(ctx, names.edge, "edge"),
    spec: {
      // A quarter at a time keeps most of the tier serving while a drained node's edges move.
      maxUnavailable: k8s.IntOrString.fromString("25%"),
      selector: { matchLabels: selector },
      unhealthyPodEvictionPolicy: "AlwaysAllow",
    },
  });
}

/** The RTMP URL inside the cluster for one origin's ingest Service: RTMPS when the event has TLS, as an outside encoder would. */
export function inClusterIngestUrl(ctx: Pick<Context, "names" | "namespace" | "config" | "spec">, role: ActiveOrigin): string {
  const host = serviceHost(ctx.names.originRtmp(role), ctx.namespace, ctx.config);
  const address = ctx.spec.ingest.tls ? `rtmps://${host}:${INGEST_TLS_SERVICE_PORT}` : `rtmp://${host}:${ORIGIN_RTMP_PORT}`;
  return `${address}/live/${ctx.spec.streamName}`;
}

function testSource(ctx: Context, roles: readonly ActiveOrigin[]): void {
  const { spec, names, config, chart } = ctx;
  const keys = publishKeySource(ctx);
  const selector = selectorLabels(ctx.name, "test-source");
  // It stands in for the encoder, which lives outside the cluster: losing an origin's node (the
  // drill the test source is for) must not also lose the encoder. So on-demand capacity is
  // preferred over the origins' Spot, and nodes without an origin of this event over the others.
  const rules = placement({ ...spec.origin, capacityType: "onDemand" });
  new k8s.KubeDeployment(chart, "test-source", {
    metadata: metadata(ctx, names.testSource, "test-source"),
    spec: {
      replicas: 1,
      selector: { matchLabels: selector },
      // Never two publishers at once: the origin keeps the first and refuses the second.
      strategy: { type: "Recreate" },
      template: {
        metadata: { labels: objectLabels(ctx.name, "test-source") },
        spec: {
          ...POD_DEFAULTS,
          nodeSelector: rules.nodeSelector,
          tolerations: rules.tolerations,
          affinity: {
            nodeAffinity: rules.nodeAffinity,
            podAntiAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [
                { weight: 100, podAffinityTerm: { labelSelector: { matchLabels: selectorLabels(ctx.name, "origin") }, topologyKey: HOSTNAME } },
              ],
            },
          },
          containers: [
            {
              name: "test-source",
              image: config.images.testSource,
              imagePullPolicy: config.imagePullPolicy,
              command: ["live360"],
              args: [
                "test-source",
                // Like an encoder with a backup ingest: the same output to every origin, so the
                // backup already has the stream (with the same segment names) when the edge
                // fails over to it, and each origin gets it again by itself after a restart.
                ...roles.flatMap((role) => ["--url", inClusterIngestUrl(ctx, role)]),
                "--size", spec.testSource.size,
                "--bitrate", `${spec.testSource.bitrateKbps}k`,
                // Origins cut segments on keyframes: one per segment.
                "--keyframe-interval", spec.hls.lowLatency ? "1" : "2",
                // The event's key, from the same Secret as the origins': never in the pod spec.
                ...(keys ? ["--publish-keys-file", PUBLISH_KEYS_FILE] : []),
              ],
              resources: resourceRequirements(TEST_SOURCE_RESOURCES),
              securityContext: CONTAINER_SECURITY,
              volumeMounts: publishKeyMounts(keys),
            },
          ],
          volumes: publishKeyVolumes(keys),
        },
      },
    },
  });
}

/**
 * The edge pod's sidecar (with `edgeInsight` or a CMAF event's LL-HLS relay): stub_status
 * metrics, viewer insight, the relay — nginx's official image has no Node.
 */
function edgeMetricsContainer(ctx: Pick<Context, "names" | "namespace" | "config">, edgeConf: EdgeConfig): k8s.Container {
  const { config, names } = ctx;
  const insightArgs = [
    "--insight-port", String(EDGE_INSIGHT_PORT),
    "--insight-dir", insightSpoolDir(edgeConf),
    "--insight-peers", `dns:${serviceHost(names.edgePeers, ctx.namespace, config)}:${EDGE_METRICS_PORT}`,
  ];
  const relayArgs = [
    "--ll-hls-relay-port", String(edgeConf.llHlsRelayPort),
    ...edgeConf.origins.flatMap((origin) => ["--origin", `http://${origin.hostPort}`]),
    "--blocking-read-timeout", String(edgeConf.blockingPlaylistReadTimeoutMs),
  ];
  return {
    name: "metrics",
    image: config.images.edgeMetrics,
    imagePullPolicy: config.imagePullPolicy,
    command: ["live360"],
    args: [
      "edge-metrics",
      "--status-url", `http://127.0.0.1:${edgeConf.statusPort}${STUB_STATUS_PATH}`,
      "--port", String(EDGE_METRICS_PORT),
      ...(config.edgeInsight ? insightArgs : []),
      ...(edgeConf.llHlsRelayPort !== undefined ? relayArgs : []),
    ],
    ports: [{ name: "metrics", containerPort: EDGE_METRICS_PORT, protocol: "TCP" }],
    // No readiness probe: a sidecar in trouble must never take the edge out of service; a hung one is restarted.
    livenessProbe: { httpGet: { path: "/metrics", port: k8s.IntOrString.fromString("metrics") }, periodSeconds: 20, timeoutSeconds: 5, failureThreshold: 3 },
    // Outlives nginx's drain, so the lines of the last requests still find it.
    lifecycle: { preStop: { exec: { command: ["sleep", String(EDGE_DRAIN_DELAY_SECONDS)] } } },
    resources: resourceRequirements(EDGE_METRICS_RESOURCES),
    securityContext: CONTAINER_SECURITY,
    ...(config.edgeInsight ? { volumeMounts: [INSIGHT_SPOOL_MOUNT] } : {}),
  };
}
