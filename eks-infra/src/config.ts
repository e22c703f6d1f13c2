import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, matching, nonEmptyString } from "@live360/core";

/** The repository root, for the chart and the player this app deploys. */
const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Everything the stack varies on; `cdk deploy -c <field>=<value>` sets each (see main.ts). */
export interface InfraConfig {
  clusterName: string;
  /** Namespace of the operator, the LiveEvents and their pods: Pod Identity associations are per namespace. */
  namespace: string;
  /** Where `make images-push REGISTRY=…` put the images; the chart's image names hang off it. */
  imageRegistry: string;
  /**
   * DNS name of the edge tier's load balancer, for CloudFront's /hls/* behaviours. The AWS Load
   * Balancer Controller creates it after the first LiveEvent, so the first deploy leaves it out
   * and a second `cdk deploy -c edgeOriginDomain=…` adds it (README, "Deploy to AWS").
   */
  edgeOriginDomain: string | undefined;
  /**
   * An ACM certificate (in the cluster's region) for edgeOriginDomain, which must then be your own
   * name (a CNAME to the edge NLB): the NLB terminates TLS and CloudFront reaches the edge over
   * HTTPS only. Without it that hop is HTTP (no certificate can be had for the NLB's AWS name).
   */
  edgeOriginCertificateArn: string | undefined;
  /**
   * Bump after writing a new value into the origin-verify secret (README, "Rotate the origin-verify
   * secret"): CloudFront re-reads a dynamic reference only when the distribution itself changes.
   */
  originVerifyRotation: string;
  /** Custom domain for the distribution, with an ACM certificate in us-east-1. */
  domainName: string | undefined;
  certificateArn: string | undefined;
  /**
   * CIDRs allowed to reach the Kubernetes API's public endpoint, or "private" for no public
   * endpoint (kubectl from inside the VPC). Required: an API open to the whole internet is never a
   * default; give 0.0.0.0/0 yourself if you really want it.
   */
  apiAllowedCidrs: string[] | "private";
  /** IAM role (e.g. your SSO admin role) given cluster-admin through an EKS access entry. */
  adminRoleArn: string | undefined;
  /** Also queue a VOD job on every s3:ObjectCreated in the ingest bucket (the origin queues its own jobs already). */
  notifyQueueOnUpload: boolean;
  operatorChartPath: string;
  playerPath: string;
}

export type InfraConfigInput = Partial<Omit<InfraConfig, "apiAllowedCidrs" | "notifyQueueOnUpload" | "originVerifyRotation">> & {
  /** Comma-separated (or "private") when it comes from `-c apiAllowedCidrs=…`. */
  apiAllowedCidrs?: string[] | string;
  originVerifyRotation?: string | number;
  notifyQueueOnUpload?: boolean | string;
};

export const DEFAULT_INFRA_CONFIG: InfraConfig = {
  clusterName: "live360",
  namespace: "live360",
  imageRegistry: "ghcr.io/live360",
  edgeOriginDomain: undefined,
  edgeOriginCertificateArn: undefined,
  originVerifyRotation: "0",
  domainName: undefined,
  certificateArn: undefined,
  apiAllowedCidrs: [],
  adminRoleArn: undefined,
  notifyQueueOnUpload: false,
  operatorChartPath: path.join(REPO_ROOT, "charts/live360-operator"),
  playerPath: path.join(REPO_ROOT, "player/dist"),
};

/** Kubernetes service accounts the Pod Identity associations bind; the chart and the operator use these names. */
export const SERVICE_ACCOUNTS = { operator: "live360-operator", origin: "live360-origin", vodWorker: "live360-vod-worker" } as const;

/** Kubernetes minor version: the one cdk8s-plus-34 (the operator's builders) and test/cluster target. */
export const KUBERNETES_VERSION = "1.34";

const DNS_NAME = /^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const CIDR = /^(\d{1,3}\.){3}\d{1,3}\/(\d|[12]\d|3[0-2])$/;

function bool(field: string, value: boolean | string | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value === "boolean") return value;
  if (value === "true" || value === "false") return value === "true";
  throw new ConfigError(field, value, "use true or false");
}

function optional<T>(value: T | undefined, check: (v: T) => T): T | undefined {
  return value === undefined || value === "" ? undefined : check(value);
}

/** A directory this app uploads, recognised by a file it must contain. */
function directoryWith(field: string, dir: string, marker: string, fix: string): string {
  if (!existsSync(path.join(dir, marker))) throw new ConfigError(field, dir, `${fix} (no ${marker} there)`);
  return dir;
}

const API_CIDRS_FIX =
  "give the IPv4 CIDRs allowed to reach the Kubernetes API, comma-separated (e.g. your address: $(curl -s https://checkip.amazonaws.com)/32), or private for no public endpoint";

function apiAccess(value: string[] | string | undefined): string[] | "private" {
  if (value === "private") return "private";
  const cidrs = typeof value === "string" ? value.split(",").map((c) => c.trim()).filter(Boolean) : value ?? [];
  if (cidrs.length === 0) throw new ConfigError("apiAllowedCidrs", undefined, API_CIDRS_FIX);
  return cidrs.map((c) => matching("apiAllowedCidrs", c, CIDR, API_CIDRS_FIX));
}

/** Validates the app's settings; every error names the field, the value and the fix. */
export function resolveInfraConfig(input: InfraConfigInput = {}): InfraConfig {
  const d = DEFAULT_INFRA_CONFIG;
  const domainName = optional(input.domainName, (v) => matching("domainName", v, DNS_NAME, "give a DNS name such as live.example.com"));
  const certificateArn = optional(input.certificateArn, (v) =>
    matching("certificateArn", v, /^arn:aws[a-z-]*:acm:us-east-1:\d{12}:certificate\/[0-9a-f-]{36}$/, "give an ACM certificate ARN in us-east-1 (CloudFront only uses certificates from there)"),
  );
  const edgeOriginDomain = optional(input.edgeOriginDomain, (v) =>
    matching("edgeOriginDomain", v, DNS_NAME, "give the edge load balancer's DNS name: kubectl get svc -n live360 -l app.kubernetes.io/component=edge"),
  );
  const edgeOriginCertificateArn = optional(input.edgeOriginCertificateArn, (v) =>
    matching("edgeOriginCertificateArn", v, /^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[0-9a-f-]{36}$/, "give an ACM certificate ARN in the cluster's region"),
  );
  if (edgeOriginCertificateArn !== undefined && (edgeOriginDomain === undefined || edgeOriginDomain.endsWith(".amazonaws.com"))) {
    throw new ConfigError(
      "edgeOriginDomain",
      edgeOriginDomain,
      "with edgeOriginCertificateArn, give your own name for the edge (a CNAME to its NLB) that the certificate covers: no certificate can be had for the NLB's AWS name",
    );
  }
  if ((domainName === undefined) !== (certificateArn === undefined)) {
    throw new ConfigError(domainName === undefined ? "domainName" : "certificateArn", undefined, "set both domainName and certificateArn, or neither");
  }
  return {
    clusterName: matching("clusterName", input.clusterName ?? d.clusterName, /^[a-zA-Z][a-zA-Z0-9-]{0,99}$/, "give 1-100 letters, digits and '-', starting with a letter"),
    namespace: matching("namespace", input.namespace ?? d.namespace, DNS_LABEL, "give a Kubernetes namespace name (lowercase letters, digits, '-')"),
    imageRegistry: matching("imageRegistry", input.imageRegistry ?? d.imageRegistry, /^[a-z0-9][a-z0-9.:/-]*[a-z0-9]$/, "give a registry path such as ghcr.io/live360 or <account>.dkr.ecr.<region>.amazonaws.com/live360"),
    edgeOriginDomain,
    edgeOriginCertificateArn,
    originVerifyRotation: matching("originVerifyRotation", String(input.originVerifyRotation ?? d.originVerifyRotation), /^[0-9]{1,9}$/, "give a number, one more than the last rotation's"),
    domainName,
    certificateArn,
    apiAllowedCidrs: apiAccess(input.apiAllowedCidrs ?? d.apiAllowedCidrs),
    adminRoleArn: optional(input.adminRoleArn, (v) => matching("adminRoleArn", v, /^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, "give an IAM role ARN")),
    notifyQueueOnUpload: bool("notifyQueueOnUpload", input.notifyQueueOnUpload, d.notifyQueueOnUpload),
    operatorChartPath: directoryWith(
      "operatorChartPath",
      nonEmptyString("operatorChartPath", input.operatorChartPath ?? d.operatorChartPath),
      "Chart.yaml",
      "give the live360-operator Helm chart directory (charts/live360-operator in the repository)",
    ),
    playerPath: directoryWith(
      "playerPath",
      nonEmptyString("playerPath", input.playerPath ?? d.playerPath),
      "index.html",
      "build the player first: npm run build -w @live360/player",
    ),
  };
}
