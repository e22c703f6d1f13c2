import { Command, Option } from "commander";
import { createLogger, parseNumberFlag } from "@live360/core";
import {
  DEFAULT_LEASE,
  DEFAULT_METRICS_PORT,
  DEFAULT_OPERATOR_CONFIG,
  EDGE_SERVICE_TYPES,
  IMAGE_PULL_POLICIES,
  RTMP_SERVICE_TYPES,
  resolveOperatorConfig,
  resolveOperatorRunConfig,
  type OperatorConfig,
  type OperatorRunConfig,
} from "@live360/operator/settings";
import { closeOnSignal } from "./lifecycle.js";
import { addServiceEndpointOptions, type ServiceEndpointFlags } from "./origin-options.js";
import { addVodJobOptions, vodJobSettingsFromFlags, type VodJobFlags } from "./vod-job-options.js";

/** Raw flag values as commander hands them over (strings until validated). */
interface OperatorFlags extends ServiceEndpointFlags, VodJobFlags {
  kubeconfig?: string;
  namespace: string[];
  leaderElect?: boolean;
  leaderElectionNamespace?: string;
  leaderElectionId: string;
  leaseDuration: string;
  renewDeadline: string;
  retryPeriod: string;
  identity?: string;
  metricsPort: string;
  bind: string;
  workers: string;
  statPollInterval: string;
  resyncInterval: string;
  originImage?: string;
  edgeImage?: string;
  testSourceImage?: string;
  vodWorkerImage?: string;
  edgeMetricsImage?: string;
  imagePullPolicy: OperatorConfig["imagePullPolicy"];
  rtmpServiceType: OperatorConfig["rtmpServiceType"];
  edgeServiceType: OperatorConfig["edgeServiceType"];
  edgeInsight?: boolean;
  vodEgressOrigin?: string;
  clusterDomain: string;
  originServiceAccount?: string;
  awsCredentialsSecret?: string;
  originNodePool: string;
  edgeNodePool: string;
  vodNodePool: string;
  requireNodePools?: boolean;
  ingestBucket?: string;
  queueUrl?: string;
  /** false with --no-network-policy. */
  networkPolicy: boolean;
  metricsNamespace: string[];
  edgeOriginVerifySecret?: string;
  edgeOriginVerifyFrom?: string;
  edgeOriginVerifyRefresh: string;
  secretsManagerEndpoint?: string;
  edgeTlsCertificateArn?: string;
  edgeSecurityGroup: string[];
}

/** --namespace a --namespace b, or --namespace a,b (any repeatable list flag). */
const collectCommaSeparated = (value: string, previous: string[]): string[] => [...previous, ...value.split(",").map((ns) => ns.trim()).filter(Boolean)];

export function runConfigFromFlags(flags: OperatorFlags): OperatorRunConfig {
  return resolveOperatorRunConfig({
    namespaces: flags.namespace,
    identity: flags.identity,
    leaderElect: flags.leaderElect ?? false,
    leaderElectionNamespace: flags.leaderElectionNamespace,
    leaderElectionId: flags.leaderElectionId,
    leaseDurationSeconds: parseNumberFlag("--lease-duration", flags.leaseDuration),
    renewDeadlineSeconds: parseNumberFlag("--renew-deadline", flags.renewDeadline),
    retryPeriodSeconds: parseNumberFlag("--retry-period", flags.retryPeriod),
    metricsPort: parseNumberFlag("--metrics-port", flags.metricsPort),
    bindAddress: flags.bind,
    workers: parseNumberFlag("--workers", flags.workers),
    statPollIntervalSeconds: parseNumberFlag("--stat-poll-interval", flags.statPollInterval),
    resyncIntervalSeconds: parseNumberFlag("--resync-interval", flags.resyncInterval),
  });
}

export function operatorConfigFromFlags(flags: OperatorFlags): OperatorConfig {
  return resolveOperatorConfig({
    images: { origin: flags.originImage, edge: flags.edgeImage, edgeMetrics: flags.edgeMetricsImage, testSource: flags.testSourceImage, vodWorker: flags.vodWorkerImage },
    imagePullPolicy: flags.imagePullPolicy,
    rtmpServiceType: flags.rtmpServiceType,
    edgeServiceType: flags.edgeServiceType,
    edgeInsight: flags.edgeInsight !== false,
    vodEgressOrigin: flags.vodEgressOrigin || undefined,
    clusterDomain: flags.clusterDomain,
    originServiceAccount: flags.originServiceAccount,
    awsCredentialsSecret: flags.awsCredentialsSecret,
    // An empty pool name turns pool placement off for that workload.
    nodePools: { origin: flags.originNodePool || undefined, edge: flags.edgeNodePool || undefined, vod: flags.vodNodePool || undefined, require: flags.requireNodePools ?? false },
    recording: { bucket: flags.ingestBucket, queueUrl: flags.queueUrl, s3Endpoint: flags.s3Endpoint, sqsEndpoint: flags.sqsEndpoint, region: flags.region },
    networkPolicy: { enabled: flags.networkPolicy, operatorNamespace: process.env.POD_NAMESPACE || undefined, metricsNamespaces: flags.metricsNamespace },
    edgeCdn: {
      originVerifySecret: flags.edgeOriginVerifySecret || undefined,
      originVerifyFrom: flags.edgeOriginVerifyFrom || undefined,
      originVerifyRefreshSeconds: parseNumberFlag("--edge-origin-verify-refresh", flags.edgeOriginVerifyRefresh),
      secretsManagerEndpoint: flags.secretsManagerEndpoint || undefined,
      tlsCertificateArn: flags.edgeTlsCertificateArn || undefined,
      securityGroups: flags.edgeSecurityGroup,
    },
  });
}

export function operatorCommand(): Command {
  const d = DEFAULT_OPERATOR_CONFIG;
  const command = new Command("operator")
    .description(
      "Kubernetes operator: reconciles LiveEvents into origins, edges, autoscalers and disruption budgets, and VodJobs (also made from the VOD queue, --queue-url) into worker Jobs (server-side apply, field manager live360-operator); leader election on a Lease for several replicas; /metrics, /healthz, /readyz",
    )
    .option("--kubeconfig <file>", "kubeconfig to use (default: KUBECONFIG, ~/.kube/config, or the in-cluster service account)")
    .option("--namespace <names>", "watch only these namespaces (repeatable or comma-separated; default: all)", collectCommaSeparated, [])
    .option("--leader-elect", "campaign for a Lease and reconcile only while holding it (run 2 replicas for fast failover)")
    .option("--leader-election-namespace <ns>", "namespace of the Lease (default: POD_NAMESPACE, else default)")
    .option("--leader-election-id <name>", "name of the Lease", DEFAULT_LEASE.name)
    .option("--lease-duration <seconds>", "how long a lease lasts without renewal; a standby takes over after this", String(DEFAULT_LEASE.durationSeconds))
    .option("--renew-deadline <seconds>", "a leader that cannot renew within this steps down (< --lease-duration)", String(DEFAULT_LEASE.renewDeadlineSeconds))
    .option("--retry-period <seconds>", "pause between lease attempts (< --renew-deadline)", String(DEFAULT_LEASE.retryPeriodSeconds))
    .option("--identity <id>", "this replica's name in the Lease and in events (default: host name + random suffix)")
    .option("--metrics-port <port>", "port for /metrics, /healthz and /readyz (0: none)", String(DEFAULT_METRICS_PORT))
    .option("--bind <address>", "address the metrics port listens on", "0.0.0.0")
    .option("--workers <n>", "objects reconciled in parallel", "4")
    .option("--stat-poll-interval <seconds>", "how often each event's origins' /stat is read for its status", "10")
    .option("--resync-interval <seconds>", "every object is reconciled again this often", "600")
    .option("--origin-image <ref>", `origin image (default ${d.images.origin})`)
    .option("--edge-image <ref>", `edge image (default ${d.images.edge})`)
    .option("--test-source-image <ref>", `test source image (default ${d.images.testSource})`)
    .option("--vod-worker-image <ref>", `VOD worker image (default ${d.images.vodWorker})`)
    .option("--edge-metrics-image <ref>", `the edge pods' metrics and viewer-insight sidecar: an image with the live360 CLI (default ${d.images.edgeMetrics})`)
    .addOption(new Option("--image-pull-policy <policy>", "pull policy of every workload container").choices(IMAGE_PULL_POLICIES).default(d.imagePullPolicy))
    .addOption(
      new Option("--rtmp-service-type <type>", "origins' RTMP Services: LoadBalancer (an NLB each on EKS) or NodePort (kind, bare metal)")
        .choices(RTMP_SERVICE_TYPES)
        .default(d.rtmpServiceType),
    )
    .addOption(new Option("--edge-service-type <type>", "the edge Service viewers or the CDN reach").choices(EDGE_SERVICE_TYPES).default(d.edgeServiceType))
    .option("--no-edge-insight", "no viewer insight in the edge pods (by default a metrics sidecar folds the players' CMCD and beacons, spooled by nginx, into viewer metrics and the heatmap)")
    .option("--vod-egress-origin <url>", "the egress bucket's URL, read without credentials (https://<bucket>.s3.<region>.amazonaws.com, or http://s3:7070/<bucket> path-style): every edge serves /vod/<stream>/<stamp>/ from it, and an encrypted event's edges its assets' keys")
    .option("--cluster-domain <suffix>", "DNS suffix of Service names in URLs", d.clusterDomain)
    .option("--origin-service-account <name>", "ServiceAccount of origin pods, with AWS access to the ingest bucket and queue (eks-infra: live360-origin)")
    .option(
      "--aws-credentials-secret <name>",
      "Secret with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY that origin and VOD worker pods get as environment variables, in every namespace they run in (kind's S3/SQS stand-ins; EKS: leave unset, Pod Identity)",
    )
    .option("--origin-node-pool <name>", "live360.io/pool node pool of Spot origins: its taint tolerated, its label preferred (\"\": none)", d.nodePools.origin)
    .option("--edge-node-pool <name>", "live360.io/pool node pool of Spot edges (\"\": none)", d.nodePools.edge)
    .option("--vod-node-pool <name>", "live360.io/pool node pool of Spot VOD worker Jobs (\"\": none)", d.nodePools.vod)
    .option("--require-node-pools", "require the pools' label instead of preferring it (EKS with eks-infra's pools)")
    .option(
      "--no-network-policy",
      "make no NetworkPolicy per LiveEvent (by default one keeps the origins' HTTP port to the event's edge and origins, the operator (POD_NAMESPACE) and --metrics-namespace; it takes effect only with a CNI that enforces NetworkPolicy)",
    )
    .option("--metrics-namespace <ns>", "namespace whose pods (Prometheus) may scrape the origins' /metrics; repeatable or comma-separated", collectCommaSeparated, [])
    .option(
      "--edge-origin-verify-secret <name>",
      "CDN-only edges: a Secret in each LiveEvent's namespace whose key \"values\" holds the values the CDN sends in X-Live360-Origin-Verify (one per line; eks-infra makes live360-origin-verify); edges refuse requests without one",
    )
    .option(
      "--edge-origin-verify-from <secret>",
      "copy the origin-verify values from this AWS Secrets Manager secret (name or ARN; JSON {\"current\",\"previous\"} as eks-infra makes it, or lines) into --edge-origin-verify-secret in every namespace with LiveEvents",
    )
    .option("--edge-origin-verify-refresh <seconds>", "how often the Secrets Manager secret is read again (a rotation reaches the edges within this plus kubelet's sync)", String(d.edgeCdn.originVerifyRefreshSeconds))
    .option("--secrets-manager-endpoint <url>", "a Secrets Manager-compatible endpoint instead of AWS")
    .option("--edge-tls-certificate-arn <arn>", "ACM certificate for the edge's own DNS name (a CNAME to its NLB): the edge NLB also listens on 443 with TLS, for a CDN that reaches it over HTTPS")
    .option("--edge-security-group <id>", "frontend security group of edge load balancers (e.g. CloudFront's prefix list only); repeatable or comma-separated", collectCommaSeparated, [])
    .option("--ingest-bucket <bucket>", "default bucket for recordings of events that name none (with --queue-url)")
    .option("--queue-url <url>", "the VOD queue: origins announce recordings on it (with --ingest-bucket) and the operator turns its messages into VodJobs");
  return addVodJobOptions(addServiceEndpointOptions(command)).action(async (flags: OperatorFlags) => {
    // Everything is validated before anything connects: a bad flag is one clear line, not a crash loop.
    const run = runConfigFromFlags(flags);
    const config = operatorConfigFromFlags(flags);
    const vodJobs = vodJobSettingsFromFlags(flags, flags.queueUrl);
    // Loaded here, not at the top: every other command of this binary would pay for the Kubernetes client.
    const { loadKubeConfig, startOperator } = await import("@live360/operator");
    const kubeConfig = loadKubeConfig(flags.kubeconfig);
    const manager = await startOperator({ kubeConfig, run, config, vodJobs, logger: createLogger("operator") });
    const exit = await Promise.race([manager.done, closeOnSignal(() => manager.stop()).then(() => "stopped" as const)]);
    // A replica that lost its lease exits non-zero; Kubernetes restarts it as a standby.
    if (exit === "lostLeadership") process.exit(1);
  });
}
