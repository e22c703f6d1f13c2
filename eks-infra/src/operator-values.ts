import { readFileSync } from "node:fs";
import path from "node:path";
import { SERVICE_ACCOUNTS } from "./config.js";
import { POOL_LABEL } from "./node-pools.js";

export interface OperatorWiring {
  chartPath: string;
  imageRegistry: string;
  namespace: string;
  region: string;
  ingestBucket: string;
  egressBucket: string;
  /**
   * `https://<egress bucket>.s3.<region>.amazonaws.com`: where edges fetch encrypted VOD assets
   * (unsigned, through the VPC's S3 endpoint, which the bucket's policy admits under vod/).
   */
  egressOrigin: string;
  queueUrl: string;
  /** The chart's workloads.edgeCdn: edges only CloudFront reaches. */
  edgeCdn: { originVerifySecret: string; originVerifyFrom: string; securityGroups: string[]; tlsCertificateArn?: string };
}

/** The chart's appVersion: the tag of every live360 image it deploys. */
export function chartAppVersion(chartPath: string): string {
  const version = /^appVersion:\s*"?([^"\s]+)"?\s*$/m.exec(readFileSync(path.join(chartPath, "Chart.yaml"), "utf8"))?.[1];
  if (!version) throw new Error(`${path.join(chartPath, "Chart.yaml")} has no appVersion`);
  return version;
}

/**
 * Helm values for charts/live360-operator on EKS (keys of its values.yaml): images from the chosen
 * registry at the chart's appVersion, the buckets, queue and region, the service accounts the Pod
 * Identity associations bind, NLBs for RTMP ingest and for the edge tier CloudFront pulls from (only
 * CloudFront: its prefix list and its origin-verify header), and
 * the operator itself on the on-demand system pool. Pure apart from reading Chart.yaml, so the test
 * pins the exact wiring and renders it with the real chart.
 */
export function operatorChartValues(w: OperatorWiring): Record<string, unknown> {
  const tag = chartAppVersion(w.chartPath);
  const image = (name: string) => `${w.imageRegistry}/${name}:${tag}`;
  return {
    image: { repository: `${w.imageRegistry}/operator` },
    watchNamespaces: [w.namespace],
    serviceAccount: { create: true, name: SERVICE_ACCOUNTS.operator },
    nodeSelector: { [POOL_LABEL]: "system" },
    workloads: {
      images: { origin: image("origin"), edge: image("edge"), edgeMetrics: image("operator"), testSource: image("test-source"), vodWorker: image("vod-worker") },
      rtmpServiceType: "LoadBalancer",
      edgeServiceType: "LoadBalancer",
      // Recordings leave the origin pods through this account's Pod Identity association.
      originServiceAccount: { create: true, name: SERVICE_ACCOUNTS.origin },
      // The Spot pools are tainted: origins and edges must land there, not on the system nodes.
      nodePools: { require: true },
      edgeCdn: w.edgeCdn,
    },
    aws: { region: w.region },
    recording: { ingestBucket: w.ingestBucket, queueUrl: w.queueUrl },
    vod: {
      egressBucket: w.egressBucket,
      // The operator hands it to every edge (--vod-egress-origin): encrypted VOD is played through the edges.
      egressOrigin: w.egressOrigin,
      namespace: w.namespace,
      workerServiceAccount: { create: true, name: SERVICE_ACCOUNTS.vodWorker },
    },
  };
}
