import { describe, expect, test } from "@jest/globals";
import { ConfigError } from "@live360/core";
import { DEFAULT_OPERATOR_CONFIG, OPERATOR_VERSION, resolveOperatorConfig } from "./config.js";

describe("operator configuration", () => {
  test("images default to ghcr.io/live360/<workload>:<operator version>", () => {
    expect(OPERATOR_VERSION).toMatch(/^\d+\.\d+\.\d+/);
    expect(resolveOperatorConfig().images).toEqual({
      origin: `ghcr.io/live360/origin:${OPERATOR_VERSION}`,
      edge: `ghcr.io/live360/edge:${OPERATOR_VERSION}`,
      testSource: `ghcr.io/live360/test-source:${OPERATOR_VERSION}`,
      vodWorker: `ghcr.io/live360/vod-worker:${OPERATOR_VERSION}`,
      edgeMetrics: `ghcr.io/live360/operator:${OPERATOR_VERSION}`,
    });
    expect(resolveOperatorConfig()).toEqual(DEFAULT_OPERATOR_CONFIG);
  });

  test("overrides one image and keeps the others", () => {
    const config = resolveOperatorConfig({ images: { edge: "registry.local:5000/edge:dev" } });
    expect(config.images.edge).toBe("registry.local:5000/edge:dev");
    expect(config.images.origin).toBe(DEFAULT_OPERATOR_CONFIG.images.origin);
  });

  test("bad values name the field, the value and the fix", () => {
    expect(() => resolveOperatorConfig({ images: { origin: "ghcr.io/live360/origin:1.0; rm -rf /" } })).toThrow(/images\.origin=.*image reference/);
    expect(() => resolveOperatorConfig({ rtmpServiceType: "ClusterIP" as never })).toThrow(/rtmpServiceType="ClusterIP".*LoadBalancer, NodePort/);
    expect(() => resolveOperatorConfig({ recording: { bucket: "ingest" } })).toThrow(ConfigError);
    expect(() => resolveOperatorConfig({ recording: { bucket: "ingest" } })).toThrow(/recording\.queueUrl.*both/);
    expect(() => resolveOperatorConfig({ recording: { bucket: "ingest", queueUrl: "ftp://x" } })).toThrow(/recording\.queueUrl/);
    expect(() => resolveOperatorConfig({ originServiceAccount: "Live360_Origin" })).toThrow(/originServiceAccount="Live360_Origin".*ServiceAccount name/);
    expect(() => resolveOperatorConfig({ nodePools: { edge: "edge pool" } })).toThrow(/nodePools\.edge="edge pool".*live360\.io\/pool/);
  });

  test("the static AWS credentials Secret: none by default, a Secret name when set, refused with the fix when not one", () => {
    expect(resolveOperatorConfig().awsCredentialsSecret).toBeUndefined();
    expect(resolveOperatorConfig({ awsCredentialsSecret: "live360-aws-credentials" }).awsCredentialsSecret).toBe("live360-aws-credentials");
    // Secret names are DNS-1123 subdomains: dots are fine, unlike in ServiceAccount-style labels.
    expect(resolveOperatorConfig({ awsCredentialsSecret: "aws.static-keys" }).awsCredentialsSecret).toBe("aws.static-keys");
    for (const bad of ["AWS_Keys", "-keys", "keys.", "keys..static", "", "a".repeat(254)]) {
      expect(() => resolveOperatorConfig({ awsCredentialsSecret: bad })).toThrow(ConfigError);
    }
    expect(() => resolveOperatorConfig({ awsCredentialsSecret: "AWS_Keys" })).toThrow(
      /invalid configuration: awsCredentialsSecret="AWS_Keys": give the name of a Secret \(a DNS-1123 subdomain.*AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.*aws\.credentialsSecret/,
    );
  });
});
