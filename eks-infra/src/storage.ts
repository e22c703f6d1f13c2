import { Duration, RemovalPolicy } from "aws-cdk-lib";
import type * as ec2 from "aws-cdk-lib/aws-ec2";
import * as iam from "aws-cdk-lib/aws-iam";
import * as s3 from "aws-cdk-lib/aws-s3";
import * as s3n from "aws-cdk-lib/aws-s3-notifications";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { DEFAULT_VOD_WORKER_CONFIG } from "@live360/vod-worker";

/** A recording that failed this often is set aside in the dead-letter queue (local mode uses the same). */
export const MAX_RECEIVE_COUNT = 5;
/** Recordings move to Infrequent Access after this (30 days is the class's minimum storage duration). */
export const INGEST_INFREQUENT_ACCESS_DAYS = 30;

export interface StorageProps {
  notifyQueueOnUpload: boolean;
}

/**
 * The VOD pipeline's storage: the ingest bucket the origins upload recordings to, the egress bucket
 * of finished HLS assets (read by CloudFront, and under vod/ by the edges: admitVodReadsThrough),
 * the job queue with its dead-letter queue, and a bucket for the access logs of all of them.
 */
export class Storage extends Construct {
  readonly logs: s3.Bucket;
  readonly ingest: s3.Bucket;
  readonly egress: s3.Bucket;
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: StorageProps) {
    super(scope, id);
    const common = {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      // Recordings and assets are the product: a stack deletion must not take them along.
      removalPolicy: RemovalPolicy.RETAIN,
    };

    // S3 server access logs and CloudFront standard logs; CloudFront still writes through ACLs.
    this.logs = new s3.Bucket(this, "Logs", {
      ...common,
      objectOwnership: s3.ObjectOwnership.OBJECT_WRITER,
      lifecycleRules: [{ expiration: Duration.days(90) }],
    });

    this.ingest = new s3.Bucket(this, "Ingest", {
      ...common,
      versioned: true,
      serverAccessLogsBucket: this.logs,
      serverAccessLogsPrefix: "s3/ingest/",
      lifecycleRules: [
        {
          transitions: [{ storageClass: s3.StorageClass.INFREQUENT_ACCESS, transitionAfter: Duration.days(INGEST_INFREQUENT_ACCESS_DAYS) }],
          // Versioning guards against an overwrite by mistake, not forever.
          noncurrentVersionExpiration: Duration.days(30),
          abortIncompleteMultipartUploadAfter: Duration.days(2),
        },
      ],
    });

    this.egress = new s3.Bucket(this, "Egress", {
      ...common,
      serverAccessLogsBucket: this.logs,
      serverAccessLogsPrefix: "s3/egress/",
      lifecycleRules: [{ abortIncompleteMultipartUploadAfter: Duration.days(2) }],
    });

    this.deadLetterQueue = new sqs.Queue(this, "DeadLetters", {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });

    this.queue = new sqs.Queue(this, "VodJobs", {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // What a receiver gets when it does not ask for more; the worker's and the operator's
      // heartbeats extend it while a transcode runs, so a dead worker's job is retried this soon.
      visibilityTimeout: Duration.seconds(DEFAULT_VOD_WORKER_CONFIG.visibilityTimeoutSeconds),
      retentionPeriod: Duration.days(14),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: MAX_RECEIVE_COUNT },
    });

    if (props.notifyQueueOnUpload) {
      // The worker reads S3 event messages too; jobs are named after the recording, so the
      // origin's own message and this one never make two transcodes.
      this.ingest.addEventNotification(s3.EventType.OBJECT_CREATED, new s3n.SqsDestination(this.queue), { prefix: "recordings/", suffix: ".mp4" });
    }
  }

  /**
   * Encrypted VOD assets go to viewers through the edges, which compute their keys and fetch the
   * assets unsigned (no SigV4, no credentials) from the bucket's regional endpoint. The bucket
   * allows that only for GetObject under vod/ and only for requests arriving through this VPC's
   * S3 gateway endpoint: no other object, no listing. A fixed aws:SourceVpce makes the statement
   * non-public to S3, so Block Public Access stays on.
   */
  admitVodReadsThrough(endpoint: ec2.IVpcEndpoint): void {
    this.egress.addToResourcePolicy(
      new iam.PolicyStatement({
        // Literally "*": an unsigned request has no principal to name.
        principals: [new iam.StarPrincipal()],
        actions: ["s3:GetObject"],
        resources: [this.egress.arnForObjects("vod/*")],
        conditions: { StringEquals: { "aws:SourceVpce": endpoint.vpcEndpointId } },
      }),
    );
  }
}
