import { CfnOutput, Fn, Stack, Validations, type StackProps } from "aws-cdk-lib";
import { Asset } from "aws-cdk-lib/aws-s3-assets";
import type { Construct, IConstruct } from "constructs";
import { Cdn, PLAYER_PREFIX } from "./cdn.js";
import { Live360Cluster } from "./cluster.js";
import { SERVICE_ACCOUNTS, type InfraConfig } from "./config.js";
import { EdgeAccess, ORIGIN_VERIFY_SECRET_NAME } from "./edge-access.js";
import { operatorChartValues } from "./operator-values.js";
import { Storage } from "./storage.js";
import { WorkloadRoles } from "./workload-roles.js";

export interface Live360StackProps extends StackProps {
  config: InfraConfig;
}

/**
 * Everything live360 needs in one AWS account and region: network and EKS on Spot, the VOD
 * pipeline's buckets and queue, CloudFront for viewers, Pod Identity roles, and the operator.
 * Region-agnostic: nothing here looks anything up, so `cdk synth` works offline.
 */
export class Live360Stack extends Stack {
  /**
   * Three zones without knowing the region: a region-agnostic stack would otherwise get two. Every
   * region with EKS and Spot capacity worth using has at least three.
   */
  override get availabilityZones(): string[] {
    return [0, 1, 2].map((i) => Fn.select(i, Fn.getAzs()));
  }

  constructor(scope: Construct, id: string, props: Live360StackProps) {
    super(scope, id, props);
    const { config } = props;

    const storage = new Storage(this, "Storage", { notifyQueueOnUpload: config.notifyQueueOnUpload });
    const network = new Live360Cluster(this, "Kubernetes", { config, logs: storage.logs });
    storage.admitVodReadsThrough(network.s3Endpoint);
    const edgeAccess = new EdgeAccess(this, "EdgeAccess", { vpc: network.vpc, https: config.edgeOriginCertificateArn !== undefined });
    const roles = new WorkloadRoles(this, "WorkloadRoles", {
      clusterName: network.cluster.clusterName,
      clusterArn: network.cluster.clusterArn,
      namespace: config.namespace,
      storage,
      originVerify: edgeAccess.originVerify,
    });
    const cdn = new Cdn(this, "Cdn", {
      egress: storage.egress,
      logs: storage.logs,
      playerPath: config.playerPath,
      edgeOriginDomain: config.edgeOriginDomain,
      edgeOriginHttps: config.edgeOriginCertificateArn !== undefined,
      originVerify: edgeAccess.originVerify,
      originVerifyRotation: config.originVerifyRotation,
      domainName: config.domainName,
      certificateArn: config.certificateArn,
    });

    network.cluster.addHelmChart("Operator", {
      chartAsset: new Asset(this, "OperatorChart", { path: config.operatorChartPath }),
      release: "live360-operator",
      namespace: config.namespace,
      createNamespace: true,
      values: operatorChartValues({
        chartPath: config.operatorChartPath,
        imageRegistry: config.imageRegistry,
        namespace: config.namespace,
        region: this.region,
        ingestBucket: storage.ingest.bucketName,
        egressBucket: storage.egress.bucketName,
        egressOrigin: `https://${storage.egress.bucketRegionalDomainName}`,
        queueUrl: storage.queue.queueUrl,
        edgeCdn: {
          originVerifySecret: ORIGIN_VERIFY_SECRET_NAME,
          originVerifyFrom: edgeAccess.originVerify.secretArn,
          securityGroups: [edgeAccess.loadBalancerGroup.securityGroupId],
          ...(config.edgeOriginCertificateArn ? { tlsCertificateArn: config.edgeOriginCertificateArn } : {}),
        },
      }),
    });

    const viewerHost = config.domainName ?? cdn.distribution.distributionDomainName;
    const outputs: Record<string, { value: string; description: string }> = {
      ClusterName: { value: network.cluster.clusterName, description: "EKS cluster" },
      UpdateKubeconfigCommand: {
        value: `aws eks update-kubeconfig --name ${network.cluster.clusterName} --region ${this.region}`,
        description: "Point kubectl at the cluster",
      },
      // The reference architecture printed primaryOriginElasticIp; here each origin gets an NLB per LiveEvent.
      IngestUrlHint: {
        value: `kubectl get liveevent -n ${config.namespace} -o jsonpath='{range .items[*]}{.status.ingest.primary}{"\\n"}{.status.ingest.backup}{"\\n"}{end}'`,
        description: "RTMP ingest URLs (primary, backup) of every LiveEvent: set OBS's server to one and the stream key to the stream name",
      },
      CloudFrontDomain: { value: cdn.distribution.distributionDomainName, description: "Viewer-facing distribution" },
      // The reference's clientWebsiteUrl and clientTestPatternUrl: the player on any stream, and on examples/liveevent.yaml's test pattern.
      PlayerUrlTemplate: {
        value: `https://${viewerHost}/${PLAYER_PREFIX}index.html?url=https://${viewerHost}/hls/<stream>/master.m3u8`,
        description: "Player for a live stream: replace <stream> with LiveEvent.spec.streamName",
      },
      TestPatternPlayerUrl: {
        value: `https://${viewerHost}/${PLAYER_PREFIX}index.html?url=https://${viewerHost}/hls/demo/master.m3u8`,
        description: "Player on eks-infra/examples/liveevent.yaml (test source on)",
      },
      VodPlayerUrlTemplate: {
        value: `https://${viewerHost}/${PLAYER_PREFIX}index.html?url=https://${viewerHost}/vod/<stream>/<timestamp>/master.m3u8`,
        description: "Player for a finished recording (kubectl get vodjob shows each asset's URL)",
      },
      IngestBucketName: { value: storage.ingest.bucketName, description: "Recordings" },
      EgressBucketName: { value: storage.egress.bucketName, description: "VOD assets and the player (private: CloudFront, and the edges under vod/ through the VPC's S3 endpoint)" },
      VodQueueUrl: { value: storage.queue.queueUrl, description: "VOD jobs" },
      VodDeadLetterQueueUrl: { value: storage.deadLetterQueue.queueUrl, description: "Recordings that failed to transcode" },
      OriginVerifySecretArn: {
        value: edgeAccess.originVerify.secretArn,
        description: "What CloudFront sends edges in X-Live360-Origin-Verify (JSON current/previous); rotate as the README says",
      },
      OriginRoleArn: { value: roles.origin.roleArn, description: `Pod Identity role of service account ${config.namespace}/${SERVICE_ACCOUNTS.origin}` },
      VodWorkerRoleArn: { value: roles.vodWorker.roleArn, description: `Pod Identity role of service account ${config.namespace}/${SERVICE_ACCOUNTS.vodWorker}` },
      OperatorRoleArn: { value: roles.operator.roleArn, description: `Pod Identity role of service account ${config.namespace}/${SERVICE_ACCOUNTS.operator}` },
    };
    if (!config.edgeOriginDomain) {
      outputs.NextStep = {
        value: `kubectl get svc -n ${config.namespace} -l app.kubernetes.io/component=edge -o jsonpath='{.items[0].status.loadBalancer.ingress[0].hostname}' then cdk deploy -c edgeOriginDomain=<that name>`,
        description: "Live HLS through CloudFront needs the edge load balancer's name, known after the first LiveEvent",
      };
    }
    for (const [id, output] of Object.entries(outputs)) new CfnOutput(this, id, output);

    acknowledgeFindings(this, { network, roles, cdn, edgeAccess, config });
  }
}

function acknowledge(scope: IConstruct, reason: string, ids: string[]): void {
  for (const id of ids) Validations.of(scope).acknowledge({ id: `AwsSolutions-${id}`, reason });
}

const managedPolicy = (name: string) => `IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/${name}]`;

/**
 * The AwsSolutions findings this stack accepts, each on the narrowest construct and with its
 * reason. cdk-nag 3 acknowledges findings one by one (rule and finding id), so a new finding, on a
 * live360 resource or anywhere else, is never covered by these and fails the synth.
 */
function acknowledgeFindings(stack: Stack, parts: { network: Live360Cluster; roles: WorkloadRoles; cdn: Cdn; edgeAccess: EdgeAccess; config: InfraConfig }): void {
  const { network, roles, cdn, edgeAccess, config } = parts;
  const cluster = network.cluster;

  acknowledge(
    cluster,
    "AWS-maintained policies that EKS requires: AmazonEKSClusterPolicy on the cluster role; AmazonEKSWorkerNodePolicy, " +
      "AmazonEKS_CNI_Policy and AmazonEC2ContainerRegistryReadOnly on managed node group roles; the Lambda execution " +
      "policies and ECR read access of CDK's kubectl/Helm provider. They follow EKS releases, which a hand copy would not.",
    [
      managedPolicy("AmazonEKSClusterPolicy"),
      managedPolicy("AmazonEKSWorkerNodePolicy"),
      managedPolicy("AmazonEKS_CNI_Policy"),
      managedPolicy("AmazonEC2ContainerRegistryReadOnly"),
      managedPolicy("service-role/AWSLambdaBasicExecutionRole"),
      managedPolicy("service-role/AWSLambdaVPCAccessExecutionRole"),
      'IAM4[Policy::{"Fn::If":["KubernetesClusterKubectlProviderHandlerHasEcrPublicB617B491",{"Fn::Join":["",["arn:",{"Ref":"AWS::Partition"},":iam::aws:policy/AmazonElasticContainerRegistryPublicReadOnly"]]},{"Ref":"AWS::NoValue"}]}]',
    ],
  );
  acknowledge(
    cluster,
    "CDK's kubectl/Helm provider (aws-eks-v2): it reads the chart assets from the CDK asset bucket and its framework invokes " +
      "its handler's versions; the grants and the Lambda runtime are CDK's and move with aws-cdk-lib.",
    [
      "IAM5[Action::s3:GetObject*]",
      "IAM5[Action::s3:GetBucket*]",
      "IAM5[Action::s3:List*]",
      "IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*]",
      "IAM5[Resource::<KubernetesClusterKubectlProviderHandlerF916491E.Arn>:*]",
      "L1",
    ],
  );
  if (cluster.albController) {
    acknowledge(
      cluster.albController,
      "The AWS Load Balancer Controller's published IAM policy (installed by aws-eks-v2): load balancers, target groups, " +
        "listeners and security groups it creates have names unknown in advance; its mutating actions are conditioned on " +
        "the elbv2.k8s.aws/cluster tag.",
      [
        "IAM5[Resource::*]",
        "IAM5[Resource::arn:<AWS::Partition>:ec2:*:*:security-group/*]",
        "IAM5[Resource::arn:<AWS::Partition>:elasticloadbalancing:*:*:targetgroup/*/*]",
        "IAM5[Resource::arn:<AWS::Partition>:elasticloadbalancing:*:*:loadbalancer/net/*/*]",
        "IAM5[Resource::arn:<AWS::Partition>:elasticloadbalancing:*:*:loadbalancer/app/*/*]",
        "IAM5[Resource::arn:<AWS::Partition>:elasticloadbalancing:*:*:listener/net/*/*/*]",
        "IAM5[Resource::arn:<AWS::Partition>:elasticloadbalancing:*:*:listener/app/*/*/*]",
        "IAM5[Resource::arn:<AWS::Partition>:elasticloadbalancing:*:*:listener-rule/net/*/*/*]",
        "IAM5[Resource::arn:<AWS::Partition>:elasticloadbalancing:*:*:listener-rule/app/*/*/*]",
      ],
    );
  }
  acknowledge(
    network.clusterAutoscalerRole,
    "Cluster Autoscaler: the Describe calls have no resource-level permissions; resizing is limited to this cluster's " +
      "node group Auto Scaling groups (name prefix and the k8s.io/cluster-autoscaler/<cluster> tag), whose ids EKS generates.",
    [
      "IAM5[Resource::*]",
      `IAM5[Resource::arn:<AWS::Partition>:autoscaling:<AWS::Region>:<AWS::AccountId>:autoScalingGroup:*:autoScalingGroupName/eks-${config.clusterName}-*]`,
      `IAM5[Resource::arn:<AWS::Partition>:eks:<AWS::Region>:<AWS::AccountId>:nodegroup/${config.clusterName}/*]`,
    ],
  );
  acknowledge(
    roles,
    "Object-level grants under one prefix: recordings/<stream>/<UTC time>.mp4 and vod/<stream>/<timestamp>/… are named at " +
      "run time; the actions are exact (no wildcards) and each bucket is reachable only under its prefix.",
    ["IAM5[Resource::<StorageIngestF6E638AD.Arn>/recordings/*]", "IAM5[Resource::<StorageEgressABC82C0F.Arn>/vod/*]"],
  );
  const deployment = stack.node.children.find((child) => child.node.id.startsWith("Custom::CDKBucketDeployment"));
  if (deployment) {
    acknowledge(
      deployment,
      "CDK's S3 deployment Lambda (the player's static files): it copies from the CDK asset bucket into the egress bucket " +
        "and invalidates /player/*; the grants, AWSLambdaBasicExecutionRole and the runtime are CDK's own.",
      [
        managedPolicy("service-role/AWSLambdaBasicExecutionRole"),
        "IAM5[Action::s3:GetObject*]",
        "IAM5[Action::s3:GetBucket*]",
        "IAM5[Action::s3:List*]",
        "IAM5[Action::s3:DeleteObject*]",
        "IAM5[Action::s3:Abort*]",
        "IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*]",
        "IAM5[Resource::<StorageEgressABC82C0F.Arn>/*]",
        "IAM5[Resource::*]",
        "L1",
      ],
    );
  }
  acknowledge(cdn.distribution, "Live events are for a worldwide audience; restrict with a geo restriction in cdn.ts if rights require it.", ["CFR1"]);
  acknowledge(cdn.distribution, "No WAF by default: HLS segments are public static media; add a web ACL (webAclId) for paid or private events.", ["CFR2"]);
  if (!config.domainName) {
    acknowledge(
      cdn.distribution,
      "Without a custom domain CloudFront serves its default *.cloudfront.net certificate, whose TLS policy it sets itself; " +
        "domainName + certificateArn apply TLSv1.2_2021.",
      ["CFR4"],
    );
  }
  if (config.edgeOriginDomain && !config.edgeOriginCertificateArn) {
    acknowledge(
      cdn.distribution,
      "The edge load balancer is reached by its AWS DNS name, for which no certificate exists; viewers get HTTPS from " +
        "CloudFront. Give edgeOriginCertificateArn and your own edgeOriginDomain to make this hop HTTPS.",
      ["CFR5"],
    );
  }
  acknowledge(
    edgeAccess,
    "ec2:DescribeManagedPrefixLists has no resource-level permissions; the lookup finds CloudFront's origin-facing prefix list id.",
    ["IAM5[Resource::*]"],
  );
  const lookupLambda = stack.node.children.find((child) => child.node.id.startsWith("AWS679f53fac002430cb0da5b7982bd2287"));
  if (lookupLambda) {
    acknowledge(lookupLambda, "CDK's AwsCustomResource Lambda (the prefix list lookup): AWSLambdaBasicExecutionRole for its logs is CDK's own.", [
      managedPolicy("service-role/AWSLambdaBasicExecutionRole"),
    ]);
  }
  acknowledge(
    edgeAccess.originVerify,
    "Rotated by hand with two valid values (README, 'Rotate the origin-verify secret'): an automatic rotation Lambda " +
      "would have to change CloudFront and wait for the edges, which the documented steps do in order.",
    ["SMG4"],
  );
}
