import { describe, expect, test } from "@jest/globals";
import { ConfigError, EDGE_UPSTREAM_KEEPALIVE_SECONDS } from "@live360/core";
import { resolveOriginConfig } from "./config.js";

describe("origin configuration", () => {
  test("defaults: 2 s segments, 6-segment window, 10 s reconnect grace, 25 s shutdown grace", () => {
    const config = resolveOriginConfig();
    expect(config).toMatchObject({ rtmpPort: 1935, httpPort: 8080, segmentSeconds: 2, windowSegments: 6, reconnectGraceSeconds: 10, shutdownGraceSeconds: 25 });
    expect(config.ladder.map((r) => r.name)).toEqual(["source", "960p", "540p", "480p"]);
  });

  test("ingest limits have defaults and can be set one by one", () => {
    expect(resolveOriginConfig().limits).toEqual({
      maxConnections: 200, maxConnectionsPerAddress: 20, maxStreams: 20, publishTimeoutSeconds: 10, idleTimeoutSeconds: 30, maxMessageBytes: 8 * 1024 * 1024, maxChunkStreams: 32,
    });
    expect(resolveOriginConfig({ limits: { maxStreams: 1 } }).limits).toMatchObject({ maxStreams: 1, maxConnections: 200 });
  });

  test("HTTP limits have defaults; the keep-alive outlasts the edge's upstream keep-alive", () => {
    expect(resolveOriginConfig().httpLimits).toEqual({ maxConnections: 1024, keepAliveTimeoutSeconds: 75, headersTimeoutSeconds: 10, requestTimeoutSeconds: 30, sendTimeoutSeconds: 60 });
    expect(resolveOriginConfig().httpLimits.keepAliveTimeoutSeconds).toBeGreaterThan(EDGE_UPSTREAM_KEEPALIVE_SECONDS);
    expect(resolveOriginConfig({ httpLimits: { sendTimeoutSeconds: 5 } }).httpLimits).toMatchObject({ sendTimeoutSeconds: 5, maxConnections: 1024 });
  });

  test("the low-latency preset uses 1 s segments", () => {
    expect(resolveOriginConfig({ lowLatency: true }).segmentSeconds).toBe(1);
  });

  test("HLS format: TS by default; CMAF with a part target of at most half a segment, and no encryption yet", () => {
    expect(resolveOriginConfig()).toMatchObject({ hlsFormat: "ts", partTargetSeconds: 0.33 });
    expect(resolveOriginConfig({ hlsFormat: "cmaf", lowLatency: true, partTargetSeconds: 0.33 })).toMatchObject({ hlsFormat: "cmaf", segmentSeconds: 1, partTargetSeconds: 0.33 });
    expect(() => resolveOriginConfig({ hlsFormat: "dash" as never })).toThrow(/hlsFormat \(--hls-format\).*"dash"/);
    expect(() => resolveOriginConfig({ hlsFormat: "cmaf", lowLatency: true, partTargetSeconds: 0.6 })).toThrow(/partTargetSeconds \(--part-target\).*half the segment duration \(0\.5 s\)/);
    expect(() => resolveOriginConfig({ hlsFormat: "cmaf", partTargetSeconds: 0.1 })).toThrow(ConfigError);
    // PART-HOLD-BACK: three parts by default, down to the spec's floor of two.
    expect(resolveOriginConfig().partHoldBackParts).toBe(3);
    expect(resolveOriginConfig({ hlsFormat: "cmaf", partHoldBackParts: 2 }).partHoldBackParts).toBe(2);
    expect(() => resolveOriginConfig({ hlsFormat: "cmaf", partHoldBackParts: 1.5 })).toThrow(/partHoldBackParts \(--part-hold-back\).*1\.5/);
    expect(() => resolveOriginConfig({ hlsFormat: "cmaf", hlsEncryption: { secret: "0123456789abcdef0123456789abcdef", rotationSegments: 10 } })).toThrow(/--hls-format ts with encryption/);
  });

  test("peers are kept as base URLs", () => {
    expect(resolveOriginConfig({ peers: ["http://origin-backup.events.svc:8080/"] }).peers).toEqual(["http://origin-backup.events.svc:8080"]);
  });

  test("allowed streams: any valid name unless given", () => {
    expect(resolveOriginConfig().allowedStreams).toBeUndefined();
    expect(resolveOriginConfig({ allowedStreams: ["keynote", "keynote-backup-feed"] }).allowedStreams).toEqual(["keynote", "keynote-backup-feed"]);
  });

  test.each([
    [{ rtmpPort: 70000 }, /rtmpPort \(--rtmp-port\)=70000: use a whole number from 1 to 65535/],
    [{ httpPort: 1935 }, /httpPort \(--http-port\)=1935: use a different port from --rtmp-port/],
    [{ windowSegments: 1 }, /windowSegments \(--window\)=1: use a number from 3 to 60/],
    [{ reconnectGraceSeconds: -1 }, /reconnectGraceSeconds \(--reconnect-grace\)=-1/],
    [{ adminToken: "short" }, /adminToken \(--admin-token-file or LIVE360_ADMIN_TOKEN\)="<hidden>": use at least 16 characters/],
    [{ allowedStreams: ["Keynote"] }, /allowedStreams \(--allow-stream\)="Keynote": give a stream name matching/],
    [{ allowedStreams: [] }, /allowedStreams \(--allow-stream\)=\[\]: give at least one stream name/],
    [{ rtmps: { port: 1935, certFile: "tls.crt", keyFile: "tls.key" } }, /rtmps\.port \(--rtmps-port\)=1935: use a port other than --rtmp-port and --http-port/],
    [{ rtmps: { port: 1936, certFile: "", keyFile: "tls.key" } }, /rtmps\.certFile \(--tls-cert-file\)=""/],
    [{ projection: "sphere" as never }, /projection \(--projection\)="sphere": use one of equirectangular, cubemap, flat/],
    [{ peers: ["origin-backup:8080"] }, /peers \(--peer\)="origin-backup:8080": use an http:\/\/ or https:\/\/ URL/],
    [{ peers: ["not a url"] }, /peers \(--peer\)="not a url": give the other origin's base URL/],
    [{ peers: ["http://origin-backup:8080/stat"] }, /peers \(--peer\)="http:\/\/origin-backup:8080\/stat": give the base URL only/],
    [{ limits: { maxConnections: 0 } }, /limits\.maxConnections \(--max-connections\)=0: use a number from 1 to 100000/],
    [{ limits: { maxConnections: 10, maxConnectionsPerAddress: 20 } }, /--max-connections-per-address\)=20: use at most --max-connections \(10\)/],
    [{ httpLimits: { keepAliveTimeoutSeconds: 5 } }, /httpLimits\.keepAliveTimeoutSeconds \(--http-keepalive-timeout\)=5: use more than 60 \(the edge's upstream keep-alive\)/],
    [{ httpLimits: { headersTimeoutSeconds: 40 } }, /httpLimits\.headersTimeoutSeconds \(--http-headers-timeout\)=40: use at most --http-request-timeout \(30\)/],
    [{ httpLimits: { maxConnections: 0 } }, /httpLimits\.maxConnections \(--http-max-connections\)=0: use a number from 1 to 100000/],
    [{ limits: { maxMessageBytes: 0x1000000 } }, /limits\.maxMessageBytes \(--max-rtmp-message-bytes\)=16777216/],
  ])("rejects %p naming the field, the value and the fix", (input, message) => {
    expect(() => resolveOriginConfig(input)).toThrow(ConfigError);
    expect(() => resolveOriginConfig(input)).toThrow(message);
  });
});
