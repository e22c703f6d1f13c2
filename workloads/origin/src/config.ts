import path from "node:path";
import {
  ConfigError,
  DEFAULT_LADDER,
  EDGE_UPSTREAM_KEEPALIVE_SECONDS,
  HLS_ENCRYPTION_FLAGS,
  integerInRange,
  isValidStreamName,
  nonEmptyString,
  numberInRange,
  oneOf,
  port,
  validateLadder,
  PROJECTIONS,
  STREAM_NAME_PATTERN,
  resolveHlsEncryption,
  type HlsEncryptionConfig,
  type Projection,
  type Rendition,
} from "@live360/core";

/** Everything an origin needs, fully resolved; build it with resolveOriginConfig. */
export interface OriginConfig {
  rtmpPort: number;
  httpPort: number;
  bindAddress: string;
  /** HLS output, recordings and ingest state live below this directory. */
  dataDir: string;
  ladder: Rendition[];
  /** 1 s segments and zero-latency x264 tuning instead of 2 s segments. */
  lowLatency: boolean;
  segmentSeconds: number;
  /** Segments kept in each live playlist (the sliding window). */
  windowSegments: number;
  /**
   * `ts`: MPEG-TS segments written by FFmpeg's HLS muxer (HLS v6, every player). `cmaf`:
   * fragmented-MP4 segments cut into LL-HLS parts by the origin (cmaf/), with blocking playlist
   * reload and preload hints.
   */
  hlsFormat: HlsFormat;
  /** `cmaf`: the LL-HLS part target (`PART-TARGET`), seconds. */
  partTargetSeconds: number;
  /**
   * `cmaf`: `PART-HOLD-BACK` in part targets — how far behind the live edge LL-HLS players aim
   * (hls.js plays at it). rfc8216bis 4.4.3.8: at least 2, should be at least 3.
   */
  partHoldBackParts: number;
  /** How long an ended stream's HLS stays (with an end list) so an encoder can reconnect. */
  reconnectGraceSeconds: number;
  /** Upper bound for a clean SIGTERM shutdown, inside Kubernetes' grace period. */
  shutdownGraceSeconds: number;
  /**
   * The only stream names this origin takes (the event's stream); undefined takes any valid name
   * (local mode, a bare origin). Any other name is refused before a pipeline starts.
   */
  allowedStreams: readonly string[] | undefined;
  /** stream → secret; undefined means publishing is open (the local demo). */
  publishKeys: ReadonlyMap<string, string> | undefined;
  /** Bearer token for /control and /stat's full view; undefined disables the control API. */
  adminToken: string | undefined;
  /** Static player files served at /player/; undefined serves none. */
  playerDir: string | undefined;
  x264Preset: string;
  audioBitrateKbps: number;
  projection: Projection;
  /**
   * The other origins of the same event (base URLs): a starting stream takes its segment
   * numbering from a peer that already has it, so failover finds the same names (numbering.ts).
   */
  peers: string[];
  /** Wait up to one segment for a peer that has the stream but no numbering yet (the backup does). */
  waitForPeers: boolean;
  /** What the RTMP port allows anyone before a publish is authorized (ingest-limits.ts). */
  limits: IngestLimits;
  /**
   * RTMP over TLS beside plain RTMP, so publish keys do not cross the internet in clear text;
   * undefined: none. The certificate files are read again when they change (a renewed Secret).
   */
  rtmps: RtmpsConfig | undefined;
  /** AES-128 encryption of the HLS it serves (encryption.ts); undefined: clear. */
  hlsEncryption: HlsEncryptionConfig | undefined;
  /** What the HTTP port allows a client (http.ts). */
  httpLimits: HttpLimits;
}

export interface RtmpsConfig {
  port: number;
  /** PEM certificate chain and private key, e.g. a kubernetes.io/tls Secret's tls.crt and tls.key. */
  certFile: string;
  keyFile: string;
  /** How often the files are read again for a renewed certificate (60 s). */
  reloadIntervalSeconds: number;
}

/** 1936: what encoders and other servers use for RTMPS when 443 is taken (a load balancer maps 443 to it). */
export const DEFAULT_RTMPS_PORT = 1936;
const DEFAULT_RTMPS_RELOAD_SECONDS = 60;

/**
 * Resource limits of the HTTP port. Its clients are edges holding pooled keep-alive connections,
 * players (local mode) and scrapers; none needs long to send a request, and none may hold
 * sockets without bound.
 */
export interface HttpLimits {
  /** Open HTTP connections at once; further ones are closed on accept (counted). */
  maxConnections: number;
  /**
   * Seconds an idle keep-alive connection stays open. Longer than the edge's upstream keep-alive
   * (EDGE_UPSTREAM_KEEPALIVE_SECONDS), so the edge always closes first and never reuses a
   * connection the origin is closing.
   */
  keepAliveTimeoutSeconds: number;
  /** Seconds to receive a request's headers (a client trickling them is closed with 408). */
  headersTimeoutSeconds: number;
  /**
   * Seconds to receive a whole request. Only the request: a response the origin holds back
   * (a long-polling player's blocking reload) is not limited by it.
   */
  requestTimeoutSeconds: number;
  /** Seconds a response may make no progress (a client that stops reading) before the socket is closed. */
  sendTimeoutSeconds: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  maxConnections: 1024,
  keepAliveTimeoutSeconds: EDGE_UPSTREAM_KEEPALIVE_SECONDS + 15,
  headersTimeoutSeconds: 10,
  requestTimeoutSeconds: 30,
  sendTimeoutSeconds: 60,
};

/**
 * Resource limits of the RTMP ingest, enforced before authentication: whoever reaches the port
 * can hold connections, send chunk headers and claim stream names, so each has a bound.
 */
export interface IngestLimits {
  /** Open RTMP connections in all (publishers, and clients that never publish). */
  maxConnections: number;
  /**
   * Open RTMP connections from one remote address. Behind a load balancer that does not keep
   * client addresses (Kubernetes `externalTrafficPolicy: Cluster`), encoders share the node's.
   */
  maxConnectionsPerAddress: number;
  /** Streams live on this origin at once (a publish beyond it is refused: `too-many-streams`). */
  maxStreams: number;
  /** Seconds from TCP connect to the publish command (handshake, connect, createStream, publish). */
  publishTimeoutSeconds: number;
  /** Seconds without a byte from the client before its connection is closed. */
  idleTimeoutSeconds: number;
  /** Largest RTMP message accepted (a 4K keyframe at 40 Mbit/s is ≈ 2.5 MB). */
  maxMessageBytes: number;
  /** RTMP chunk stream ids one connection may use (encoders use 3 to 6). */
  maxChunkStreams: number;
}

export const DEFAULT_INGEST_LIMITS: IngestLimits = {
  maxConnections: 200,
  maxConnectionsPerAddress: 20,
  maxStreams: 20,
  publishTimeoutSeconds: 10,
  idleTimeoutSeconds: 30,
  maxMessageBytes: 8 * 1024 * 1024,
  maxChunkStreams: 32,
};

export const HLS_FORMATS = ["ts", "cmaf"] as const;
export type HlsFormat = (typeof HLS_FORMATS)[number];

export const DEFAULT_SEGMENT_SECONDS = 2;
export const LOW_LATENCY_SEGMENT_SECONDS = 1;

export const DEFAULT_ORIGIN_CONFIG: Omit<OriginConfig, "segmentSeconds"> = {
  rtmpPort: 1935,
  httpPort: 8080,
  bindAddress: "0.0.0.0",
  dataDir: "./.live360",
  ladder: [...DEFAULT_LADDER],
  lowLatency: false,
  windowSegments: 6,
  hlsFormat: "ts",
  // 0.33 s: glass-to-glass ≈ 1.05 s in hls.js (make bench-latency), against ≈ 2.2 s with 0.5 s
  // parts (PART-HOLD-BACK is three parts); below it each part costs a moof and a request.
  partTargetSeconds: 0.33,
  // The spec's "SHOULD": a player three parts back rarely starts inside the open segment, which
  // can stall hls.js 1.7.4. 2 with 0.2 s parts plays at ≈ 0.65 s (make bench-ll-startup).
  partHoldBackParts: 3,
  reconnectGraceSeconds: 10,
  shutdownGraceSeconds: 25,
  allowedStreams: undefined,
  rtmps: undefined,
  hlsEncryption: undefined,
  publishKeys: undefined,
  adminToken: undefined,
  playerDir: undefined,
  x264Preset: "veryfast",
  audioBitrateKbps: 128,
  projection: "equirectangular",
  peers: [],
  waitForPeers: false,
  limits: DEFAULT_INGEST_LIMITS,
  httpLimits: DEFAULT_HTTP_LIMITS,
};

const X264_PRESETS = ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium"] as const;

/** What resolveOriginConfig takes: any field may be left out (limits too, one by one). */
export type OriginConfigInput = Partial<Omit<OriginConfig, "limits" | "httpLimits" | "rtmps">> & {
  limits?: Partial<IngestLimits>;
  httpLimits?: Partial<HttpLimits>;
  rtmps?: Omit<RtmpsConfig, "reloadIntervalSeconds"> & { reloadIntervalSeconds?: number };
};

export function resolveOriginConfig(input: OriginConfigInput = {}): OriginConfig {
  const merged = { ...DEFAULT_ORIGIN_CONFIG, ...stripUndefined(input) };
  const lowLatency = merged.lowLatency;
  const segmentSeconds = input.segmentSeconds ?? (lowLatency ? LOW_LATENCY_SEGMENT_SECONDS : DEFAULT_SEGMENT_SECONDS);
  const config: OriginConfig = {
    ...merged,
    rtmpPort: port("rtmpPort (--rtmp-port)", merged.rtmpPort),
    httpPort: port("httpPort (--http-port)", merged.httpPort),
    bindAddress: nonEmptyString("bindAddress (--bind)", merged.bindAddress, "give an IP address such as 0.0.0.0"),
    dataDir: path.resolve(nonEmptyString("dataDir (--data-dir)", merged.dataDir, "give a writable directory")),
    ladder: validateLadder("ladder (--ladder)", [...merged.ladder]),
    segmentSeconds: numberInRange("segmentSeconds", segmentSeconds, 0.5, 10),
    windowSegments: integerInRange("windowSegments (--window)", merged.windowSegments, 3, 60),
    hlsFormat: oneOf("hlsFormat (--hls-format)", merged.hlsFormat, HLS_FORMATS),
    // Below 0.2 s a part is a handful of frames and its moof costs more than it carries.
    partTargetSeconds: numberInRange("partTargetSeconds (--part-target)", merged.partTargetSeconds, 0.2, 2),
    partHoldBackParts: numberInRange("partHoldBackParts (--part-hold-back)", merged.partHoldBackParts, 2, 10),
    reconnectGraceSeconds: numberInRange("reconnectGraceSeconds (--reconnect-grace)", merged.reconnectGraceSeconds, 0, 600),
    shutdownGraceSeconds: numberInRange("shutdownGraceSeconds (--shutdown-grace)", merged.shutdownGraceSeconds, 1, 600),
    x264Preset: oneOf("x264Preset", merged.x264Preset, X264_PRESETS),
    audioBitrateKbps: integerInRange("audioBitrateKbps", merged.audioBitrateKbps, 32, 512),
    projection: oneOf("projection (--projection)", merged.projection, PROJECTIONS),
    peers: merged.peers.map(peerUrl),
    allowedStreams: merged.allowedStreams?.map(allowedStream),
    rtmps: merged.rtmps && resolveRtmps(merged.rtmps),
    hlsEncryption: merged.hlsEncryption && resolveHlsEncryption(merged.hlsEncryption, HLS_ENCRYPTION_FLAGS),
    limits: resolveIngestLimits({ ...DEFAULT_INGEST_LIMITS, ...stripUndefined(merged.limits) }),
    httpLimits: resolveHttpLimits({ ...DEFAULT_HTTP_LIMITS, ...stripUndefined(merged.httpLimits) }),
  };
  if (config.rtmps && (config.rtmps.port === config.rtmpPort || config.rtmps.port === config.httpPort)) {
    throw new ConfigError("rtmps.port (--rtmps-port)", config.rtmps.port, "use a port other than --rtmp-port and --http-port");
  }
  if (config.hlsFormat === "cmaf" && config.hlsEncryption) {
    throw new ConfigError("hlsFormat (--hls-format)", "cmaf", "HLS encryption covers MPEG-TS segments only so far: use --hls-format ts with encryption");
  }
  if (config.hlsFormat === "cmaf" && config.partTargetSeconds > config.segmentSeconds / 2) {
    throw new ConfigError("partTargetSeconds (--part-target)", config.partTargetSeconds, `use at most half the segment duration (${config.segmentSeconds / 2} s): a segment needs at least two parts to gain anything over plain segments`);
  }
  if (config.rtmpPort === config.httpPort) {
    throw new ConfigError("httpPort (--http-port)", config.httpPort, "use a different port from --rtmp-port");
  }
  // An empty list would refuse every publisher: a mistake, not a mode.
  if (config.allowedStreams?.length === 0) {
    throw new ConfigError("allowedStreams (--allow-stream)", [], "give at least one stream name, or leave it out to take any valid name");
  }
  if (config.adminToken !== undefined && config.adminToken.length < 16) {
    throw new ConfigError("adminToken (--admin-token-file or LIVE360_ADMIN_TOKEN)", "<hidden>", "use at least 16 characters");
  }
  return config;
}

function resolveIngestLimits(limits: IngestLimits): IngestLimits {
  const resolved: IngestLimits = {
    maxConnections: integerInRange("limits.maxConnections (--max-connections)", limits.maxConnections, 1, 100_000),
    maxConnectionsPerAddress: integerInRange("limits.maxConnectionsPerAddress (--max-connections-per-address)", limits.maxConnectionsPerAddress, 1, 100_000),
    maxStreams: integerInRange("limits.maxStreams (--max-streams)", limits.maxStreams, 1, 10_000),
    publishTimeoutSeconds: numberInRange("limits.publishTimeoutSeconds (--rtmp-publish-timeout)", limits.publishTimeoutSeconds, 1, 600),
    idleTimeoutSeconds: numberInRange("limits.idleTimeoutSeconds (--rtmp-idle-timeout)", limits.idleTimeoutSeconds, 1, 3600),
    // RTMP's message length field has 24 bits.
    maxMessageBytes: integerInRange("limits.maxMessageBytes (--max-rtmp-message-bytes)", limits.maxMessageBytes, 64 * 1024, 0xffffff),
    maxChunkStreams: integerInRange("limits.maxChunkStreams (--max-chunk-streams)", limits.maxChunkStreams, 4, 65_599),
  };
  if (resolved.maxConnectionsPerAddress > resolved.maxConnections) {
    throw new ConfigError("limits.maxConnectionsPerAddress (--max-connections-per-address)", resolved.maxConnectionsPerAddress, `use at most --max-connections (${resolved.maxConnections})`);
  }
  return resolved;
}

function resolveHttpLimits(limits: HttpLimits): HttpLimits {
  const resolved: HttpLimits = {
    maxConnections: integerInRange("httpLimits.maxConnections (--http-max-connections)", limits.maxConnections, 1, 100_000),
    keepAliveTimeoutSeconds: numberInRange("httpLimits.keepAliveTimeoutSeconds (--http-keepalive-timeout)", limits.keepAliveTimeoutSeconds, 1, 3600),
    headersTimeoutSeconds: numberInRange("httpLimits.headersTimeoutSeconds (--http-headers-timeout)", limits.headersTimeoutSeconds, 1, 600),
    requestTimeoutSeconds: numberInRange("httpLimits.requestTimeoutSeconds (--http-request-timeout)", limits.requestTimeoutSeconds, 1, 3600),
    sendTimeoutSeconds: numberInRange("httpLimits.sendTimeoutSeconds (--http-send-timeout)", limits.sendTimeoutSeconds, 1, 3600),
  };
  if (resolved.keepAliveTimeoutSeconds <= EDGE_UPSTREAM_KEEPALIVE_SECONDS) {
    throw new ConfigError(
      "httpLimits.keepAliveTimeoutSeconds (--http-keepalive-timeout)",
      resolved.keepAliveTimeoutSeconds,
      `use more than ${EDGE_UPSTREAM_KEEPALIVE_SECONDS} (the edge's upstream keep-alive): an origin closing idle connections first makes the edge retry requests on the backup`,
    );
  }
  // Node refuses a headers deadline past the whole request's.
  if (resolved.headersTimeoutSeconds > resolved.requestTimeoutSeconds) {
    throw new ConfigError("httpLimits.headersTimeoutSeconds (--http-headers-timeout)", resolved.headersTimeoutSeconds, `use at most --http-request-timeout (${resolved.requestTimeoutSeconds})`);
  }
  return resolved;
}

function resolveRtmps(rtmps: NonNullable<OriginConfigInput["rtmps"]>): RtmpsConfig {
  return {
    port: port("rtmps.port (--rtmps-port)", rtmps.port),
    certFile: nonEmptyString("rtmps.certFile (--tls-cert-file)", rtmps.certFile),
    keyFile: nonEmptyString("rtmps.keyFile (--tls-key-file)", rtmps.keyFile),
    reloadIntervalSeconds: numberInRange("rtmps.reloadIntervalSeconds", rtmps.reloadIntervalSeconds ?? DEFAULT_RTMPS_RELOAD_SECONDS, 0.1, 3600),
  };
}

function allowedStream(name: string): string {
  if (!isValidStreamName(name)) throw new ConfigError("allowedStreams (--allow-stream)", name, `give a stream name matching ${STREAM_NAME_PATTERN.source}`);
  return name;
}

/** A peer origin's base URL, `http://host:port`; its /stat is read. */
function peerUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError("peers (--peer)", raw, "give the other origin's base URL, such as http://origin-backup:8080");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new ConfigError("peers (--peer)", raw, "use an http:// or https:// URL");
  if (url.pathname !== "/" || url.search !== "" || url.hash !== "") throw new ConfigError("peers (--peer)", raw, "give the base URL only, without a path (its /stat is read)");
  return url.origin;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
