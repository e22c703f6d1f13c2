import * as eks from "aws-cdk-lib/aws-eks";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import { podIdentityPrincipal } from "./cluster.js";
import { SERVICE_ACCOUNTS } from "./config.js";
import type { Storage } from "./storage.js";

export interface WorkloadRolesProps {
  clusterName: string;
  clusterArn: string;
  namespace: string;
  storage: Storage;
  /** The origin-verify secret the operator copies to the edges. */
  originVerify: secretsmanager.ISecret;
}

/**
 * One IAM role per live360 identity, each granted exactly what that workload does, bound to its
 * Kubernetes service account with EKS Pod Identity (no OIDC provider, no role-ARN annotations; the
 * trust policy admits only the EKS Pod Identity service, for this account, cluster, namespace and
 * service account):
 *   origin     uploads recordings, then announces each on the queue;
 *   vod-worker reads recordings, writes HLS assets, and works the queue;
 *   operator   turns queue messages into VodJobs and keeps them invisible while they run, reads
 *              the queue's and its dead-letter queue's depths (metrics), and copies the
 *              origin-verify secret to the edges.
 */
export class WorkloadRoles extends Construct {
  readonly origin: iam.Role;
  readonly vodWorker: iam.Role;
  readonly operator: iam.Role;

  constructor(scope: Construct, id: string, props: WorkloadRolesProps) {
    super(scope, id);
    const { ingest, egress, queue, deadLetterQueue } = props.storage;
    const role = (name: keyof typeof SERVICE_ACCOUNTS, description: string, statements: iam.PolicyStatement[]): iam.Role => {
      const created = new iam.Role(this, name, {
        description,
        assumedBy: podIdentityPrincipal(props.clusterArn, props.namespace, SERVICE_ACCOUNTS[name]),
        inlinePolicies: { live360: new iam.PolicyDocument({ statements }) },
      });
      new eks.CfnPodIdentityAssociation(this, `${name}Association`, {
        clusterName: props.clusterName,
        namespace: props.namespace,
        serviceAccount: SERVICE_ACCOUNTS[name],
        roleArn: created.roleArn,
      });
      return created;
    };

    this.origin = role("origin", "live360 origin: upload recordings to the ingest bucket and queue their VOD jobs", [
      new iam.PolicyStatement({ actions: ["s3:PutObject", "s3:AbortMultipartUpload"], resources: [ingest.arnForObjects("recordings/*")] }),
      new iam.PolicyStatement({ actions: ["sqs:SendMessage"], resources: [queue.queueArn] }),
    ]);

    this.vodWorker = role("vodWorker", "live360 vod-worker: read recordings, write HLS assets, work the VOD queue", [
      new iam.PolicyStatement({ actions: ["s3:GetObject"], resources: [ingest.arnForObjects("recordings/*")] }),
      // Without ListBucket S3 answers a missing key with 403, not 404: a job for a recording that
      // is gone must be refused as not found, not retried as an access problem.
      new iam.PolicyStatement({ actions: ["s3:ListBucket"], resources: [ingest.bucketArn], conditions: { StringLike: { "s3:prefix": "recordings/*" } } }),
      // GetObject on its own output: the idempotency check reads an asset's manifest and master
      // playlist before transcoding again (found by recording the worker's calls).
      new iam.PolicyStatement({ actions: ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"], resources: [egress.arnForObjects("vod/*")] }),
      new iam.PolicyStatement({ actions: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"], resources: [queue.queueArn] }),
    ]);

    this.operator = role("operator", "live360 operator: VodJobs from the VOD queue, messages kept invisible while they run; the queues' depths; the origin-verify secret", [
      new iam.PolicyStatement({
        actions: ["sqs:GetQueueAttributes", "sqs:ReceiveMessage", "sqs:ChangeMessageVisibility", "sqs:DeleteMessage"],
        resources: [queue.queueArn],
      }),
      // Found through the queue's redrive policy (GetQueueUrl by its name), then only counted.
      new iam.PolicyStatement({ actions: ["sqs:GetQueueUrl", "sqs:GetQueueAttributes"], resources: [deadLetterQueue.queueArn] }),
      new iam.PolicyStatement({ actions: ["secretsmanager:GetSecretValue"], resources: [props.originVerify.secretArn] }),
    ]);
  }
}
