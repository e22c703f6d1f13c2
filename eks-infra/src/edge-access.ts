import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import * as cr from "aws-cdk-lib/custom-resources";
import { Construct } from "constructs";

/** AWS's managed prefix list of CloudFront's addresses that reach origins. */
export const CLOUDFRONT_ORIGIN_FACING = "com.amazonaws.global.cloudfront.origin-facing";
/** The Kubernetes Secret the operator copies the origin-verify values into, beside the LiveEvents. */
export const ORIGIN_VERIFY_SECRET_NAME = "live360-origin-verify";

export interface EdgeAccessProps {
  vpc: ec2.IVpc;
  /** The edge NLB listens on 443 with TLS too (an ACM certificate for its own name). */
  https: boolean;
}

/**
 * What keeps viewers from going around CloudFront to the edges:
 *   - a secret CloudFront sends in X-Live360-Origin-Verify on every request to an edge, generated
 *     in Secrets Manager as JSON {"current", "previous"} (CloudFront sends `current`, edges accept
 *     both during a rotation). It never passes through CloudFormation parameters or a Lambda: the
 *     distribution reads it through a dynamic reference, and the operator copies it from Secrets
 *     Manager into a Kubernetes Secret the edges mount (GetSecretValue on exactly this secret);
 *   - a security group for the edge NLBs that admits only CloudFront's origin-facing prefix list.
 */
export class EdgeAccess extends Construct {
  readonly originVerify: secretsmanager.Secret;
  readonly loadBalancerGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: EdgeAccessProps) {
    super(scope, id);
    this.originVerify = new secretsmanager.Secret(this, "OriginVerify", {
      description: "live360: the value CloudFront sends in X-Live360-Origin-Verify; edges refuse requests without it",
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ previous: "" }),
        generateStringKey: "current",
        passwordLength: 64,
        // Letters and digits: a header value the edge takes as is.
        excludePunctuation: true,
      },
    });

    // The prefix list's id differs per region, and this stack looks nothing up at synth time.
    const prefixList = new cr.AwsCustomResource(this, "CloudFrontPrefixList", {
      onUpdate: {
        service: "EC2",
        action: "DescribeManagedPrefixLists",
        parameters: { Filters: [{ Name: "prefix-list-name", Values: [CLOUDFRONT_ORIGIN_FACING] }] },
        physicalResourceId: cr.PhysicalResourceId.of(CLOUDFRONT_ORIGIN_FACING),
        outputPaths: ["PrefixLists.0.PrefixListId"],
      },
      policy: cr.AwsCustomResourcePolicy.fromSdkCalls({ resources: cr.AwsCustomResourcePolicy.ANY_RESOURCE }),
      installLatestAwsSdk: false,
    });
    this.loadBalancerGroup = new ec2.SecurityGroup(this, "EdgeLoadBalancer", {
      vpc: props.vpc,
      description: "live360 edge NLBs: only the CloudFront origin-facing addresses",
    });
    const cloudFront = ec2.Peer.prefixList(prefixList.getResponseField("PrefixLists.0.PrefixListId"));
    this.loadBalancerGroup.addIngressRule(cloudFront, ec2.Port.tcp(80), "HTTP from CloudFront only");
    if (props.https) this.loadBalancerGroup.addIngressRule(cloudFront, ec2.Port.tcp(443), "HTTPS from CloudFront only");
  }
}
