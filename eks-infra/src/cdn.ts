import { Duration } from "aws-cdk-lib";
import * as acm from "aws-cdk-lib/aws-certificatemanager";
import * as cloudfront from "aws-cdk-lib/aws-cloudfront";
import * as origins from "aws-cdk-lib/aws-cloudfront-origins";
import * as s3 from "aws-cdk-lib/aws-s3";
import * as s3deploy from "aws-cdk-lib/aws-s3-deployment";
import type * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { ORIGIN_VERIFY_HEADER } from "@live360/edge";
import { Construct } from "constructs";

/** Where the player's static files live in the egress bucket, and its path on the distribution. */
export const PLAYER_PREFIX = "player/";

/**
 * Cache TTL bounds. CloudFront honours the origin's Cache-Control max-age inside [min, max] and
 * uses the default only when the origin sends none. The edge sends a short max-age on live
 * playlists and a long one on segments, which never change once written.
 */
/** The LL-HLS playlist directives (rfc8216bis 6.2.5): the only query strings CloudFront keys playlists by. */
export const LL_HLS_DIRECTIVES = ["_HLS_msn", "_HLS_part", "_HLS_skip"] as const;

export const PLAYLIST_TTL = { min: 0, default: 1, max: 2 } as const;
export const SEGMENT_TTL = { min: 0, default: 86_400, max: 31_536_000 } as const;

export interface CdnProps {
  egress: s3.IBucket;
  logs: s3.IBucket;
  playerPath: string;
  edgeOriginDomain: string | undefined;
  /** CloudFront reaches the edge over HTTPS only (the edge NLB has a certificate for edgeOriginDomain). */
  edgeOriginHttps: boolean;
  /** JSON {"current", "previous"}: CloudFront sends `current` in ORIGIN_VERIFY_HEADER. */
  originVerify: secretsmanager.ISecret;
  /** Part of the distribution's comment: a new value makes CloudFormation update it and read the secret again. */
  originVerifyRotation: string;
  domainName: string | undefined;
  certificateArn: string | undefined;
}

/**
 * One CloudFront distribution for viewers, HTTPS only:
 *   /hls/*     live HLS from the edge tier's load balancer (once its DNS name is known);
 *   /s/*       signed links (`/s/<keyId>/<expires>/<signature>/hls|vod/...`) to the same edges,
 *              which verify them and serve live HLS, encrypted VOD assets and their keys;
 *   /vod/*     on-demand assets from the egress bucket, through Origin Access Control;
 *   /player/*  the player's static files, from the same bucket.
 * The bucket stays private: its policy admits this distribution (OAC signs each request) and,
 * under vod/, the edges through the VPC's S3 endpoint (Storage.admitVodReadsThrough).
 */
export class Cdn extends Construct {
  readonly distribution: cloudfront.Distribution;

  constructor(scope: Construct, id: string, props: CdnProps) {
    super(scope, id);
    const bucketOrigin = origins.S3BucketOrigin.withOriginAccessControl(props.egress);
    const fromBucket: cloudfront.BehaviorOptions = {
      origin: bucketOrigin,
      viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
      cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
      allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
      compress: true,
    };

    const additionalBehaviors: Record<string, cloudfront.BehaviorOptions> = {
      "/vod/*": fromBucket,
      [`/${PLAYER_PREFIX}*`]: fromBucket,
    };
    if (props.edgeOriginDomain) {
      // The header proves a request came through CloudFront (edges refuse others); CloudFormation
      // resolves it from Secrets Manager, so the value is in no template. Over HTTPS when the edge
      // has a certificate for its name; else HTTP, since no certificate exists for the NLB's AWS
      // name: then the value and signed paths cross that hop unencrypted (README, "Security").
      const edge = new origins.HttpOrigin(props.edgeOriginDomain, {
        protocolPolicy: props.edgeOriginHttps ? cloudfront.OriginProtocolPolicy.HTTPS_ONLY : cloudfront.OriginProtocolPolicy.HTTP_ONLY,
        ...(props.edgeOriginHttps ? { originSslProtocols: [cloudfront.OriginSslPolicy.TLS_V1_2] } : {}),
        customHeaders: { [ORIGIN_VERIFY_HEADER]: props.originVerify.secretValueFromJson("current").unsafeUnwrap() },
      });
      // One cache policy per TTL class, shared by the unsigned and the signed paths.
      const cachePolicy = (name: string, ttl: { min: number; default: number; max: number }, comment: string, queryStrings: cloudfront.CacheQueryStringBehavior) =>
        new cloudfront.CachePolicy(this, name, {
          comment,
          minTtl: Duration.seconds(ttl.min),
          defaultTtl: Duration.seconds(ttl.default),
          maxTtl: Duration.seconds(ttl.max),
          // No cookies or headers in the key; query strings only where they name different content.
          cookieBehavior: cloudfront.CacheCookieBehavior.none(),
          headerBehavior: cloudfront.CacheHeaderBehavior.none(),
          queryStringBehavior: queryStrings,
        });
      // An LL-HLS blocking reload (issue #15) is a different answer per _HLS_msn/_HLS_part/_HLS_skip,
      // and only those reach the edge (CMCD and anything else stays out of key and request), so
      // viewers asking for the same part share one entry, as they do at the edge.
      const playlists = cachePolicy("LivePlaylists", PLAYLIST_TTL, "live360 live and signed playlists: origin Cache-Control, at most 2 s, keyed by the LL-HLS directives", cloudfront.CacheQueryStringBehavior.allowList(...LL_HLS_DIRECTIVES));
      const segments = cachePolicy("LiveSegments", SEGMENT_TTL, "live360 live and signed segments: origin Cache-Control, immutable once written", cloudfront.CacheQueryStringBehavior.none());
      const fromEdge = (policy: cloudfront.ICachePolicy): cloudfront.BehaviorOptions => ({
        origin: edge,
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
        // Segments are already compressed video; playlists and keys are tiny.
        compress: false,
        cachePolicy: policy,
      });
      // More specific first: CloudFront matches behaviours in order.
      additionalBehaviors["/hls/*.m3u8"] = fromEdge(playlists);
      additionalBehaviors["/hls/*"] = fromEdge(segments);
      // A key is the edge's answer to one valid signed link (it sends no-store): never cached, so
      // every key request reaches the edge and its signature check.
      additionalBehaviors["/s/*.key"] = fromEdge(cloudfront.CachePolicy.CACHING_DISABLED);
      additionalBehaviors["/s/*.m3u8"] = fromEdge(playlists);
      additionalBehaviors["/s/*"] = fromEdge(segments);
    }

    this.distribution = new cloudfront.Distribution(this, "Distribution", {
      comment: `live360: live HLS, VOD assets and the player (origin-verify rotation ${props.originVerifyRotation})`,
      defaultBehavior: fromBucket,
      additionalBehaviors,
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      // CloudFront keeps an error 10 s by default. A live segment not there yet must not stay "not
      // found" that long, nor an LL-HLS reload asking a little too far ahead (400, RFC 8216bis
      // 6.2.5.2) once its part exists: the same key is valid a moment later. A server error is kept
      // one second, a breath for the edges, shorter than a player's hold-back.
      errorResponses: [
        ...[400, 404].map((httpStatus) => ({ httpStatus, ttl: Duration.seconds(0) })),
        ...[500, 502, 503, 504].map((httpStatus) => ({ httpStatus, ttl: Duration.seconds(1) })),
      ],
      enableLogging: true,
      logBucket: props.logs,
      logFilePrefix: "cloudfront/",
      ...(props.domainName && props.certificateArn
        ? {
            domainNames: [props.domainName],
            certificate: acm.Certificate.fromCertificateArn(this, "Certificate", props.certificateArn),
            // Only a custom certificate takes a TLS policy; the default *.cloudfront.net one has CloudFront's own.
            minimumProtocolVersion: cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
          }
        : {}),
    });

    new s3deploy.BucketDeployment(this, "Player", {
      sources: [s3deploy.Source.asset(props.playerPath)],
      destinationBucket: props.egress,
      destinationKeyPrefix: PLAYER_PREFIX,
      distribution: this.distribution,
      distributionPaths: [`/${PLAYER_PREFIX}*`],
    });
  }
}
