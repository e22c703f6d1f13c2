import { KubectlV34Layer } from "@aws-cdk/lambda-layer-kubectl-v34";
import { ArnFormat, Aws, Stack } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as eksL1 from "aws-cdk-lib/aws-eks";
import * as eks from "aws-cdk-lib/aws-eks-v2";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as s3 from "aws-cdk-lib/aws-s3";
import { Construct } from "constructs";
import type { InfraConfig } from "./config.js";
import { NODE_POOLS, POOL_LABEL } from "./node-pools.js";

/**
 * Who may assume a Pod Identity role: the EKS Pod Identity service, acting for this account
 * (aws:SourceAccount), for exactly one cluster, namespace and service account (the session tags it
 * sets). Without the conditions any Pod Identity association in the account could use the role.
 */
export function podIdentityPrincipal(clusterArn: string, namespace: string, serviceAccount: string): iam.IPrincipal {
  return new iam.SessionTagsPrincipal(
    new iam.ServicePrincipal("pods.eks.amazonaws.com").withConditions({
      StringEquals: {
        "aws:SourceAccount": Aws.ACCOUNT_ID,
        "aws:RequestTag/eks-cluster-arn": clusterArn,
        "aws:RequestTag/kubernetes-namespace": namespace,
        "aws:RequestTag/kubernetes-service-account": serviceAccount,
      },
    }),
  );
}

/**
 * Cluster add-ons installed from public charts, pinned. Cluster Autoscaler follows the Kubernetes
 * minor version; Node Termination Handler runs in IMDS mode (see installNodeTerminationHandler).
 */
export const CLUSTER_AUTOSCALER = { chart: "cluster-autoscaler", repository: "https://kubernetes.github.io/autoscaler", version: "9.53.0", image: "v1.34.0" };
export const NODE_TERMINATION_HANDLER = {
  chart: "aws-node-termination-handler",
  repository: "oci://public.ecr.aws/aws-ec2/helm/aws-node-termination-handler",
  version: "0.27.6",
};

export interface Live360ClusterProps {
  config: InfraConfig;
  logs: s3.IBucket;
}

/**
 * The network and the Kubernetes cluster: a VPC over three zones (public subnets for the load
 * balancers, private ones for the nodes) with an S3 gateway endpoint, EKS with managed node groups
 * from NODE_POOLS, the add-ons Spot and autoscaling need, and the AWS Load Balancer Controller for
 * the RTMP and edge NLBs.
 *
 * Built on aws-eks-v2 (stable since aws-cdk-lib 2.240) rather than aws-eks: the cluster is the
 * native AWS::EKS::Cluster resource instead of a custom resource whose Lambda role becomes the
 * cluster's hidden creator; authentication uses EKS access entries instead of the aws-auth
 * ConfigMap; and the kubectl Lambda exists only for what needs it (the Helm releases here).
 */
export class Live360Cluster extends Construct {
  readonly vpc: ec2.Vpc;
  /** The S3 gateway endpoint, routed from every subnet of the VPC. */
  readonly s3Endpoint: ec2.GatewayVpcEndpoint;
  readonly cluster: eks.Cluster;
  readonly clusterAutoscalerRole: iam.Role;

  constructor(scope: Construct, id: string, props: Live360ClusterProps) {
    super(scope, id);
    const { config } = props;

    this.vpc = new ec2.Vpc(this, "Vpc", {
      maxAzs: 3,
      // One NAT gateway per zone: losing a zone must not cut the other zones' image pulls and SQS calls.
      natGateways: 3,
      subnetConfiguration: [
        { name: "public", subnetType: ec2.SubnetType.PUBLIC, cidrMask: 22 },
        { name: "nodes", subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 19 },
      ],
    });
    // Recordings and assets go to S3 without NAT charges; the egress bucket's policy names this
    // endpoint to let the edges read encrypted VOD assets unsigned (Storage.admitVodReadsThrough).
    // The id "S3" is the one the Vpc's gatewayEndpoints option gave it, so it stays the same resource.
    this.s3Endpoint = this.vpc.addGatewayEndpoint("S3", { service: ec2.GatewayVpcEndpointAwsService.S3 });
    this.vpc.addFlowLog("FlowLogs", { destination: ec2.FlowLogDestination.toS3(props.logs, "vpc/"), trafficType: ec2.FlowLogTrafficType.REJECT });

    const nodeSubnets: ec2.SubnetSelection = { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
    this.cluster = new eks.Cluster(this, "Cluster", {
      clusterName: config.clusterName,
      version: eks.KubernetesVersion.V1_34,
      vpc: this.vpc,
      vpcSubnets: [nodeSubnets],
      defaultCapacityType: eks.DefaultCapacityType.NODEGROUP,
      defaultCapacity: 0,
      // Never open to the whole internet by default: the CIDRs given, or no public endpoint at all.
      endpointAccess: config.apiAllowedCidrs === "private" ? eks.EndpointAccess.PRIVATE : eks.EndpointAccess.PUBLIC_AND_PRIVATE.onlyFrom(...config.apiAllowedCidrs),
      clusterLogging: [
        eks.ClusterLoggingTypes.API,
        eks.ClusterLoggingTypes.AUDIT,
        eks.ClusterLoggingTypes.AUTHENTICATOR,
        eks.ClusterLoggingTypes.CONTROLLER_MANAGER,
        eks.ClusterLoggingTypes.SCHEDULER,
      ],
      // In the VPC, the kubectl Lambda reaches the private endpoint whatever apiAllowedCidrs says.
      kubectlProviderOptions: { kubectlLayer: new KubectlV34Layer(this, "KubectlLayer"), privateSubnets: this.vpc.privateSubnets },
      // Origins' RTMP Services become NLBs (annotations set by the operator), straight to pod IPs.
      albController: { version: eks.AlbControllerVersion.V2_8_2 },
    });

    if (config.adminRoleArn) {
      this.cluster.grantAccess("Admin", config.adminRoleArn, [
        eks.AccessPolicy.fromAccessPolicyName("AmazonEKSClusterAdminPolicy", { accessScopeType: eks.AccessScopeType.CLUSTER }),
      ]);
    }

    // Pod Identity credentials for the live360 roles; metrics-server feeds the edge HPA's CPU metric.
    for (const addonName of ["eks-pod-identity-agent", "metrics-server"]) {
      new eks.Addon(this, addonName, { cluster: this.cluster, addonName });
    }

    for (const pool of NODE_POOLS) {
      this.cluster.addNodegroupCapacity(pool.name, {
        nodegroupName: `${config.clusterName}-${pool.name}`,
        capacityType: pool.capacityType === "SPOT" ? eks.CapacityType.SPOT : eks.CapacityType.ON_DEMAND,
        instanceTypes: pool.instanceTypes.map((type) => new ec2.InstanceType(type)),
        amiType: eks.NodegroupAmiType.AL2023_X86_64_STANDARD,
        diskSize: pool.diskGiB,
        minSize: pool.minSize,
        maxSize: pool.maxSize,
        desiredSize: pool.desiredSize,
        subnets: nodeSubnets,
        labels: { [POOL_LABEL]: pool.name },
        taints: pool.tainted ? [{ key: POOL_LABEL, value: pool.name, effect: eks.TaintEffect.NO_SCHEDULE }] : [],
      });
    }

    this.clusterAutoscalerRole = this.installClusterAutoscaler(config.clusterName);
    this.installNodeTerminationHandler();
  }

  /**
   * Managed node groups do not scale themselves: Cluster Autoscaler grows a pool when pods are
   * Pending (the edge HPA adding replicas, a VodJob from the queue) and shrinks it when idle. It
   * discovers the groups by the tags EKS puts on their Auto Scaling groups, and reads each group's
   * labels and taints from EKS, so the VOD pool can scale up from zero.
   */
  private installClusterAutoscaler(clusterName: string): iam.Role {
    const serviceAccount = "cluster-autoscaler";
    const role = new iam.Role(this, "ClusterAutoscalerRole", {
      description: "Cluster Autoscaler: resize this cluster's managed node groups",
      assumedBy: podIdentityPrincipal(this.cluster.clusterArn, "kube-system", serviceAccount),
      inlinePolicies: {
        autoscaler: new iam.PolicyDocument({
          statements: [
            // Describe calls have no resource-level permissions in IAM.
            new iam.PolicyStatement({
              actions: [
                "autoscaling:DescribeAutoScalingGroups",
                "autoscaling:DescribeAutoScalingInstances",
                "autoscaling:DescribeLaunchConfigurations",
                "autoscaling:DescribeScalingActivities",
                "autoscaling:DescribeTags",
                "ec2:DescribeImages",
                "ec2:DescribeInstanceTypes",
                "ec2:DescribeLaunchTemplateVersions",
                "ec2:GetInstanceTypesFromInstanceRequirements",
              ],
              resources: ["*"],
            }),
            new iam.PolicyStatement({
              actions: ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
              // Only this cluster's groups: EKS names each managed node group's Auto Scaling group
              // eks-<node group>-<id> and tags it with the cluster.
              resources: [
                Stack.of(this).formatArn({
                  service: "autoscaling",
                  resource: "autoScalingGroup",
                  resourceName: `*:autoScalingGroupName/eks-${clusterName}-*`,
                  arnFormat: ArnFormat.COLON_RESOURCE_NAME,
                }),
              ],
              conditions: { StringEquals: { [`aws:ResourceTag/k8s.io/cluster-autoscaler/${clusterName}`]: "owned" } },
            }),
            new iam.PolicyStatement({
              actions: ["eks:DescribeNodegroup"],
              resources: [Stack.of(this).formatArn({ service: "eks", resource: "nodegroup", resourceName: `${clusterName}/*` })],
            }),
          ],
        }),
      },
    });
    new eksL1.CfnPodIdentityAssociation(this, "ClusterAutoscalerAssociation", {
      clusterName: this.cluster.clusterName,
      namespace: "kube-system",
      serviceAccount,
      roleArn: role.roleArn,
    });
    this.cluster.addHelmChart("ClusterAutoscaler", {
      chart: CLUSTER_AUTOSCALER.chart,
      repository: CLUSTER_AUTOSCALER.repository,
      version: CLUSTER_AUTOSCALER.version,
      namespace: "kube-system",
      release: "cluster-autoscaler",
      values: {
        autoDiscovery: { clusterName },
        awsRegion: Stack.of(this).region,
        image: { tag: CLUSTER_AUTOSCALER.image },
        rbac: { serviceAccount: { name: serviceAccount } },
        nodeSelector: { [POOL_LABEL]: "system" },
        extraArgs: {
          // Prefer the cheapest way to fit pending pods; never move origins around to save a node.
          expander: "least-waste",
          "balance-similar-node-groups": true,
          "skip-nodes-with-local-storage": false,
        },
      },
    });
    return role;
  }

  /**
   * EKS managed node groups already cordon and drain a Spot node when EC2 sends a rebalance
   * recommendation, after launching its replacement. An interruption notice can still arrive
   * without a rebalance recommendation first, and then nothing would drain the node in its
   * 2 minutes. Node Termination Handler in IMDS mode (a DaemonSet on Spot nodes only) covers exactly
   * that: on the notice it taints the node `aws-node-termination-handler/spot-itn` (which the
   * operator watches to switch the active origin at once) and drains it, honouring the PDBs and
   * each pod's preStop hook and grace period. Rebalance handling stays with EKS, so the two never
   * drain the same node for the same reason.
   */
  private installNodeTerminationHandler(): void {
    this.cluster.addHelmChart("NodeTerminationHandler", {
      chart: NODE_TERMINATION_HANDLER.chart,
      repository: NODE_TERMINATION_HANDLER.repository,
      version: NODE_TERMINATION_HANDLER.version,
      namespace: "kube-system",
      release: "aws-node-termination-handler",
      values: {
        enableSpotInterruptionDraining: true,
        enableScheduledEventDraining: true,
        enableRebalanceMonitoring: false,
        enableRebalanceDraining: false,
        taintNode: true,
        nodeSelector: { "eks.amazonaws.com/capacityType": "SPOT" },
        daemonsetTolerations: [{ key: POOL_LABEL, operator: "Exists", effect: "NoSchedule" }],
      },
    });
  }
}
