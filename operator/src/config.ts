import { readFileSync } from "node:fs";
import { ConfigError, integerInRange, matching, nonEmptyString, oneOf } from "@live360/core";
import { parseVodOriginUrl } from "@live360/edge";
import { DNS_SUBDOMAIN, DNS_SUBDOMAIN_MAX_LENGTH } from "./api/v1alpha1/common.js";

/** The workloads the operator deploys, each from its own image. */
/** `edgeMetrics` is the edge pods' sidecar (stub_status metrics and viewer insight): the operator's image, which carries the whole CLI. */
export const WORKLOADS = ["origin", "edge", "edgeMetrics", "testSource", "vodWorker"] as const;
export type Workload = (typeof WORKLOADS)[number];

/** Image repository names: `testSource` ships as `test-source`. */
const IMAGE_NAMES: Record<Workload, string> = { origin: "origin", edge: "edge", edgeMetrics: "operator", testSource: "test-source", vodWorker: "vod-worker" };

/** The operator's version, which is also the default tag of every workload image it deploys. */
export const OPERATOR_VERSION: string = (
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
).version;

export const RTMP_SERVICE_TYPES = ["LoadBalancer", "NodePort"] as const;
export const EDGE_SERVICE_TYPES = ["ClusterIP", "LoadBalancer", "NodePort"] as const;
export const IMAGE_PULL_POLICIES = ["IfNotPresent", "Always", "Never"] as const;

/** Where recordings go when a LiveEvent does not say: the cluster's VOD pipeline. */
export interface RecordingDefaults {
  bucket: string | undefined;
  queueUrl: string | undefined;
  /** S3- and SQS-compatible endpoints instead of AWS (local clusters, tests). */
  s3Endpoint: string | undefined;
  sqsEndpoint: string | undefined;
  region: string | undefined;
}

/** Everything the desired-state builders take from the operator rather than from a custom resource. */
export interface OperatorConfig {
  images: Record<Workload, string>;
  imagePullPolicy: (typeof IMAGE_PULL_POLICIES)[number];
  /** LoadBalancer (an NLB per origin through the AWS Load Balancer Controller) on EKS; NodePort on kind. */
  rtmpServiceType: (typeof RTMP_SERVICE_TYPES)[number];
  /** ClusterIP when a CDN or Ingress reaches the edge inside the cluster; LoadBalancer to expose it directly. */
  edgeServiceType: (typeof EDGE_SERVICE_TYPES)[number];
  /** DNS suffix of Service names, for URLs that work from any namespace. */
  clusterDomain: string;
  recording: RecordingDefaults;
  /**
   * ServiceAccount of the origin pods, for AWS access through EKS Pod Identity or IRSA (eks-infra
   * associates `live360-origin`); undefined: the namespace's default account (local clusters).
   */
  originServiceAccount: string | undefined;
  /**
   * A Secret with static AWS keys (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) that origin and VOD
   * worker pods take as environment variables, for S3/SQS stand-ins that have no Pod Identity (kind).
   * It must exist in every namespace those pods run in. Undefined on EKS: credentials come from the
   * pods' ServiceAccounts, and no long-lived key is handed out.
   */
  awsCredentialsSecret: string | undefined;
  /**
   * Node pools (label and NoSchedule taint `live360.io/pool=<name>`, as eks-infra makes them) for
   * Spot origins, edges and VOD workers: their pods tolerate the taint and prefer the label, or require it with
   * `requireNodePools`. Preferring by default keeps clusters without pools (kind, tests) working.
   */
  nodePools: NodePools;
  networkPolicy: NetworkPolicyConfig;
  edgeCdn: EdgeCdnConfig;
  /**
   * Viewer insight in every edge pod: nginx spools each request's CMCD and each beacon to a file
   * per second, the metrics sidecar folds them into viewer metrics and the heatmap. On by default;
   * `--no-edge-insight` leaves an edge pod with nginx alone (and no viewer metrics).
   */
  edgeInsight: boolean;
  /**
   * The egress bucket's URL (`https://<bucket>.s3.<region>.amazonaws.com`, or `http://s3:7070/<bucket>`
   * path-style), which every edge serves `/vod/<stream>/<stamp>/` from, without credentials (on EKS
   * the bucket's policy admits the VPC's S3 endpoint for vod/*). An encrypted event's edges also
   * derive its VOD assets' keys. Undefined: edges serve no VOD (CloudFront takes /vod/* from the
   * bucket itself; encrypted assets then cannot be played).
   */
  vodEgressOrigin: string | undefined;
}

/**
 * Edges that only a CDN may reach, for every LiveEvent: the whole installation sits behind one CDN
 * (eks-infra's CloudFront), so this is the operator's setting, not a LiveEvent's.
 */
export interface EdgeCdnConfig {
  /**
   * A Secret (in each LiveEvent's namespace) whose key `values` holds the origin-verify values the
   * CDN sends in X-Live360-Origin-Verify, one per line: edge pods mount it, read it per request
   * and refuse every request without one (health checks excepted). Undefined: edges answer anyone.
   */
  originVerifySecret: string | undefined;
  /**
   * A Secrets Manager secret (name or ARN) holding the values — JSON {"current", "previous"}, as
   * eks-infra makes it for CloudFront, or lines — that the operator copies into originVerifySecret
   * in every namespace with LiveEvents, and reads again every originVerifyRefreshSeconds.
   * Undefined: the Secret is the user's to make.
   */
  originVerifyFrom: string | undefined;
  originVerifyRefreshSeconds: number;
  /** A Secrets Manager-compatible endpoint instead of AWS (tests). */
  secretsManagerEndpoint: string | undefined;
  /**
   * An ACM certificate (ARN) for the edge's own DNS name: the edge NLB then also listens on 443
   * with TLS, so the CDN reaches it over HTTPS (the CDN checks the certificate against the name it
   * uses, so that name must be yours, a CNAME to the NLB). Undefined: port 80 only.
   */
  tlsCertificateArn: string | undefined;
  /**
   * Security groups for the edge's load balancer (AWS Load Balancer Controller frontend groups),
   * e.g. one admitting only CloudFront's origin-facing prefix list; empty: the controller's own.
   */
  securityGroups: readonly string[];
}

/** The key of the origin-verify Secret that holds the values. */
export const ORIGIN_VERIFY_SECRET_KEY = "values";

/**
 * The NetworkPolicy made per LiveEvent: the origins' HTTP port (HLS, /stat, /metrics) only from the
 * event's edge and origins, the operator and Prometheus; RTMP from anywhere. Takes effect only
 * with a CNI that enforces NetworkPolicy (VPC CNI with its network policy agent, Calico, Cilium).
 */
export interface NetworkPolicyConfig {
  enabled: boolean;
  /** Where the operator runs (POD_NAMESPACE): its pods read the origins' /stat. Undefined outside a cluster. */
  operatorNamespace: string | undefined;
  /** Namespaces whose pods may scrape the origins' /metrics (Prometheus); none by default. */
  metricsNamespaces: readonly string[];
}

export interface NodePools {
  origin: string | undefined;
  edge: string | undefined;
  /** VodJob worker pods (a Spot VodJob; eks-infra's `vod` pool scales from zero). */
  vod: string | undefined;
  require: boolean;
}

export type OperatorConfigInput = Partial<Omit<OperatorConfig, "images" | "recording" | "nodePools" | "networkPolicy" | "edgeCdn">> & {
  edgeCdn?: Partial<EdgeCdnConfig>;
  images?: Partial<Record<Workload, string>>;
  recording?: Partial<RecordingDefaults>;
  nodePools?: Partial<NodePools>;
  networkPolicy?: Partial<NetworkPolicyConfig>;
};

export function defaultImage(workload: Workload, version = OPERATOR_VERSION): string {
  return `ghcr.io/live360/${IMAGE_NAMES[workload]}:${version}`;
}

export const DEFAULT_OPERATOR_CONFIG: OperatorConfig = {
  images: {
    origin: defaultImage("origin"),
    edge: defaultImage("edge"),
    edgeMetrics: defaultImage("edgeMetrics"),
    testSource: defaultImage("testSource"),
    vodWorker: defaultImage("vodWorker"),
  },
  imagePullPolicy: "IfNotPresent",
  rtmpServiceType: "LoadBalancer",
  edgeServiceType: "ClusterIP",
  edgeInsight: true,
  vodEgressOrigin: undefined,
  clusterDomain: "cluster.local",
  recording: { bucket: undefined, queueUrl: undefined, s3Endpoint: undefined, sqsEndpoint: undefined, region: undefined },
  originServiceAccount: undefined,
  awsCredentialsSecret: undefined,
  nodePools: { origin: "origin", edge: "edge", vod: "vod", require: false },
  networkPolicy: { enabled: true, operatorNamespace: undefined, metricsNamespaces: [] },
  edgeCdn: { originVerifySecret: undefined, originVerifyFrom: undefined, originVerifyRefreshSeconds: 300, secretsManagerEndpoint: undefined, tlsCertificateArn: undefined, securityGroups: [] },
};

/** Kubernetes names (ServiceAccounts) and label values (pool names). */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function optionalName(field: string, value: string | undefined, fix: string): string | undefined {
  return value === undefined ? undefined : matching(field, value, DNS_LABEL, fix);
}

const SECRET_FIX = `give the name of a Secret (a DNS-1123 subdomain of at most ${DNS_SUBDOMAIN_MAX_LENGTH} characters) with keys AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, such as live360-aws-credentials (flag --aws-credentials-secret, Helm value aws.credentialsSecret)`;

function optionalSecretName(field: string, value: string | undefined, fix = SECRET_FIX): string | undefined {
  if (value === undefined) return undefined;
  if (value.length > DNS_SUBDOMAIN_MAX_LENGTH) throw new ConfigError(field, value, fix);
  return matching(field, value, DNS_SUBDOMAIN, fix);
}

const ORIGIN_VERIFY_SECRET_FIX = `give the name of a Secret (a DNS-1123 subdomain of at most ${DNS_SUBDOMAIN_MAX_LENGTH} characters) whose key "${ORIGIN_VERIFY_SECRET_KEY}" holds the CDN's origin-verify values, such as live360-origin-verify (flag --edge-origin-verify-secret, Helm value workloads.edgeCdn.originVerifySecret)`;

// registry/path:tag or @sha256:digest; no whitespace or shell characters.
const IMAGE_REFERENCE = /^[a-z0-9]([a-z0-9._:/-]*[a-z0-9])?(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$/;
const URL_FIX = "give an absolute http(s) URL";
const NAMESPACE_FIX = "give a namespace name such as monitoring";
const POOL_FIX = "give a node pool name such as origin (the live360.io/pool label value)";

function optionalUrl(field: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return matching(field, value, /^https?:\/\/[^\s]+$/, URL_FIX);
}

/** Validates the operator's configuration; every error names the field, the value and the fix. */
export function resolveOperatorConfig(input: OperatorConfigInput = {}): OperatorConfig {
  const d = DEFAULT_OPERATOR_CONFIG;
  const images = { ...d.images };
  for (const workload of WORKLOADS) {
    const image = input.images?.[workload];
    if (image !== undefined) {
      images[workload] = matching(`images.${workload}`, image, IMAGE_REFERENCE, "give an image reference such as ghcr.io/live360/origin:0.1.0");
    }
  }
  const recording = { ...d.recording, ...input.recording };
  if ((recording.bucket === undefined) !== (recording.queueUrl === undefined)) {
    throw new ConfigError(
      recording.bucket === undefined ? "recording.bucket" : "recording.queueUrl",
      undefined,
      "set both the ingest bucket and the VOD queue URL, or neither: a recording is uploaded and then announced on the queue",
    );
  }
  const pools = new Set(Object.keys(input.nodePools ?? {}));
  const originVerifySecret = optionalSecretName("edgeCdn.originVerifySecret", input.edgeCdn?.originVerifySecret, ORIGIN_VERIFY_SECRET_FIX);
  const originVerifyFrom = input.edgeCdn?.originVerifyFrom;
  if (originVerifyFrom !== undefined && originVerifySecret === undefined) {
    throw new ConfigError("edgeCdn.originVerifySecret (--edge-origin-verify-secret)", undefined, "name the Secret the values from Secrets Manager are copied into, such as live360-origin-verify");
  }
  return {
    images,
    imagePullPolicy: oneOf("imagePullPolicy", input.imagePullPolicy ?? d.imagePullPolicy, IMAGE_PULL_POLICIES),
    rtmpServiceType: oneOf("rtmpServiceType", input.rtmpServiceType ?? d.rtmpServiceType, RTMP_SERVICE_TYPES),
    edgeServiceType: oneOf("edgeServiceType", input.edgeServiceType ?? d.edgeServiceType, EDGE_SERVICE_TYPES),
    edgeInsight: input.edgeInsight ?? d.edgeInsight,
    // Checked as the edges will parse it, so a bad URL stops the operator, not every edge.
    vodEgressOrigin: input.vodEgressOrigin === undefined ? undefined : parseVodOriginUrl("vodEgressOrigin (--vod-egress-origin)", input.vodEgressOrigin).url,
    clusterDomain: matching(
      "clusterDomain",
      nonEmptyString("clusterDomain", input.clusterDomain ?? d.clusterDomain),
      /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/,
      "give a DNS suffix such as cluster.local",
    ),
    originServiceAccount: optionalName(
      "originServiceAccount",
      input.originServiceAccount ?? d.originServiceAccount,
      "give a ServiceAccount name such as live360-origin",
    ),
    awsCredentialsSecret: optionalSecretName("awsCredentialsSecret", input.awsCredentialsSecret ?? d.awsCredentialsSecret),
    nodePools: {
      // A pool given as undefined turns pool placement off; an absent one takes the default.
      origin: optionalName("nodePools.origin", pools.has("origin") ? input.nodePools?.origin : d.nodePools.origin, POOL_FIX),
      edge: optionalName("nodePools.edge", pools.has("edge") ? input.nodePools?.edge : d.nodePools.edge, POOL_FIX),
      vod: optionalName("nodePools.vod", pools.has("vod") ? input.nodePools?.vod : d.nodePools.vod, POOL_FIX),
      require: input.nodePools?.require ?? d.nodePools.require,
    },
    networkPolicy: {
      enabled: input.networkPolicy?.enabled ?? d.networkPolicy.enabled,
      operatorNamespace: optionalName("networkPolicy.operatorNamespace (POD_NAMESPACE)", input.networkPolicy?.operatorNamespace, NAMESPACE_FIX),
      metricsNamespaces: (input.networkPolicy?.metricsNamespaces ?? d.networkPolicy.metricsNamespaces).map((ns) =>
        matching("networkPolicy.metricsNamespaces (--metrics-namespace)", ns, DNS_LABEL, NAMESPACE_FIX),
      ),
    },
    edgeCdn: {
      originVerifySecret,
      originVerifyFrom:
        originVerifyFrom === undefined
          ? undefined
          : matching("edgeCdn.originVerifyFrom (--edge-origin-verify-from)", originVerifyFrom, /^[A-Za-z0-9/_+=.@:-]{1,2048}$/, "give a Secrets Manager secret name or ARN"),
      originVerifyRefreshSeconds: integerInRange(
        "edgeCdn.originVerifyRefreshSeconds (--edge-origin-verify-refresh)",
        input.edgeCdn?.originVerifyRefreshSeconds ?? d.edgeCdn.originVerifyRefreshSeconds,
        10,
        86_400,
      ),
      secretsManagerEndpoint: optionalUrl("edgeCdn.secretsManagerEndpoint (--secrets-manager-endpoint)", input.edgeCdn?.secretsManagerEndpoint),
      tlsCertificateArn:
        input.edgeCdn?.tlsCertificateArn === undefined
          ? undefined
          : matching(
              "edgeCdn.tlsCertificateArn (--edge-tls-certificate-arn)",
              input.edgeCdn.tlsCertificateArn,
              /^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[0-9a-f-]{36}$/,
              "give an ACM certificate ARN in the cluster's region",
            ),
      securityGroups: (input.edgeCdn?.securityGroups ?? d.edgeCdn.securityGroups).map((group) =>
        matching("edgeCdn.securityGroups (--edge-security-group)", group, /^sg-[0-9a-f]{8,17}$/, "give security group ids such as sg-0123456789abcdef0"),
      ),
    },
    recording: {
      bucket:
        recording.bucket === undefined
          ? undefined
          : matching("recording.bucket", recording.bucket, /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "give an S3 bucket name"),
      queueUrl: optionalUrl("recording.queueUrl", recording.queueUrl),
      s3Endpoint: optionalUrl("recording.s3Endpoint", recording.s3Endpoint),
      sqsEndpoint: optionalUrl("recording.sqsEndpoint", recording.sqsEndpoint),
      region:
        recording.region === undefined
          ? undefined
          : matching("recording.region", recording.region, /^[a-z]{2}(-[a-z]+)+-\d$/, "give an AWS region such as eu-west-1"),
    },
  };
}
