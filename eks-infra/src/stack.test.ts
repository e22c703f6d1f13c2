/**
 * The synthesized template, offline: Spot node pools, private encrypted buckets, the egress bucket
 * reachable only through CloudFront's OAC and (vod/ objects) the VPC's S3 endpoint, the dead-letter redrive, each role's exact permissions,
 * CloudFront behaviours and TTLs, the operator chart's wiring, and cdk-nag's AwsSolutions pack.
 */
import { beforeAll, describe, expect, test } from "@jest/globals";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { App } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks } from "cdk-nag";
import { DEFAULT_VOD_WORKER_CONFIG } from "@live360/vod-worker";
import { parse } from "yaml";
import { resolveInfraConfig, SERVICE_ACCOUNTS, type InfraConfigInput } from "./config.js";
import { NODE_POOLS, POOL_LABEL } from "./node-pools.js";
import { chartAppVersion, operatorChartValues } from "./operator-values.js";
import { PLAYLIST_TTL, SEGMENT_TTL } from "./cdn.js";
import { Live360Stack } from "./stack.js";
import { MAX_RECEIVE_COUNT } from "./storage.js";

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const EDGE_LB = "k8s-live360-demoedge-0123456789.elb.eu-west-1.amazonaws.com";

type Json = Record<string, unknown>;

/** One synth per configuration: assets referenced in place, so no layer zip is copied per test. The API CIDRs are required. */
function synth(input: InfraConfigInput = {}): { stack: Live360Stack; template: Template } {
  const app = new App({ outdir: mkdtempSync(path.join(os.tmpdir(), "live360-cdk-")), context: { "aws:cdk:disable-asset-staging": true } });
  const stack = new Live360Stack(app, "Live360", { config: resolveInfraConfig({ apiAllowedCidrs: "198.51.100.0/24", ...input }) });
  return { stack, template: Template.fromStack(stack) };
}

const EDGE_NAME = "edge.live.example.com";
const EDGE_CERTIFICATE = "arn:aws:acm:eu-west-1:123456789012:certificate/0b0e0d0e-0000-4000-8000-000000000000";

let withEdge: { stack: Live360Stack; template: Template };
let firstDeploy: { stack: Live360Stack; template: Template };
let httpsEdge: { stack: Live360Stack; template: Template };
beforeAll(() => {
  withEdge = synth({ edgeOriginDomain: EDGE_LB, adminRoleArn: "arn:aws:iam::123456789012:role/Admin", apiAllowedCidrs: "203.0.113.0/24" });
  firstDeploy = synth();
  httpsEdge = synth({ edgeOriginDomain: EDGE_NAME, edgeOriginCertificateArn: EDGE_CERTIFICATE, apiAllowedCidrs: "private", originVerifyRotation: 3 });
}, 180_000);

const resources = (template: Template, type: string): Json[] => Object.values(template.findResources(type)).map((r) => r as Json);
const props = (resource: Json): Json => resource.Properties as Json;
const logicalIdOf = (template: Template, type: string, match: Json): string => {
  const found = Object.keys(template.findResources(type, match));
  if (found.length !== 1) throw new Error(`expected one ${type} matching ${JSON.stringify(match)}, found ${found.length}`);
  return found[0] as string;
};

describe("cdk-nag AwsSolutions", () => {
  test.each(["with the edge origin", "first deploy", "HTTPS edge origin, private API"])("no unsuppressed error or warning (%s)", (which) => {
    const { stack } = which === "first deploy" ? firstDeploy : which === "with the edge origin" ? withEdge : httpsEdge;
    const report = new AwsSolutionsChecks(stack).validateScope(stack);
    const findings = report.violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath ?? r.resourceLogicalId}`));
    expect(findings).toEqual([]);
    expect(report.success).toBe(true);
  });
});

describe("EKS", () => {
  test("the API endpoint is never open to the internet by default: only the CIDRs given, or private only", () => {
    const vpcConfig = (template: Template) => props(resources(template, "AWS::EKS::Cluster")[0] as Json).ResourcesVpcConfig as Json;
    expect(vpcConfig(withEdge.template)).toMatchObject({ EndpointPublicAccess: true, EndpointPrivateAccess: true, PublicAccessCidrs: ["203.0.113.0/24"] });
    expect(vpcConfig(httpsEdge.template)).toMatchObject({ EndpointPublicAccess: false, EndpointPrivateAccess: true });
    expect(() => resolveInfraConfig({})).toThrow(/apiAllowedCidrs=\(not set\)/);
  });

  test("Kubernetes version matches the operator's cdk8s-plus line and the local control plane", () => {
    const cdk8sPlus = /"cdk8s-plus-(\d+)"/.exec(readFileSync(path.join(repoRoot, "operator/package.json"), "utf8"))?.[1];
    const local = /^KUBERNETES_VERSION=v1\.(\d+)\./m.exec(readFileSync(path.join(repoRoot, "test/cluster/versions.env"), "utf8"))?.[1];
    const [cluster] = resources(withEdge.template, "AWS::EKS::Cluster");
    expect(props(cluster as Json).Version).toBe(`1.${cdk8sPlus}`);
    expect(cdk8sPlus).toBe(local);
  });

  test("one on-demand system pool and Spot pools of ≥ 3 equal-shape instance types, labelled and tainted", () => {
    const groups = resources(withEdge.template, "AWS::EKS::Nodegroup").map(props);
    expect(groups).toHaveLength(NODE_POOLS.length);
    const byPool = new Map(groups.map((g) => [(g.Labels as Record<string, string>)[POOL_LABEL], g]));
    expect(byPool.get("system")).toMatchObject({ CapacityType: "ON_DEMAND", AmiType: "AL2023_x86_64_STANDARD" });
    expect(byPool.get("system")?.Taints ?? []).toEqual([]);
    for (const pool of ["origin", "edge", "vod"]) {
      const group = byPool.get(pool) as Json;
      expect(group.CapacityType).toBe("SPOT");
      expect((group.InstanceTypes as string[]).length).toBeGreaterThanOrEqual(3);
      expect(group.Taints).toEqual([{ Key: POOL_LABEL, Value: pool, Effect: "NO_SCHEDULE" }]);
      // Three private subnets: one per zone.
      expect((group.Subnets as unknown[]).length).toBe(3);
    }
    // Equal shapes are declared per pool; the families must really be different.
    for (const pool of NODE_POOLS.filter((p) => p.capacityType === "SPOT")) {
      expect(new Set(pool.instanceTypes.map((t) => t.split(".")[0])).size).toBe(pool.instanceTypes.length);
      expect(new Set(pool.instanceTypes.map((t) => t.split(".")[1])).size).toBe(1);
    }
  });

  test("VPC over three zones, API logging, restricted public endpoint, admin access entry", () => {
    withEdge.template.resourceCountIs("AWS::EC2::NatGateway", 3);
    expect(resources(withEdge.template, "AWS::EC2::Subnet")).toHaveLength(6);
    const cluster = props(resources(withEdge.template, "AWS::EKS::Cluster")[0] as Json);
    expect(cluster.ResourcesVpcConfig).toMatchObject({ EndpointPublicAccess: true, EndpointPrivateAccess: true, PublicAccessCidrs: ["203.0.113.0/24"] });
    expect(JSON.stringify(cluster.Logging)).toContain('"audit"');
    withEdge.template.hasResourceProperties("AWS::EKS::AccessEntry", { PrincipalArn: "arn:aws:iam::123456789012:role/Admin" });
    for (const addon of ["eks-pod-identity-agent", "metrics-server"]) withEdge.template.hasResourceProperties("AWS::EKS::Addon", { AddonName: addon });
  });

  test("an S3 gateway endpoint routed from every subnet, the nodes' included", () => {
    const endpoints = resources(withEdge.template, "AWS::EC2::VPCEndpoint").map(props);
    expect(endpoints).toHaveLength(1);
    expect(endpoints[0]).toMatchObject({
      VpcEndpointType: "Gateway",
      ServiceName: { "Fn::Join": ["", ["com.amazonaws.", { Ref: "AWS::Region" }, ".s3"]] },
      VpcId: { Ref: logicalIdOf(withEdge.template, "AWS::EC2::VPC", {}) },
    });
    const routeTables = Object.keys(withEdge.template.findResources("AWS::EC2::RouteTable"));
    expect(routeTables).toHaveLength(6);
    expect((endpoints[0]?.RouteTableIds as { Ref: string }[]).map((r) => r.Ref).sort()).toEqual(routeTables.sort());
  });
});

describe("S3 and SQS", () => {
  test("every bucket blocks public access, is encrypted and refuses plain HTTP", () => {
    const buckets = withEdge.template.findResources("AWS::S3::Bucket");
    expect(Object.keys(buckets)).toHaveLength(3);
    for (const bucket of Object.values(buckets)) {
      expect(props(bucket as Json)).toMatchObject({
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }] },
      });
    }
  });

  test("ingest: versioned, to Infrequent Access after 30 days", () => {
    withEdge.template.hasResourceProperties("AWS::S3::Bucket", {
      VersioningConfiguration: { Status: "Enabled" },
      LifecycleConfiguration: { Rules: [Match.objectLike({ Transitions: [{ StorageClass: "STANDARD_IA", TransitionInDays: 30 }] })] },
    });
  });

  test("egress: its policy admits this distribution (OAC), the VPC's S3 endpoint to vod/ objects only, and denies plain HTTP", () => {
    const distribution = logicalIdOf(withEdge.template, "AWS::CloudFront::Distribution", {});
    const endpoint = logicalIdOf(withEdge.template, "AWS::EC2::VPCEndpoint", { Properties: { VpcEndpointType: "Gateway" } });
    const policies = resources(withEdge.template, "AWS::S3::BucketPolicy").map(props);
    const egressPolicy = policies.find((p) => JSON.stringify(p).includes("cloudfront.amazonaws.com")) as Json;
    const egress = (egressPolicy.Bucket as { Ref: string }).Ref;
    const statements = (egressPolicy.PolicyDocument as { Statement: Json[] }).Statement;
    const allows = statements.filter((s) => s.Effect === "Allow");
    expect(allows).toHaveLength(2);
    const oac = allows.find((s) => JSON.stringify(s.Principal).includes("cloudfront.amazonaws.com"));
    expect(oac).toMatchObject({ Action: "s3:GetObject", Principal: { Service: "cloudfront.amazonaws.com" } });
    expect(JSON.stringify(oac?.Condition)).toContain(distribution);
    // The edges' unsigned reads of encrypted VOD assets: GetObject under vod/, through this VPC's endpoint only.
    expect(allows.find((s) => s !== oac)).toEqual({
      Effect: "Allow",
      Principal: "*",
      Action: "s3:GetObject",
      Resource: { "Fn::Join": ["", [{ "Fn::GetAtt": [egress, "Arn"] }, "/vod/*"]] },
      Condition: { StringEquals: { "aws:SourceVpce": { Ref: endpoint } } },
    });
    expect(statements.filter((s) => s.Effect === "Deny").map((s) => s.Condition)).toEqual([{ Bool: { "aws:SecureTransport": "false" } }]);
    withEdge.template.resourceCountIs("AWS::CloudFront::CloudFrontOriginAccessIdentity", 0);
    withEdge.template.resourceCountIs("AWS::CloudFront::OriginAccessControl", 1);
  });

  test("VOD queue: encrypted, dead-letter redrive, visibility timeout of the worker's heartbeat", () => {
    const dlq = logicalIdOf(withEdge.template, "AWS::SQS::Queue", { Properties: { RedrivePolicy: Match.absent() } });
    withEdge.template.hasResourceProperties("AWS::SQS::Queue", {
      SqsManagedSseEnabled: true,
      VisibilityTimeout: DEFAULT_VOD_WORKER_CONFIG.visibilityTimeoutSeconds,
      RedrivePolicy: { deadLetterTargetArn: { "Fn::GetAtt": [dlq, "Arn"] }, maxReceiveCount: MAX_RECEIVE_COUNT },
    });
  });
});

describe("IAM through Pod Identity", () => {
  /** The role's inline statements as [actions, resource text] pairs. */
  function statementsOf(description: string): { actions: string[]; resources: string }[] {
    const [role] = resources(withEdge.template, "AWS::IAM::Role").filter((r) => String(props(r).Description).startsWith(description));
    const policies = props(role as Json).Policies as { PolicyDocument: { Statement: Json[] } }[];
    expect(JSON.stringify(props(role as Json).AssumeRolePolicyDocument)).toContain("pods.eks.amazonaws.com");
    return policies.flatMap((p) => p.PolicyDocument.Statement).map((s) => ({
      actions: ([] as string[]).concat(s.Action as string | string[]).sort(),
      resources: JSON.stringify(s.Resource),
    }));
  }
  const ids = () => ({
    ingest: logicalIdOf(withEdge.template, "AWS::S3::Bucket", { Properties: { VersioningConfiguration: { Status: "Enabled" } } }),
    queue: logicalIdOf(withEdge.template, "AWS::SQS::Queue", { Properties: { RedrivePolicy: Match.anyValue() } }),
    deadLetterQueue: logicalIdOf(withEdge.template, "AWS::SQS::Queue", { Properties: { RedrivePolicy: Match.absent() } }),
    originVerify: logicalIdOf(withEdge.template, "AWS::SecretsManager::Secret", {}),
  });

  test("origin: put recordings into the ingest bucket, send to the queue; nothing else", () => {
    const s = statementsOf("live360 origin");
    expect(s.map((x) => x.actions)).toEqual([["s3:AbortMultipartUpload", "s3:PutObject"], ["sqs:SendMessage"]]);
    expect(s[0]?.resources).toContain(ids().ingest);
    expect(s[0]?.resources).toContain("/recordings/*");
    expect(s[1]?.resources).toContain(ids().queue);
  });

  test("vod-worker: read ingest (and list it, so a missing recording is a 404), read and write egress, receive/delete/change-visibility", () => {
    const s = statementsOf("live360 vod-worker");
    expect(s.map((x) => x.actions)).toEqual([
      ["s3:GetObject"],
      ["s3:ListBucket"],
      ["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"],
      ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:ReceiveMessage"],
    ]);
    expect(s[0]?.resources).toContain(ids().ingest);
    expect(s[1]?.resources).toContain(ids().ingest);
    expect(s[2]?.resources).not.toContain(ids().ingest);
    expect(s[2]?.resources).toContain("/vod/*");
    expect(s[3]?.resources).toContain(ids().queue);
  });

  test("operator: queue attributes, visibility and delete (and the receive its polling needs); the dead-letter queue's URL and depth only; reads the origin-verify secret and no other", () => {
    const s = statementsOf("live360 operator");
    expect(s.map((x) => x.actions)).toEqual([
      ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"],
      ["sqs:GetQueueAttributes", "sqs:GetQueueUrl"],
      ["secretsmanager:GetSecretValue"],
    ]);
    expect(s[0]?.resources).toContain(ids().queue);
    expect(s[1]?.resources).toContain(ids().deadLetterQueue);
    expect(s[1]?.resources).not.toContain(ids().queue);
    expect(s[2]?.resources).toBe(JSON.stringify({ Ref: ids().originVerify }));
  });

  test("every Pod Identity role trusts only the Pod Identity service, for this account, this cluster and its one namespace and service account", () => {
    const cluster = logicalIdOf(withEdge.template, "AWS::EKS::Cluster", {});
    const accounts: Record<string, [string, string]> = {
      "live360 origin": ["live360", SERVICE_ACCOUNTS.origin],
      "live360 vod-worker": ["live360", SERVICE_ACCOUNTS.vodWorker],
      "live360 operator": ["live360", SERVICE_ACCOUNTS.operator],
      "Cluster Autoscaler": ["kube-system", "cluster-autoscaler"],
    };
    for (const [description, [namespace, account]] of Object.entries(accounts)) {
      const [role] = resources(withEdge.template, "AWS::IAM::Role").filter((r) => String(props(r).Description).startsWith(description));
      const statements = (props(role as Json).AssumeRolePolicyDocument as { Statement: Json[] }).Statement;
      expect(statements).toEqual([
        {
          Effect: "Allow",
          Principal: { Service: "pods.eks.amazonaws.com" },
          Action: ["sts:AssumeRole", "sts:TagSession"],
          Condition: {
            StringEquals: {
              "aws:SourceAccount": { Ref: "AWS::AccountId" },
              "aws:RequestTag/eks-cluster-arn": { "Fn::GetAtt": [cluster, "Arn"] },
              "aws:RequestTag/kubernetes-namespace": namespace,
              "aws:RequestTag/kubernetes-service-account": account,
            },
          },
        },
      ]);
    }
  });

  test("each role grants every call its workload makes, on that resource (eks-infra/workload-calls.json, recorded by the real-process tests)", () => {
    const needed = JSON.parse(readFileSync(path.join(repoRoot, "eks-infra/workload-calls.json"), "utf8")) as Record<string, string[]>;
    const roles: Record<string, string> = { origin: "live360 origin", vodWorker: "live360 vod-worker", operator: "live360 operator" };
    const egressPolicy = resources(withEdge.template, "AWS::S3::BucketPolicy").map(props).find((p) => JSON.stringify(p).includes("cloudfront.amazonaws.com"));
    const buckets: Record<string, string> = { ingest: ids().ingest, egress: (egressPolicy?.Bucket as { Ref: string }).Ref };
    /** The resource one permission names, as it appears in the template's JSON. */
    const resourceOf = (resource: string): { id: string; path: string | undefined } => {
      if (resource === "queue") return { id: ids().queue, path: undefined };
      if (resource === "deadLetterQueue") return { id: ids().deadLetterQueue, path: undefined };
      if (resource === "originVerify") return { id: ids().originVerify, path: undefined };
      const [bucket, ...rest] = resource.split("/");
      return { id: buckets[bucket!]!, path: rest.length ? `/${rest.join("/")}` : undefined };
    };
    const missing: string[] = [];
    for (const [who, permissions] of Object.entries(needed)) {
      const statements = statementsOf(roles[who]!);
      for (const permission of permissions) {
        const [action, resource] = permission.split(" ") as [string, string];
        const { id, path: objects } = resourceOf(resource);
        const granted = statements.some((s) => {
          if (!s.actions.includes(action)) return false;
          const items = ([] as unknown[]).concat(JSON.parse(s.resources) as unknown).map((item) => JSON.stringify(item));
          // Objects: the bucket's ARN joined with the key pattern (or "/*"); the bucket itself: its bare ARN.
          return items.some((item) => item.includes(`"${id}"`) && (objects === undefined ? !item.includes('"/') : item.includes(`"${objects}"`) || item.includes('"/*"')));
        });
        if (!granted) missing.push(`${who}: ${permission}`);
      }
    }
    expect(Object.keys(needed).sort()).toEqual(Object.keys(roles).sort());
    expect(missing).toEqual([]);
  });

  test("no live360 role has a wildcard action or a bare * resource", () => {
    for (const who of ["live360 origin", "live360 vod-worker", "live360 operator"]) {
      for (const { actions, resources: r } of statementsOf(who)) {
        expect(actions.filter((a) => a.includes("*"))).toEqual([]);
        expect(r).not.toBe('"*"');
      }
    }
  });

  test("each role is bound to its service account in the live360 namespace", () => {
    for (const account of Object.values(SERVICE_ACCOUNTS)) {
      withEdge.template.hasResourceProperties("AWS::EKS::PodIdentityAssociation", { Namespace: "live360", ServiceAccount: account });
    }
  });
});

describe("CloudFront", () => {
  const behaviours = (template: Template): Json[] =>
    (props(resources(template, "AWS::CloudFront::Distribution")[0] as Json).DistributionConfig as { CacheBehaviors: Json[] }).CacheBehaviors;

  test("HTTPS only; /hls/*.m3u8 before /hls/*, the signed /s/* ones, then /vod/* and /player/*", () => {
    const list = behaviours(withEdge.template);
    expect(list.map((b) => b.PathPattern).sort()).toEqual(["/hls/*", "/hls/*.m3u8", "/player/*", "/s/*", "/s/*.key", "/s/*.m3u8", "/vod/*"]);
    expect(list.findIndex((b) => b.PathPattern === "/hls/*.m3u8")).toBeLessThan(list.findIndex((b) => b.PathPattern === "/hls/*"));
    for (const b of list) expect(b.ViewerProtocolPolicy).toBe("https-only");
    const config = props(resources(withEdge.template, "AWS::CloudFront::Distribution")[0] as Json).DistributionConfig as Json;
    expect((config.DefaultCacheBehavior as Json).ViewerProtocolPolicy).toBe("https-only");
    expect(JSON.stringify(config.Origins)).toContain(EDGE_LB);
    // A live segment not there yet, or an LL-HLS reload a little ahead, is asked for again at
    // once, not after CloudFront's default 10 s; server errors are kept a second.
    expect(config.CustomErrorResponses).toEqual([
      { ErrorCode: 400, ErrorCachingMinTTL: 0 },
      { ErrorCode: 404, ErrorCachingMinTTL: 0 },
      ...[500, 502, 503, 504].map((ErrorCode) => ({ ErrorCode, ErrorCachingMinTTL: 1 })),
    ]);
  });

  test("signed links (/s/*) go to the edge: keys never cached, playlists and segments with the /hls/* cache policies, more specific first", () => {
    for (const [{ template }, edgeDomain] of [[withEdge, EDGE_LB], [httpsEdge, EDGE_NAME]] as const) {
      const config = props(resources(template, "AWS::CloudFront::Distribution")[0] as Json).DistributionConfig as Json;
      const edge = (config.Origins as Json[]).find((o) => o.DomainName === edgeDomain) as Json;
      expect(edge.Id).toEqual(expect.any(String));
      const list = behaviours(template);
      const at = (pattern: string) => list.findIndex((b) => b.PathPattern === pattern);
      const policyOf = (pattern: string) => list[at(pattern)]?.CachePolicyId;
      for (const pattern of ["/s/*.key", "/s/*.m3u8", "/s/*"]) {
        expect(list[at(pattern)]).toMatchObject({ TargetOriginId: edge.Id, ViewerProtocolPolicy: "https-only", AllowedMethods: ["GET", "HEAD"] });
      }
      // One cache policy per TTL class, shared by the unsigned and the signed paths.
      template.resourceCountIs("AWS::CloudFront::CachePolicy", 2);
      const playlists = logicalIdOf(template, "AWS::CloudFront::CachePolicy", { Properties: { CachePolicyConfig: Match.objectLike({ MaxTTL: PLAYLIST_TTL.max }) } });
      const segments = logicalIdOf(template, "AWS::CloudFront::CachePolicy", { Properties: { CachePolicyConfig: Match.objectLike({ MaxTTL: SEGMENT_TTL.max }) } });
      expect([policyOf("/hls/*.m3u8"), policyOf("/s/*.m3u8")]).toEqual([{ Ref: playlists }, { Ref: playlists }]);
      expect([policyOf("/hls/*"), policyOf("/s/*")]).toEqual([{ Ref: segments }, { Ref: segments }]);
      // AWS's managed CachingDisabled policy: every key request reaches the edge's signature check.
      expect(policyOf("/s/*.key")).toBe("4135ea2d-6df8-44a3-9df3-4b5a84be39ad");
      expect(at("/s/*.key")).toBeLessThan(at("/s/*"));
      expect(at("/s/*.m3u8")).toBeLessThan(at("/s/*"));
    }
  });

  /** The ingress rules of the edge NLBs' security group (separate resources: the prefix list id is a deploy-time value). */
  const edgeIngress = (template: Template): Json[] => {
    const group = Object.entries(template.findResources("AWS::EC2::SecurityGroup")).find(([, r]) => String(props(r as Json).GroupDescription).startsWith("live360 edge NLBs"))?.[0];
    return resources(template, "AWS::EC2::SecurityGroupIngress")
      .map(props)
      .filter((r) => JSON.stringify(r.GroupId).includes(`"${group}"`));
  };

  test("CDN-only edges: CloudFront sends the origin-verify header from Secrets Manager (no value in the template), the edge NLB admits only CloudFront's prefix list", () => {
    const secret = logicalIdOf(withEdge.template, "AWS::SecretsManager::Secret", {});
    withEdge.template.hasResourceProperties("AWS::SecretsManager::Secret", {
      GenerateSecretString: { SecretStringTemplate: JSON.stringify({ previous: "" }), GenerateStringKey: "current", PasswordLength: 64, ExcludePunctuation: true },
    });
    const config = props(resources(withEdge.template, "AWS::CloudFront::Distribution")[0] as Json).DistributionConfig as Json;
    const edge = (config.Origins as Json[]).find((o) => o.DomainName === EDGE_LB) as Json;
    const header = (edge.OriginCustomHeaders as { HeaderName: string; HeaderValue: unknown }[])[0];
    expect(header?.HeaderName).toBe("X-Live360-Origin-Verify");
    // A dynamic reference CloudFormation resolves at deploy time: {{resolve:secretsmanager:<arn>:SecretString:current::}}.
    expect(JSON.stringify(header?.HeaderValue)).toContain('"{{resolve:secretsmanager:"');
    expect(JSON.stringify(header?.HeaderValue)).toContain(secret);
    expect(JSON.stringify(header?.HeaderValue)).toContain(":SecretString:current::}}");
    expect((edge.CustomOriginConfig as Json).OriginProtocolPolicy).toBe("http-only");
    // The NLB's security group: CloudFront's managed prefix list, looked up in the region at deploy time.
    expect(edgeIngress(withEdge.template).map((r) => [r.FromPort, r.ToPort, JSON.stringify(r.SourcePrefixListId)])).toEqual([[80, 80, expect.stringContaining("PrefixLists.0.PrefixListId")]]);
    expect(JSON.stringify(resources(withEdge.template, "Custom::AWS").map(props))).toContain("com.amazonaws.global.cloudfront.origin-facing");
    // The operator copies the secret to the edges and gives their NLBs the group.
    const values = JSON.stringify(props(resources(withEdge.template, "Custom::AWSCDK-EKS-HelmChart").find((r) => JSON.stringify(props(r)).includes("live360-operator")) as Json).Values);
    expect(values).toContain("live360-origin-verify");
    expect(values).toContain(secret);
  });

  test("with a certificate for the edge's own name, CloudFront reaches it over HTTPS (TLS 1.2) on 443, and a rotation number changes the distribution", () => {
    const config = props(resources(httpsEdge.template, "AWS::CloudFront::Distribution")[0] as Json).DistributionConfig as Json;
    const edge = (config.Origins as Json[]).find((o) => o.DomainName === EDGE_NAME) as Json;
    expect(edge.CustomOriginConfig).toMatchObject({ OriginProtocolPolicy: "https-only", OriginSSLProtocols: ["TLSv1.2"] });
    expect(config.Comment).toContain("origin-verify rotation 3");
    expect(edgeIngress(httpsEdge.template).map((r) => r.FromPort)).toEqual([80, 443]);
    const values = JSON.stringify(props(resources(httpsEdge.template, "Custom::AWSCDK-EKS-HelmChart").find((r) => JSON.stringify(props(r)).includes("live360-operator")) as Json).Values);
    expect(values).toContain(EDGE_CERTIFICATE);
  });

  test("live cache policies honour the origin's Cache-Control within short playlist and long segment bounds; playlists are keyed by the LL-HLS directives alone", () => {
    const playlistQueries = { QueryStringBehavior: "whitelist", QueryStrings: ["_HLS_msn", "_HLS_part", "_HLS_skip"] };
    for (const [ttl, name, queries] of [[PLAYLIST_TTL, "playlists", playlistQueries], [SEGMENT_TTL, "segments", { QueryStringBehavior: "none" }]] as const) {
      withEdge.template.hasResourceProperties("AWS::CloudFront::CachePolicy", {
        CachePolicyConfig: Match.objectLike({
          Comment: Match.stringLikeRegexp(name),
          MinTTL: ttl.min,
          DefaultTTL: ttl.default,
          MaxTTL: ttl.max,
          ParametersInCacheKeyAndForwardedToOrigin: Match.objectLike({ QueryStringsConfig: queries }),
        }),
      });
    }
    expect(PLAYLIST_TTL.max).toBeLessThanOrEqual(2);
    expect(SEGMENT_TTL.default).toBeGreaterThanOrEqual(86_400);
  });

  test("the first deploy, before any edge load balancer exists, serves VOD and the player and says what to do next", () => {
    expect(behaviours(firstDeploy.template).map((b) => b.PathPattern).sort()).toEqual(["/player/*", "/vod/*"]);
    firstDeploy.template.hasOutput("NextStep", { Value: Match.stringLikeRegexp("cdk deploy -c edgeOriginDomain=") });
  });
});

describe("operator chart and outputs", () => {
  test("the local chart is installed with the buckets, queue, region and service accounts", () => {
    const [release] = resources(withEdge.template, "Custom::AWSCDK-EKS-HelmChart").filter((r) => props(r).Release === "live360-operator");
    expect(release).toBeDefined();
    const values = JSON.stringify(props(release as Json).Values);
    for (const id of [ids2().ingest, ids2().egress, ids2().queue]) expect(values).toContain(id);
    expect(values).toContain(SERVICE_ACCOUNTS.operator);
    expect(props(release as Json).Namespace).toBe("live360");
  });

  test("vod.egressOrigin is the egress bucket's regional HTTPS endpoint, where edges fetch encrypted VOD assets", () => {
    const [release] = resources(withEdge.template, "Custom::AWSCDK-EKS-HelmChart").filter((r) => props(r).Release === "live360-operator");
    const parts = (props(release as Json).Values as { "Fn::Join": [string, unknown[]] })["Fn::Join"][1];
    // The JSON with each deploy-time token as <n> (its index in the join), so the values parse.
    const values = JSON.parse(parts.map((p, i) => (typeof p === "string" ? p : `<${i}>`)).join("")) as { vod: { egressOrigin: string } };
    const token = /^https:\/\/<(\d+)>$/.exec(values.vod.egressOrigin)?.[1];
    expect(token).toBeDefined();
    expect(parts[Number(token)]).toEqual({ "Fn::GetAtt": [ids2().egress, "RegionalDomainName"] });
  });
  const ids2 = () => ({
    ingest: logicalIdOf(withEdge.template, "AWS::S3::Bucket", { Properties: { VersioningConfiguration: { Status: "Enabled" } } }),
    egress: logicalIdOf(withEdge.template, "AWS::S3::Bucket", { Properties: { LoggingConfiguration: Match.anyValue(), VersioningConfiguration: Match.absent() } }),
    queue: logicalIdOf(withEdge.template, "AWS::SQS::Queue", { Properties: { RedrivePolicy: Match.anyValue() } }),
  });

  test("the values are the chart's own keys: rendered by helm, they become the operator's flags", async () => {
    const helm = (await run("bash", [path.join(repoRoot, "test/helm/build.sh")], { maxBuffer: 64 * 1024 * 1024 })).stdout.trim();
    const registry = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/live360";
    const chartPath = path.join(repoRoot, "charts/live360-operator");
    const version = chartAppVersion(chartPath);
    const values = operatorChartValues({
      chartPath,
      imageRegistry: registry,
      namespace: "live360",
      region: "eu-west-1",
      ingestBucket: "ingest-bucket",
      egressBucket: "egress-bucket",
      egressOrigin: "https://egress-bucket.s3.eu-west-1.amazonaws.com",
      queueUrl: "https://sqs.eu-west-1.amazonaws.com/123456789012/vod",
      edgeCdn: {
        originVerifySecret: "live360-origin-verify",
        originVerifyFrom: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:verify-AbCdEf",
        securityGroups: ["sg-0123456789abcdef0"],
        tlsCertificateArn: EDGE_CERTIFICATE,
      },
    });
    expect(values.vod).toMatchObject({ egressOrigin: "https://egress-bucket.s3.eu-west-1.amazonaws.com" });
    const dir = mkdtempSync(path.join(os.tmpdir(), "live360-values-"));
    // JSON is YAML: helm reads the values exactly as the HelmChart custom resource hands them over.
    writeFileSync(path.join(dir, "values.yaml"), JSON.stringify(values));
    const { stdout } = await run(helm, ["template", "live360-operator", chartPath, "--namespace", "live360", "--values", path.join(dir, "values.yaml")], { maxBuffer: 16 * 1024 * 1024 });
    for (const expected of [
      `image: "${registry}/operator:${version}"`,
      `--origin-image=${registry}/origin:${version}`,
      `--vod-worker-image=${registry}/vod-worker:${version}`,
      "--rtmp-service-type=LoadBalancer",
      "--edge-service-type=LoadBalancer",
      "--region=eu-west-1",
      "--ingest-bucket=ingest-bucket",
      "--queue-url=https://sqs.eu-west-1.amazonaws.com/123456789012/vod",
      "--vod-egress-bucket=egress-bucket",
      "--vod-namespace=live360",
      `--vod-worker-service-account=${SERVICE_ACCOUNTS.vodWorker}`,
      `serviceAccountName: ${SERVICE_ACCOUNTS.operator}`,
      `${POOL_LABEL}: system`,
      // Origins run as the account their Pod Identity association names, on the tainted Spot pools.
      `--origin-service-account=${SERVICE_ACCOUNTS.origin}`,
      `name: ${SERVICE_ACCOUNTS.origin}`,
      "--require-node-pools",
      // Edges only CloudFront reaches: its header, its prefix list, HTTPS with the certificate.
      "--edge-origin-verify-secret=live360-origin-verify",
      "--edge-origin-verify-from=arn:aws:secretsmanager:eu-west-1:123456789012:secret:verify-AbCdEf",
      "--edge-security-group=sg-0123456789abcdef0",
      `--edge-tls-certificate-arn=${EDGE_CERTIFICATE}`,
    ]) {
      expect(stdout).toContain(expected);
    }
    // Pod Identity signs every AWS call on EKS: no static keys (aws.credentialsSecret) anywhere.
    expect(stdout).not.toContain("--aws-credentials-secret");
    expect(stdout).not.toContain("secretKeyRef");
  }, 600_000);

  test("outputs: cluster, kubeconfig command, ingest hint, CloudFront domain, player URLs", () => {
    const outputs = Object.keys(withEdge.template.findOutputs("*"));
    for (const name of ["ClusterName", "UpdateKubeconfigCommand", "IngestUrlHint", "CloudFrontDomain", "PlayerUrlTemplate", "TestPatternPlayerUrl", "VodPlayerUrlTemplate"]) {
      expect(outputs).toContain(name);
    }
    withEdge.template.hasOutput("UpdateKubeconfigCommand", { Value: Match.objectLike({ "Fn::Join": Match.anyValue() }) });
    expect(outputs).not.toContain("NextStep");
  });
});

describe("EKS example", () => {
  test("examples/liveevent.yaml with origins and edges on their tainted Spot pools, and nothing else changed", () => {
    type Placed = { nodeSelector?: Record<string, string>; tolerations?: Json[] };
    type Event = { spec: { origin: Placed; edge: Placed } };
    const eks = parse(readFileSync(path.join(repoRoot, "eks-infra/examples/liveevent.yaml"), "utf8")) as Event;
    const base = parse(readFileSync(path.join(repoRoot, "examples/liveevent.yaml"), "utf8")) as Event;
    for (const [component, pool] of [["origin", "origin"], ["edge", "edge"]] as const) {
      const placed = eks.spec[component];
      expect(NODE_POOLS.find((p) => p.name === pool)?.tainted).toBe(true);
      expect(placed.nodeSelector).toEqual({ [POOL_LABEL]: pool });
      expect(placed.tolerations).toEqual([{ key: POOL_LABEL, operator: "Equal", value: pool, effect: "NoSchedule" }]);
      delete placed.nodeSelector;
      delete placed.tolerations;
    }
    expect(eks).toEqual(base);
  });
});

describe("configuration", () => {
  test.each([
    [{ domainName: "live.example.com" }, "certificateArn=(not set): set both domainName and certificateArn, or neither"],
    [{ domainName: "live.example.com", certificateArn: "arn:aws:acm:eu-west-1:123456789012:certificate/0b0e0d0e-0000-4000-8000-000000000000" }, "give an ACM certificate ARN in us-east-1"],
    [{ apiAllowedCidrs: "203.0.113.0/24,everyone" }, 'apiAllowedCidrs="everyone"'],
    [{ apiAllowedCidrs: "" }, "apiAllowedCidrs=(not set): give the IPv4 CIDRs allowed to reach the Kubernetes API"],
    [{ apiAllowedCidrs: "10.0.0.0/8", edgeOriginCertificateArn: EDGE_CERTIFICATE }, "edgeOriginDomain=(not set): with edgeOriginCertificateArn, give your own name"],
    [{ apiAllowedCidrs: "10.0.0.0/8", edgeOriginDomain: EDGE_LB, edgeOriginCertificateArn: EDGE_CERTIFICATE }, "no certificate can be had for the NLB's AWS name"],
    [{ apiAllowedCidrs: "10.0.0.0/8", originVerifyRotation: "next" }, 'originVerifyRotation="next": give a number'],
    [{ notifyQueueOnUpload: "yes" }, 'notifyQueueOnUpload="yes": use true or false'],
    [{ operatorChartPath: "/nonexistent/chart" }, "no Chart.yaml there"],
    [{ namespace: "Live360" }, "give a Kubernetes namespace name"],
  ] as [InfraConfigInput, string][])("%j is refused: %s", (input, message) => {
    expect(() => resolveInfraConfig({ apiAllowedCidrs: "10.0.0.0/8", ...input })).toThrow(message);
  });
});
