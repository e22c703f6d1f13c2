import path from "node:path";
import { isIP } from "node:net";
import { ConfigError, integerInRange, matching, nonEmptyString, oneOf, port, secretLines } from "@live360/core";

/** One origin as the generated configuration uses it. */
export interface EdgeOrigin {
  /** `primary`, `backup`, `backup-2`…: shown in X-Served-By and logs. */
  name: string;
  /** `host:port` as nginx's upstream `server` directive takes it (`[::1]:8080` for IPv6). */
  hostPort: string;
  /** An IP literal maps to its name in X-Served-By; a DNS name shows the resolved address. */
  isIpLiteral: boolean;
}

export interface EdgeCacheConfig {
  /** proxy_cache_path; a tmpfs (`/dev/shm`, an emptyDir with medium Memory) is the fast choice. */
  dir: string;
  maxSizeMegabytes: number;
  /** Objects nobody asked for in this long are evicted even if still fresh. */
  inactiveSeconds: number;
  /** Shared-memory key zone; 1 MB holds about 8000 keys. */
  keysZoneMegabytes: number;
}

/**
 * Freshness used when the origin sends no Cache-Control/Expires, or instead of it when
 * `overrideOrigin` is set (for an origin whose headers cannot be fixed).
 */
export interface EdgeTtlConfig {
  playlistSeconds: number;
  segmentSeconds: number;
  overrideOrigin: boolean;
}

export interface EdgeResolverConfig {
  /** DNS servers, e.g. kube-dns's ClusterIP `10.96.0.10`. */
  addresses: readonly string[];
  /** Re-resolve origin names this often (needs nginx ≥ 1.27.3: the official image, not Debian 12). */
  validSeconds: number;
}

/**
 * Where on-demand assets live (the egress bucket, read without credentials: on EKS its policy
 * admits the cluster's S3 VPC endpoint for vod/* only). The edge serves `/vod/<stream>/<stamp>/…`
 * from it through its cache; that is how an encrypted asset is played, since only the edge can
 * hand out its keys.
 */
export interface EdgeVodOrigin {
  /** As given, for logs and errors. */
  url: string;
  scheme: "http" | "https";
  /** `host:port` for the upstream's `server`. */
  hostPort: string;
  /** The Host header and TLS server name S3 expects (`<bucket>.s3.<region>.amazonaws.com`). */
  host: string;
  /** The bucket in path-style addressing (`/egress`), or "" for a virtual-hosted bucket name. */
  pathPrefix: string;
  isIpLiteral: boolean;
}

export const ACCESS_LOG_TARGETS = ["off", "stdout", "file"] as const;
export type AccessLogTarget = (typeof ACCESS_LOG_TARGETS)[number];

/** Everything the edge needs, fully resolved; build it with resolveEdgeConfig. */
export interface EdgeConfig {
  /** In priority order: the first is the primary, the rest are backups tried in order. */
  origins: readonly EdgeOrigin[];
  listenAddress: string;
  listenPort: number;
  /** stub_status is served here only, bound to loopback: the metrics sidecar reads it in the pod. */
  statusPort: number;
  /** The Prometheus endpoint of the metrics sidecar (`runEdge` serves it in-process). */
  metricsPort: number;
  /**
   * Viewer insight (CMCD and the player's beacons, src/insight): nginx sends the access-log line
   * of every request carrying CMCD over UDP syslog to this loopback port and proxies beacons and
   * heatmap requests to the same port over TCP, where `runEdge` aggregates them into its metrics.
   * Undefined: off (nginx logs nothing extra and answers beacons 404).
   */
  insightPort: number | undefined;
  /**
   * LL-HLS relay (ll-relay.ts) on this loopback port: blocking reloads and held parts wait there,
   * collapsed into one origin request each and answered the moment it completes, instead of on
   * nginx's cache lock (which looks again only every 500 ms). nginx still caches the answers.
   * Undefined: nginx's cache lock collapses them.
   */
  llHlsRelayPort: number | undefined;
  cache: EdgeCacheConfig;
  ttl: EdgeTtlConfig;
  /** How long concurrent misses wait for the one request that fills the cache. */
  lockTimeoutMs: number;
  /** After this long a stuck filling request lets exactly one more request through. */
  lockAgeMs: number;
  connectTimeoutMs: number;
  /** Longest silence between two reads from an origin before it counts as failed. */
  readTimeoutMs: number;
  /**
   * The same for playlists, shorter: an origin writes them to disk and answers in
   * milliseconds, and a playlist request is what first meets a hung origin, so this is most
   * of the pause a viewer sees before the backup answers.
   */
  playlistReadTimeoutMs: number;
  /**
   * The same for LL-HLS blocking playlist reloads (`_HLS_msn`) and parts (the hinted one is held
   * until complete), which an origin holds until the part exists — within one part target plus
   * the encoder's delay. A player has about three part targets buffered (PART-HOLD-BACK) when
   * its next part is late, so this bounds what a hung origin costs it. Longer would leave
   * viewers of a hung origin waiting; shorter would send requests that were only waiting to the
   * backup. The default suits the origin's default 0.33 s parts; see blockingReadTimeoutMsFor.
   */
  blockingPlaylistReadTimeoutMs: number;
  /**
   * A failed origin is skipped this long before a live request probes it again. Each probe
   * of a hung origin holds one request for the read timeout, so probing rarely keeps a hung
   * primary invisible; a recovered primary gets its traffic back within this time.
   */
  failTimeoutSeconds: number;
  /** Idle HTTP/1.1 connections kept open to the origins per worker. */
  upstreamKeepalive: number;
  /** Path on the origins that answers 200 while the origin is alive; /readyz probes it. */
  originHealthPath: string;
  resolver: EdgeResolverConfig | undefined;
  /**
   * Signing keys by key id, when this process runs nginx: two are valid at once during a rotation.
   * They reach nginx through an environment variable, never the file.
   */
  signingKeys: ReadonlyMap<string, string> | undefined;
  /** A signed link expiring further ahead than this is refused: no link outlives a key's rotation by much. */
  signingMaxLifetimeSeconds: number;
  /**
   * Media only through signed URLs. True whenever a secret is given; true without one when the
   * configuration is rendered for someone else to run (the operator's ConfigMap: the secret comes
   * from a Kubernetes Secret into the pod's environment, and the operator never holds it).
   */
  signedUrls: boolean;
  /**
   * The values the CDN sends in ORIGIN_VERIFY_HEADER (two during a rotation), when given in the
   * environment of this process; like the signing keys they reach nginx through its environment,
   * never nginx.conf.
   */
  originVerifyValues: readonly string[] | undefined;
  /**
   * A file of origin-verify values (a mounted Secret) that nginx reads on every request, so a
   * rotation written to it (kubelet updates a mounted Secret in place) takes effect without a
   * restart. Wins over originVerifyValues.
   */
  originVerifyFile: string | undefined;
  /**
   * CDN-only: every request but the health checks must carry ORIGIN_VERIFY_HEADER with one of the
   * values, so viewers cannot bypass the CDN (its cache, logs, geo rules and costs). True whenever
   * values or a file are given.
   */
  cdnOnly: boolean;
  /** On-demand assets served under /vod/ from this bucket URL; undefined: no /vod/ at this edge. */
  vodOrigin: EdgeVodOrigin | undefined;
  /** CA bundle that verifies an https vodOrigin's certificate. */
  vodOriginCaFile: string;
  /**
   * The HLS encryption secret (a mounted Secret's file) from which the VOD worker derived an
   * asset's keys: the edge derives the same key for `/vod/<stream>/<stamp>/keys/<period>.key`
   * (njs, read on every request so a file written later counts) and hands it to signed requests
   * only. Undefined: VOD keys are refused.
   */
  hlsEncryptionSecretFile: string | undefined;
  /** Holds nginx.conf, the pid file, temp files and the drain flag; must be writable. */
  workDir: string;
  /** Where dynamic modules live: `/usr/lib/nginx/modules` in Debian and in the official image. */
  modulesDir: string;
  /** `user` directive; only meaningful when the nginx master runs as root. */
  user: string | undefined;
  /** `auto` = one worker per core. */
  workerProcesses: number | "auto";
  /**
   * `stdout` suits containers (the official image's stdout is a pipe); `file` writes
   * `<workDir>/access.log`, for local runs where nginx is a Node child (its stdout is a
   * socket, which nginx cannot open as /dev/stdout).
   */
  accessLog: AccessLogTarget;
  /** After SIGTERM, readiness fails for this long before nginx stops accepting connections. */
  drainDelaySeconds: number;
  /** Upper bound from SIGTERM to exit, inside Kubernetes' terminationGracePeriodSeconds. */
  shutdownGraceSeconds: number;
}

/** What callers may give: origins as URLs, everything else optional. */
export interface EdgeConfigInput
  extends Partial<Omit<EdgeConfig, "origins" | "cache" | "ttl" | "resolver" | "vodOrigin">> {
  origins?: readonly string[];
  /** The egress bucket's URL: `https://<bucket>.s3.<region>.amazonaws.com`, or `http://s3:7070/<bucket>` path-style. */
  vodOrigin?: string;
  cache?: Partial<EdgeCacheConfig>;
  ttl?: Partial<EdgeTtlConfig>;
  resolver?: EdgeResolverConfig;
}

/**
 * The blocking read timeout for an event with parts of `partTargetMs`: one part target for the
 * part to be cut, 0.6 s for the transcoded rungs' encoder delay (≈ 0.4 s measured with x264) and
 * the way, never below the default.
 */
export function blockingReadTimeoutMsFor(partTargetMs: number): number {
  return Math.max(DEFAULT_EDGE_CONFIG.blockingPlaylistReadTimeoutMs, Math.round(partTargetMs) + 600);
}

export const DEFAULT_EDGE_CONFIG: Omit<EdgeConfig, "origins"> = {
  listenAddress: "0.0.0.0",
  listenPort: 8080,
  statusPort: 8081,
  metricsPort: 9113,
  insightPort: undefined,
  llHlsRelayPort: undefined,
  cache: { dir: "./.live360/edge/cache", maxSizeMegabytes: 2048, inactiveSeconds: 1200, keysZoneMegabytes: 10 },
  // Playlists change every segment, segments never change (the origin's own headers say the same).
  ttl: { playlistSeconds: 1, segmentSeconds: 86_400, overrideOrigin: false },
  // Long enough for one segment fetch inside a cluster, short enough that a stuck origin
  // does not hold viewers for longer than a segment lasts.
  lockTimeoutMs: 3000,
  lockAgeMs: 2000,
  connectTimeoutMs: 1000,
  readTimeoutMs: 2000,
  playlistReadTimeoutMs: 1000,
  blockingPlaylistReadTimeoutMs: 1000,
  failTimeoutSeconds: 10,
  upstreamKeepalive: 32,
  originHealthPath: "/healthz",
  resolver: undefined,
  signingKeys: undefined,
  signingMaxLifetimeSeconds: 86_400,
  signedUrls: false,
  originVerifyValues: undefined,
  originVerifyFile: undefined,
  cdnOnly: false,
  vodOrigin: undefined,
  vodOriginCaFile: "/etc/ssl/certs/ca-certificates.crt",
  hlsEncryptionSecretFile: undefined,
  workDir: "./.live360/edge",
  modulesDir: "/usr/lib/nginx/modules",
  user: undefined,
  workerProcesses: "auto",
  accessLog: "file",
  drainDelaySeconds: 5,
  shutdownGraceSeconds: 25,
};

/** Environment variable through which nginx (njs) receives the signing keys, as `keyId=secret` lines. */
export const SIGNING_KEYS_ENV = "LIVE360_EDGE_SIGNING_KEYS";

const MIN_SECRET_LENGTH = 32;
/** Key ids appear in every signed path: short, lowercase, no separators but "-". */
export const SIGNING_KEY_ID = /^[a-z0-9][a-z0-9-]{0,31}$/;

/**
 * `keyId=secret` lines (a mounted Secret's file, or LIVE360_EDGE_SIGNING_KEYS; commas work too).
 * A bad entry is named by its key id, never its secret.
 */
export function parseSigningKeys(source: string, text: string): Map<string, string> {
  const keys = new Map<string, string>();
  for (const { entry, id, secret } of secretLines(text)) {
    const shown = id !== undefined ? `${id}=<${secret.length} characters>` : "<hidden>";
    if (id === undefined || !SIGNING_KEY_ID.test(id)) throw new ConfigError(`${source} entry ${entry}`, shown, "write keyId=secret, the key id lowercase letters, digits and '-' (at most 32)");
    if (secret.length < MIN_SECRET_LENGTH) throw new ConfigError(`${source} entry ${entry}`, shown, `use at least ${MIN_SECRET_LENGTH} random characters, e.g. $(openssl rand -base64 32)`);
    keys.set(id, secret);
  }
  if (keys.size === 0) throw new ConfigError(source, "<no keys>", "give at least one keyId=secret line");
  return keys;
}

/** Environment variable through which nginx (njs) receives the origin-verify values, one per line. */
export const ORIGIN_VERIFY_ENV = "LIVE360_EDGE_ORIGIN_VERIFY";
/** The header a CDN adds to its requests to the edge (CloudFront: an origin custom header). */
export const ORIGIN_VERIFY_HEADER = "X-Live360-Origin-Verify";
/** What a CDN can put in a header and a Secret holds without quoting. */
const ORIGIN_VERIFY_VALUE = /^[A-Za-z0-9+/=_.~-]+$/;

/**
 * Origin-verify values, one per line or comma (a mounted Secret's file, or LIVE360_EDGE_ORIGIN_VERIFY).
 * A bad entry is named by its position and length, never its value.
 */
export function parseOriginVerifyValues(source: string, text: string): string[] {
  const values: string[] = [];
  text.split(/[\n,]/).forEach((raw, index) => {
    const value = raw.trim();
    if (value === "" || value.startsWith("#")) return;
    const shown = `<${value.length} characters>`;
    if (!ORIGIN_VERIFY_VALUE.test(value)) throw new ConfigError(`${source} entry ${index + 1}`, shown, "use letters, digits and + / = _ . ~ - only (a header value the CDN sends as is)");
    if (value.length < MIN_SECRET_LENGTH) throw new ConfigError(`${source} entry ${index + 1}`, shown, `use at least ${MIN_SECRET_LENGTH} random characters, e.g. $(openssl rand -hex 32)`);
    values.push(value);
  });
  if (values.length === 0) throw new ConfigError(source, "<no values>", "give at least one value, one per line");
  return values;
}

/**
 * Signed URLs and the origin-verify check run in njs (HMAC-SHA256 is not in stock nginx), and so
 * does the beacons' answer (stock nginx reads a body only to proxy it).
 */
export const usesNjs = (config: EdgeConfig): boolean => config.signedUrls || config.cdnOnly || config.insightPort !== undefined;

/** Parses the egress bucket's URL into what the edge's upstream needs, explaining every rejection. */
export function parseVodOriginUrl(field: string, raw: string): EdgeVodOrigin {
  const example = "give the egress bucket's URL, e.g. https://my-egress.s3.eu-west-1.amazonaws.com or http://s3:7070/egress (path-style)";
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(field, raw, `not a URL: ${example}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new ConfigError(field, raw, `use http:// or https://; ${example}`);
  if (url.username !== "" || url.password !== "") throw new ConfigError(field, raw, "remove the user:password part: the bucket is read without credentials");
  if (url.search !== "" || url.hash !== "") throw new ConfigError(field, raw, `remove the query and fragment; ${example}`);
  const pathPrefix = url.pathname.replace(/\/+$/, "");
  if (!/^(\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])?$/.test(pathPrefix)) throw new ConfigError(field, raw, `the path can only be a bucket name (path-style); ${example}`);
  const scheme = url.protocol === "https:" ? "https" : "http";
  const portNumber = url.port === "" ? (scheme === "https" ? 443 : 80) : Number(url.port);
  return { url: raw, scheme, hostPort: `${url.hostname}:${portNumber}`, host: url.host, pathPrefix, isIpLiteral: isIP(url.hostname.replace(/^\[|\]$/g, "")) !== 0 };
}

const ABSOLUTE_FILE = /^\/[A-Za-z0-9._/-]+$/;
const ABSOLUTE_FILE_FIX = "give an absolute path of letters, digits and . _ - /";

/** The keys as nginx receives them (SIGNING_KEYS_ENV). */
export const formatSigningKeys = (keys: ReadonlyMap<string, string>): string => [...keys].map(([id, secret]) => `${id}=${secret}`).join("\n");

export function originName(index: number): string {
  if (index === 0) return "primary";
  return index === 1 ? "backup" : `backup-${index}`;
}

/** Parses one `--origin` URL into the host:port nginx needs, explaining every rejection. */
export function parseOriginUrl(field: string, raw: unknown, index: number): EdgeOrigin {
  const example = "give the origin's base URL, e.g. http://origin-primary:8080";
  if (typeof raw !== "string" || raw.trim() === "") throw new ConfigError(field, raw, example);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(field, raw, `not a URL: ${example}`);
  }
  if (url.protocol !== "http:") {
    throw new ConfigError(field, raw, "use http:// (origins are reached inside the cluster; TLS ends in front of the edge)");
  }
  if (url.username !== "" || url.password !== "") throw new ConfigError(field, raw, "remove the user:password part");
  if (url.pathname !== "/" || url.search !== "" || url.hash !== "") {
    throw new ConfigError(field, raw, `remove the path, query and fragment: the edge forwards request paths unchanged; ${example}`);
  }
  const host = url.hostname; // IPv6 literals keep their brackets here
  const portNumber = url.port === "" ? 80 : Number(url.port);
  return {
    name: originName(index),
    hostPort: `${host}:${portNumber}`,
    isIpLiteral: isIP(host.replace(/^\[|\]$/g, "")) !== 0,
  };
}

function resolveOrigins(raw: unknown): EdgeOrigin[] {
  const field = "origins (--origin)";
  if (!Array.isArray(raw) || raw.length === 0) {
    throw new ConfigError(field, raw ?? [], "give at least one origin URL, primary first: --origin http://primary:8080 --origin http://backup:8080");
  }
  const origins = raw.map((url, i) => parseOriginUrl(`origins[${i}] (--origin)`, url, i));
  const seen = new Set<string>();
  for (const [i, origin] of origins.entries()) {
    if (seen.has(origin.hostPort)) {
      throw new ConfigError(`origins[${i}] (--origin)`, raw[i], `${origin.hostPort} is listed twice: a backup must be a different origin`);
    }
    seen.add(origin.hostPort);
  }
  return origins;
}

function resolveResolver(raw: EdgeResolverConfig | undefined): EdgeResolverConfig | undefined {
  if (raw === undefined) return undefined;
  if (raw.addresses.length === 0) {
    throw new ConfigError("resolver.addresses (--resolver)", raw.addresses, "give at least one DNS server, e.g. 10.96.0.10 (kube-dns)");
  }
  const addresses = raw.addresses.map((a, i) =>
    matching(`resolver.addresses[${i}] (--resolver)`, a, /^[A-Za-z0-9.:[\]-]+$/, "give a DNS server address such as 10.96.0.10 or kube-dns.kube-system.svc.cluster.local"),
  );
  return { addresses, validSeconds: integerInRange("resolver.validSeconds", raw.validSeconds, 1, 3600) };
}

// Values land inside nginx.conf: anything that could end a directive or open a block is refused.
const SAFE_PATH = /^[^\s;{}'"$\\#]+$/;
const SAFE_PATH_FIX = "use a path without spaces, quotes, ';', '{', '}', '$', '#' or '\\'";

function safePath(field: string, value: unknown): string {
  nonEmptyString(field, value, "give a directory path");
  return path.resolve(matching(field, value, SAFE_PATH, SAFE_PATH_FIX));
}

export function resolveEdgeConfig(input: EdgeConfigInput = {}): EdgeConfig {
  const d = DEFAULT_EDGE_CONFIG;
  const pick = <K extends keyof EdgeConfigInput>(key: K, fallback: NonNullable<EdgeConfigInput[K]>) =>
    input[key] ?? fallback;
  const cache = { ...d.cache, ...definedOnly(input.cache ?? {}) };
  const ttl = { ...d.ttl, ...definedOnly(input.ttl ?? {}) };
  const listenPort = port("listenPort (--listen)", pick("listenPort", d.listenPort));
  const statusPort = port("statusPort (--status-port)", pick("statusPort", d.statusPort));
  const metricsPort = port("metricsPort (--metrics-port)", pick("metricsPort", d.metricsPort));
  const insightPort = input.insightPort === undefined ? undefined : port("insightPort (--insight-port)", input.insightPort);
  const llHlsRelayPort = input.llHlsRelayPort === undefined ? undefined : port("llHlsRelayPort (--ll-hls-relay-port)", input.llHlsRelayPort);
  const ports = new Map<number, string>([[listenPort, "listenPort (--listen)"]]);
  const others: [string, number | undefined][] = [
    ["statusPort (--status-port)", statusPort],
    ["metricsPort (--metrics-port)", metricsPort],
    ["insightPort (--insight-port)", insightPort],
    ["llHlsRelayPort (--ll-hls-relay-port)", llHlsRelayPort],
  ];
  for (const [field, value] of others) {
    if (value === undefined) continue;
    const clash = ports.get(value);
    if (clash) throw new ConfigError(field, value, `${clash} already uses port ${value}: give each its own port`);
    ports.set(value, field);
  }
  const lockTimeoutMs = integerInRange("lockTimeoutMs", pick("lockTimeoutMs", d.lockTimeoutMs), 100, 60_000);
  const readTimeoutMs = integerInRange("readTimeoutMs", pick("readTimeoutMs", d.readTimeoutMs), 100, 300_000);
  const playlistReadTimeoutMs = integerInRange("playlistReadTimeoutMs", pick("playlistReadTimeoutMs", d.playlistReadTimeoutMs), 100, 300_000);
  if (playlistReadTimeoutMs > readTimeoutMs) {
    throw new ConfigError("playlistReadTimeoutMs", playlistReadTimeoutMs, `use at most readTimeoutMs (${readTimeoutMs}): playlists are the smallest, fastest answers an origin gives`);
  }
  const lockAgeMs = integerInRange("lockAgeMs", pick("lockAgeMs", d.lockAgeMs), 100, 60_000);
  if (lockAgeMs > lockTimeoutMs) {
    throw new ConfigError("lockAgeMs", lockAgeMs, `use at most lockTimeoutMs (${lockTimeoutMs}): a second filling request only helps before the waiters give up`);
  }
  const drainDelaySeconds = integerInRange("drainDelaySeconds (--drain-delay)", pick("drainDelaySeconds", d.drainDelaySeconds), 0, 600);
  const shutdownGraceSeconds = integerInRange("shutdownGraceSeconds (--shutdown-grace)", pick("shutdownGraceSeconds", d.shutdownGraceSeconds), 1, 3600);
  if (drainDelaySeconds >= shutdownGraceSeconds) {
    throw new ConfigError("drainDelaySeconds (--drain-delay)", drainDelaySeconds, `use less than shutdownGraceSeconds (${shutdownGraceSeconds}) so in-flight downloads have time to finish`);
  }
  const signingKeys = input.signingKeys;
  if (signingKeys !== undefined) {
    // Entries given as a map (not parsed from text) are held to the same rules.
    parseSigningKeys("signingKeys", formatSigningKeys(signingKeys));
  }
  const originVerifyValues = input.originVerifyValues === undefined ? undefined : parseOriginVerifyValues("originVerifyValues", input.originVerifyValues.join("\n"));
  const originVerifyFile =
    input.originVerifyFile === undefined
      ? undefined
      : matching("originVerifyFile (--origin-verify-file)", input.originVerifyFile, ABSOLUTE_FILE, ABSOLUTE_FILE_FIX);
  const signedUrls = signingKeys !== undefined || input.signedUrls === true;
  const vodOrigin = input.vodOrigin === undefined ? undefined : parseVodOriginUrl("vodOrigin (--vod-origin)", input.vodOrigin);
  const hlsEncryptionSecretFile =
    input.hlsEncryptionSecretFile === undefined
      ? undefined
      : matching("hlsEncryptionSecretFile (--hls-encryption-secret-file)", input.hlsEncryptionSecretFile, ABSOLUTE_FILE, ABSOLUTE_FILE_FIX);
  if (hlsEncryptionSecretFile !== undefined && vodOrigin === undefined) {
    throw new ConfigError("hlsEncryptionSecretFile (--hls-encryption-secret-file)", hlsEncryptionSecretFile, "it serves the keys of VOD assets: give vodOrigin (--vod-origin) too");
  }
  if (hlsEncryptionSecretFile !== undefined && !signedUrls) {
    throw new ConfigError("hlsEncryptionSecretFile (--hls-encryption-secret-file)", hlsEncryptionSecretFile, "keys go to signed requests only: give signing keys (--signing-keys-file) too");
  }
  const workerProcesses = pick("workerProcesses", d.workerProcesses);
  return {
    origins: resolveOrigins(input.origins),
    listenAddress: matching("listenAddress (--bind)", pick("listenAddress", d.listenAddress), /^[0-9a-fA-F.:[\]]+$/, "give an IP address such as 0.0.0.0"),
    listenPort,
    statusPort,
    metricsPort,
    insightPort,
    llHlsRelayPort,
    cache: {
      dir: safePath("cache.dir (--cache-dir)", cache.dir),
      maxSizeMegabytes: integerInRange("cache.maxSizeMegabytes (--cache-max-size)", cache.maxSizeMegabytes, 16, 10_000_000),
      inactiveSeconds: integerInRange("cache.inactiveSeconds", cache.inactiveSeconds, 10, 30 * 86_400),
      keysZoneMegabytes: integerInRange("cache.keysZoneMegabytes", cache.keysZoneMegabytes, 1, 1024),
    },
    ttl: {
      playlistSeconds: integerInRange("ttl.playlistSeconds", ttl.playlistSeconds, 1, 60),
      segmentSeconds: integerInRange("ttl.segmentSeconds", ttl.segmentSeconds, 1, 365 * 86_400),
      overrideOrigin: ttl.overrideOrigin,
    },
    lockTimeoutMs,
    lockAgeMs,
    connectTimeoutMs: integerInRange("connectTimeoutMs", pick("connectTimeoutMs", d.connectTimeoutMs), 50, 60_000),
    readTimeoutMs,
    playlistReadTimeoutMs,
    blockingPlaylistReadTimeoutMs: integerInRange("blockingPlaylistReadTimeoutMs", pick("blockingPlaylistReadTimeoutMs", d.blockingPlaylistReadTimeoutMs), 100, 60_000),
    failTimeoutSeconds: integerInRange("failTimeoutSeconds", pick("failTimeoutSeconds", d.failTimeoutSeconds), 1, 300),
    upstreamKeepalive: integerInRange("upstreamKeepalive", pick("upstreamKeepalive", d.upstreamKeepalive), 1, 10_000),
    originHealthPath: matching("originHealthPath", pick("originHealthPath", d.originHealthPath), /^\/[A-Za-z0-9._~/-]*$/, "give an absolute path such as /healthz"),
    resolver: resolveResolver(input.resolver),
    signingKeys,
    signingMaxLifetimeSeconds: integerInRange("signingMaxLifetimeSeconds (--signing-max-lifetime)", pick("signingMaxLifetimeSeconds", d.signingMaxLifetimeSeconds), 60, 31_536_000),
    signedUrls,
    originVerifyValues,
    originVerifyFile,
    cdnOnly: originVerifyValues !== undefined || originVerifyFile !== undefined,
    vodOrigin,
    vodOriginCaFile: safePath("vodOriginCaFile", pick("vodOriginCaFile", d.vodOriginCaFile)),
    hlsEncryptionSecretFile,
    workDir: safePath("workDir (--work-dir)", pick("workDir", d.workDir)),
    modulesDir: safePath("modulesDir", pick("modulesDir", d.modulesDir)),
    user: input.user === undefined ? undefined : matching("user", input.user, /^[a-z_][a-z0-9_-]*$/, "give a system user name such as nginx"),
    workerProcesses: workerProcesses === "auto" ? "auto" : integerInRange("workerProcesses", workerProcesses, 1, 256),
    accessLog: oneOf("accessLog (--access-log)", pick("accessLog", d.accessLog), ACCESS_LOG_TARGETS),
    drainDelaySeconds,
    shutdownGraceSeconds,
  };
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
