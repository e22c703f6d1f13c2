import path from "node:path";
import { EDGE_UPSTREAM_KEEPALIVE_SECONDS, MIN_HLS_SECRET_LENGTH } from "@live360/core";
import { ORIGIN_VERIFY_ENV, ORIGIN_VERIFY_HEADER, SIGNING_KEYS_ENV, usesNjs, type EdgeConfig, type EdgeOrigin } from "./config.js";

/**
 * Renders the edge's nginx.conf from its typed configuration. Pure: same config, same text,
 * so the file can be snapshot-tested, printed by `live360 edge --print-config` and shipped
 * as a ConfigMap next to the official nginx image.
 */

/** Name of the njs module file, imported relative to the directory holding nginx.conf. */
/** The njs module: signed URLs, the origin-verify check and the beacons' answer. */
export const ACCESS_SCRIPT_FILE = "edge-access.js";
/** The flag file whose presence makes /readyz fail: created on SIGTERM (or by a preStop hook). */
export const DRAIN_FLAG_FILE = "draining";
export const STUB_STATUS_PATH = "/stub_status";

const UPSTREAM = "edge_origins";
const VOD_UPSTREAM = "edge_vod";
/** A stream name, and a VOD asset's directory (`<stream>/<UTC start>`, the VOD worker's layout). */
const STREAM_PATTERN = "[a-z0-9][a-z0-9-]{0,62}";
const ASSET_PATTERN = `${STREAM_PATTERN}/[0-9]{8}T[0-9]{6}Z`;
/** VOD playlists and asset.json are made once, but an asset can be made again (clear, then encrypted). */
const VOD_INDEX_SECONDS = 60;
/** What every refused request gets: which check failed is not told. */
const FORBIDDEN = "forbidden\\n";
const CACHE_ZONE = "edge_cache";

export function drainFlagPath(config: EdgeConfig): string {
  return path.join(config.workDir, DRAIN_FLAG_FILE);
}

export function pidFilePath(config: EdgeConfig): string {
  return path.join(config.workDir, "nginx.pid");
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * The origins as `server` lines, in order. `allBackup` (the relay's upstream): every origin is a
 * backup, tried only when the servers before them fail.
 */
function originServers(config: EdgeConfig, allBackup = false): string[] {
  const dynamic = config.resolver !== undefined;
  return config.origins.map((origin, i) => {
    // The last origin is never marked failed: with nothing behind it, skipping it only turns one
    // slow answer (a playlist read timing out on a loaded node while the primary is down) into
    // "no live upstreams" 502s for every viewer until fail_timeout ends — seen in a kind drill.
    // (Alone in an upstream nginx never marks a server failed; behind the relay it is not alone.)
    const last = (i > 0 || allBackup) && i === config.origins.length - 1;
    const flags = last ? [`max_fails=0`] : [`max_fails=1`, `fail_timeout=${config.failTimeoutSeconds}s`];
    if (dynamic && !origin.isIpLiteral) flags.push("resolve");
    if (i > 0 || allBackup) flags.push("backup");
    return `    server ${origin.hostPort} ${flags.join(" ")};  # ${origin.name}`;
  });
}

function upstreamBlock(config: EdgeConfig): string[] {
  return [
    `  upstream ${UPSTREAM} {`,
    // The shared zone also shares failure state: one worker meeting a dead or hung origin marks
    // it failed for all workers, instead of each worker paying its own timeout. `resolve` keeps
    // a Service name's address current; it needs the shared zone as well.
    `    zone ${UPSTREAM} 256k;`,
    ...originServers(config),
    `    keepalive ${config.upstreamKeepalive};`,
    `    keepalive_timeout ${EDGE_UPSTREAM_KEEPALIVE_SECONDS}s;`,
    `  }`,
  ];
}

/** $upstream_addr lists every origin tried ("a, b"); the last one answered. */
function servedByMap(origins: readonly EdgeOrigin[]): string[] {
  const entries = origins
    .filter((o) => o.isIpLiteral)
    .map((o) => `    "~(^|\\s)${escapeRegex(o.hostPort)}$" ${o.name};`);
  return [
    `  map $upstream_addr $edge_served_by {`,
    `    default $upstream_addr;`,
    `    "" cache;`,
    ...entries,
    `  }`,
  ];
}

type MediaKind = "playlist" | "segment" | "other";

/**
 * The caching rules per object kind. Playlists change every segment: a stale one makes a
 * player wait for segments that are already gone, so a playlist is only ever served stale
 * while another request is refreshing it (bounded by one origin round trip) and never on
 * origin errors. Segments are immutable: serving a cached copy when the origins fail is
 * always right.
 */
function cacheRules(config: EdgeConfig, kind: MediaKind): string[] {
  const ttl = kind === "playlist" ? config.ttl.playlistSeconds : config.ttl.segmentSeconds;
  const ignored = config.ttl.overrideOrigin ? "Vary Cache-Control Expires X-Accel-Expires" : "Vary";
  const lines = [
    `proxy_cache ${CACHE_ZONE};`,
    // Keyed on the path alone: every viewer shares one copy whatever query string it adds.
    `proxy_cache_key $uri;`,
    `proxy_cache_valid 200 ${kind === "other" ? 10 : ttl}s;`,
    // CORS is `*`, so Vary only splits the cache per browser Origin and costs offload.
    `proxy_ignore_headers ${ignored};`,
    `proxy_cache_lock on;`,
    `proxy_cache_lock_timeout ${config.lockTimeoutMs}ms;`,
    `proxy_cache_lock_age ${config.lockAgeMs}ms;`,
  ];
  if (kind === "playlist") {
    lines.push(`proxy_cache_use_stale updating;`, `proxy_cache_background_update off;`);
  } else {
    lines.push(
      `proxy_cache_use_stale updating error timeout http_500 http_502 http_503 http_504;`,
      // Refreshing in the background costs nothing for immutable objects and static files.
      `proxy_cache_background_update on;`,
    );
  }
  return lines;
}

/** The headers every media answer carries; `servedBy` names the origin (or `cache`). */
const responseHeaders = (servedBy: string): string[] => [
  `add_header X-Cache-Status $upstream_cache_status always;`,
  `add_header X-Served-By ${servedBy} always;`,
  // The edge is the public face: exactly one CORS header, also on its own error responses.
  `proxy_hide_header Access-Control-Allow-Origin;`,
  `add_header Access-Control-Allow-Origin "*" always;`,
];
const RESPONSE_HEADERS = responseHeaders("$edge_served_by");

/** The whole failover of one request fits in one connect + read timeout per origin. */
function failoverTimeouts(config: EdgeConfig, readMs: number): string[] {
  return [
    `proxy_connect_timeout ${config.connectTimeoutMs}ms;`,
    `proxy_send_timeout ${readMs}ms;`,
    `proxy_read_timeout ${readMs}ms;`,
    `proxy_next_upstream_timeout ${config.origins.length * (config.connectTimeoutMs + readMs)}ms;`,
  ];
}

/**
 * CDN-only edges refuse, before anything else, every request without the CDN's origin-verify
 * header: the same 403 as a bad signature. Health checks (the load balancer's, the kubelet's)
 * are the only exception; they reveal nothing.
 */
const cdnCheck = (config: EdgeConfig): string[] => (config.cdnOnly ? [`if ($edge_from_cdn != "1") { return 403 "${FORBIDDEN}"; }`] : []);

/**
 * A CDN keys its cache on the signed path, so a signed answer's max-age is cut to what is left of
 * its link's lifetime: a copy a CDN holds never outlives the grant it was fetched with.
 */
const CAP_MAX_AGE = `js_header_filter edge_access.capMaxAge;`;

/** Who may have media: the CDN only (when CDN-only), and only signed links (with signed URLs). */
const accessChecks = (config: EdgeConfig, signable = true): string[] => [
  ...cdnCheck(config),
  ...(signable && config.signedUrls ? [`if ($edge_signed != 1) { return 403 "${FORBIDDEN}"; }`, CAP_MAX_AGE] : []),
];

function mediaLocation(config: EdgeConfig, match: string, kind: MediaKind, options: { signable?: boolean; readTimeoutMs?: number } = {}): string[] {
  const { signable = true, readTimeoutMs } = options;
  const body = [
    ...accessChecks(config, signable),
    // After the checks: a blocking reload has passed them when it reaches its own location.
    ...(kind === "playlist" ? [`if ($arg__HLS_msn != "") { rewrite ^ ${BLOCKING_PREFIX}$uri last; }`] : []),
    `proxy_pass http://${UPSTREAM};`,
    ...(readTimeoutMs !== undefined ? failoverTimeouts(config, readTimeoutMs) : []),
    ...cacheRules(config, kind),
    ...RESPONSE_HEADERS,
  ];
  return [`    location ${match} {`, ...body.map((l) => `      ${l}`), `    }`];
}

/**
 * A location answered through the LL-HLS relay (ll-relay.ts): nginx caches its answers under
 * `key` but holds no cache lock, since waiting there means looking again only every 500 ms;
 * concurrent misses go to the relay, which makes one origin request and answers them together.
 * The relay does the failover, so its one try may last a blocking wait on every origin.
 */
function relayed(config: EdgeConfig, uri: string, key: string, ttlSeconds: number): string[] {
  const wholeFailoverMs = config.origins.length * (config.connectTimeoutMs + config.blockingPlaylistReadTimeoutMs) + 500;
  return [
    `proxy_pass http://${RELAY_UPSTREAM}${uri};`,
    `proxy_connect_timeout ${config.connectTimeoutMs}ms;`,
    `proxy_read_timeout ${wholeFailoverMs}ms;`,
    // Only a relay that cannot be reached moves the request on (to the origins, in order): the
    // relay's own answers already are the whole failover.
    `proxy_next_upstream error;`,
    `proxy_next_upstream_tries ${1 + config.origins.length};`,
    `proxy_cache ${CACHE_ZONE};`,
    `proxy_cache_key ${key};`,
    `proxy_cache_valid 200 ${ttlSeconds}s;`,
    `proxy_ignore_headers Vary;`,
    `proxy_cache_lock off;`,
    `proxy_hide_header X-Live360-Served-By;`,
    ...responseHeaders("$edge_relay_served_by"),
  ];
}

const RELAY_UPSTREAM = "edge_ll_relay";

/**
 * The relay on loopback, over kept-alive connections: every concurrent miss of a part is a
 * request to it. The origins stand behind it as backups for when it is not there (its sidecar
 * restarting): nginx then asks them straight, as without a relay, until the fail timeout ends.
 */
const relayUpstreamBlock = (config: EdgeConfig): string[] =>
  config.llHlsRelayPort === undefined
    ? []
    : [
        `  upstream ${RELAY_UPSTREAM} {`,
        `    zone ${RELAY_UPSTREAM} 64k;`,
        `    server 127.0.0.1:${config.llHlsRelayPort} max_fails=1 fail_timeout=${config.failTimeoutSeconds}s;  # relay`,
        ...originServers(config, true),
        `    keepalive ${config.upstreamKeepalive};`,
        `  }`,
      ];

/** The relay names the origin that answered; a cache hit or an origin asked straight is named as elsewhere. */
const relayServedByMap = (config: EdgeConfig): string[] =>
  config.llHlsRelayPort === undefined ? [] : [`  map $upstream_http_x_live360_served_by $edge_relay_served_by {`, `    "" $edge_served_by;`, `    default $upstream_http_x_live360_served_by;`, `  }`];

/** LL-HLS part names: `<name>_<msn>.<part>.m4s`. */
const PART_LOCATION = `~ "^/hls/.+_[0-9]{1,12}\\.[0-9]{1,6}\\.m4s$"`;

/**
 * LL-HLS parts. The hinted one is held by the origin until it is complete: through the relay
 * when there is one, else with the blocking read timeout, so a hung origin costs a viewer no
 * more there than a blocking reload does.
 */
function partLocation(config: EdgeConfig): string[] {
  if (config.llHlsRelayPort === undefined) return mediaLocation(config, PART_LOCATION, "segment", { readTimeoutMs: config.blockingPlaylistReadTimeoutMs });
  const body = [...accessChecks(config), ...relayed(config, "", "$uri", config.ttl.segmentSeconds)];
  return [`    location ${PART_LOCATION} {`, ...body.map((l) => `      ${l}`), `    }`];
}

/** Internal prefix the playlist location sends LL-HLS blocking reloads to (see blockingPlaylistLocation). */
const BLOCKING_PREFIX = "/_edge_blocking";

/**
 * LL-HLS blocking playlist reloads (`_HLS_msn`, maybe `_HLS_part`, issue #15), reached only from
 * the playlist location once its checks have passed. The answer names a part, so it is cached
 * under the path and the three directives and nothing else from the query (CMCD, tokens…): one
 * origin request per distinct reload however many viewers wait on it. The lock outlasts the
 * origin's wait for the part on every origin in turn; the read timeout is the blocking one.
 */
function blockingPlaylistLocation(config: EdgeConfig): string[] {
  const waitMs = config.blockingPlaylistReadTimeoutMs;
  const key = `"$edge_blocking_path?_HLS_msn=$arg__HLS_msn&_HLS_part=$arg__HLS_part&_HLS_skip=$arg__HLS_skip"`;
  const body = [
    `internal;`,
    ...(config.signedUrls ? [CAP_MAX_AGE] : []),
    ...(config.llHlsRelayPort !== undefined
      ? relayed(config, `$edge_blocking_path$is_args$args`, key, config.ttl.playlistSeconds)
      : [
          `proxy_pass http://${UPSTREAM}$edge_blocking_path$is_args$args;`,
          ...failoverTimeouts(config, waitMs),
          `proxy_cache ${CACHE_ZONE};`,
          // nginx reads $arg_ names without regard to case; the origin refuses any spelling but the spec's (400, not cached).
          `proxy_cache_key ${key};`,
          `proxy_cache_valid 200 ${config.ttl.playlistSeconds}s;`,
          `proxy_ignore_headers Vary;`,
          `proxy_cache_lock on;`,
          `proxy_cache_lock_timeout ${config.origins.length * (config.connectTimeoutMs + waitMs) + 500}ms;`,
          `proxy_cache_lock_age ${waitMs}ms;`,
          ...RESPONSE_HEADERS,
        ]),
  ];
  // Only a variant playlist of the origin's shape blocks: the path goes to the origin as matched.
  const variantPlaylist = `/hls/${STREAM_PATTERN}/[a-z0-9_-]{1,32}/index\\.m3u8`;
  return [`    location ~ "^${BLOCKING_PREFIX}(?<edge_blocking_path>${variantPlaylist})$" {`, ...body.map((l) => `      ${l}`), `    }`];
}

/**
 * HLS encryption keys (`/hls/<stream>/keys/<period>.key`, made by the origin): only to signed
 * requests, so an edge without signed URLs hands out none — encryption whose keys anyone can
 * fetch protects nothing. Never cached: a key is per viewer's grant, and small.
 */
function keyLocation(config: EdgeConfig): string[] {
  const body =
    !config.signedUrls
      ? [`return 403 "${FORBIDDEN}";`]
      : [...cdnCheck(config), `if ($edge_signed != 1) { return 403 "${FORBIDDEN}"; }`, `proxy_pass http://${UPSTREAM};`, `proxy_cache off;`, ...RESPONSE_HEADERS];
  return [`    location ~ "^/hls/[a-z0-9][a-z0-9-]{0,62}/keys/[0-9]{1,12}\\.key$" {`, ...body.map((l) => `      ${l}`), `    }`];
}

/**
 * Signed URLs carry key id, expiry and signature in the path (`/s/<keyId>/<expires>/<sig>/hls/
 * <stream>/…`, or `…/vod/<stream>/<stamp>/…` for an on-demand asset) rather than the query, so the
 * relative URIs inside playlists inherit them; the signature covers the stream's (or asset's)
 * directory, which is what a viewer is granted. Every refusal —
 * bad signature, unknown key, tampered path, expired, too long a lifetime — is the same 403, so a
 * client learns nothing about which check failed.
 */
function signedLocation(config: EdgeConfig): string[] {
  return [
    `    location ~ "^/s/(?<edge_key_id>[a-z0-9][a-z0-9-]{0,31})/(?<edge_expires>[0-9]{1,12})/(?<edge_signature>[A-Za-z0-9_-]{43})(?<edge_path>(?<edge_scope>/hls/${STREAM_PATTERN}/|/vod/${ASSET_PATTERN}/).*)$" {`,
    ...cdnCheck(config).map((l) => `      ${l}`),
    `      if ($edge_link != "1") { return 403 "${FORBIDDEN}"; }`,
    `      set $edge_signed 1;`,
    // Kept past the rewrite for capMaxAge, which runs where the media is served.
    `      set $edge_link_expires $edge_expires;`,
    `      rewrite ^ $edge_path last;`,
    `    }`,
  ];
}

/** The egress bucket as an upstream: keepalive connections (TLS handshakes are the cost), re-resolved with a resolver. */
function vodUpstreamBlock(config: EdgeConfig): string[] {
  const vod = config.vodOrigin;
  if (vod === undefined) return [];
  const resolve = config.resolver !== undefined && !vod.isIpLiteral ? " resolve" : "";
  return [
    `  upstream ${VOD_UPSTREAM} {`,
    `    zone ${VOD_UPSTREAM} 64k;`,
    `    server ${vod.hostPort}${resolve};`,
    `    keepalive 16;`,
    `    keepalive_timeout ${EDGE_UPSTREAM_KEEPALIVE_SECONDS}s;`,
    `  }`,
  ];
}

/**
 * On-demand assets from the egress bucket (`/vod/<stream>/<stamp>/…`), cached like live segments:
 * the worker's layout is deterministic and its files never change but for an asset made again,
 * so the playlists and asset.json are kept a minute and everything else for the segment TTL. The
 * bucket is asked without credentials, query or the viewer's headers; what it answers besides the
 * object (its 403 for a missing key, its request ids) stays behind the edge: a miss is a plain 404.
 * The keys of an encrypted asset are never in the bucket: the edge derives them (njs) from the
 * secret the VOD worker used, for signed requests only, and never caches them.
 */
function vodLocations(config: EdgeConfig): string[] {
  const vod = config.vodOrigin;
  if (vod === undefined) return [];
  const signed = config.signedUrls ? [`if ($edge_signed != 1) { return 403 "${FORBIDDEN}"; }`] : [];
  const proxy = [
    ...cdnCheck(config),
    ...signed,
    ...(config.signedUrls ? [CAP_MAX_AGE] : []),
    `proxy_pass ${vod.scheme}://${VOD_UPSTREAM}${vod.pathPrefix}$uri;`,
    `proxy_set_header Host "${vod.host}";`,
    `proxy_set_header Authorization "";`,
    `proxy_set_header Cookie "";`,
    ...(vod.scheme === "https"
      ? [`proxy_ssl_server_name on;`, `proxy_ssl_name ${vod.host.replace(/:\d+$/, "")};`, `proxy_ssl_verify on;`, `proxy_ssl_trusted_certificate ${config.vodOriginCaFile};`, `proxy_ssl_session_reuse on;`]
      : []),
    `proxy_next_upstream error timeout;`,
    `proxy_intercept_errors on;`,
    `error_page 403 404 = @vod_missing;`,
    ...["x-amz-request-id", "x-amz-id-2", "x-amz-version-id", "x-amz-server-side-encryption", "Set-Cookie"].map((h) => `proxy_hide_header ${h};`),
    `proxy_ignore_headers Set-Cookie;`,
    ...RESPONSE_HEADERS,
  ];
  const cached = (seconds: number): string[] => [
    `proxy_cache ${CACHE_ZONE};`,
    `proxy_cache_key $uri;`,
    `proxy_cache_valid 200 ${seconds}s;`,
    `proxy_cache_lock on;`,
    `proxy_cache_lock_timeout ${config.lockTimeoutMs}ms;`,
    `proxy_cache_lock_age ${config.lockAgeMs}ms;`,
    `proxy_cache_use_stale updating error timeout http_500 http_502 http_503 http_504;`,
  ];
  const keyBody =
    config.hlsEncryptionSecretFile === undefined
      ? [`return 403 "${FORBIDDEN}";`]
      : [...cdnCheck(config), ...signed, `add_header Cache-Control "no-store" always;`, `add_header Access-Control-Allow-Origin "*" always;`, `js_content edge_access.vodKey;`];
  const block = (match: string, body: string[]): string[] => [`    location ${match} {`, ...body.map((l) => `      ${l}`), `    }`];
  return [
    ...block(`~ "^/vod/(?<edge_vod_asset>${ASSET_PATTERN})/keys/(?<edge_vod_period>[0-9]{1,12})\\.key$"`, keyBody),
    ``,
    ...block(`~ "^/vod/${ASSET_PATTERN}/[A-Za-z0-9._/-]+\\.(m3u8|json)$"`, [...proxy, ...cached(VOD_INDEX_SECONDS)]),
    ``,
    ...block(`~ "^/vod/${ASSET_PATTERN}/[A-Za-z0-9._/-]+$"`, [...proxy, ...cached(config.ttl.segmentSeconds)]),
    ``,
    ...block(`@vod_missing`, [`default_type text/plain;`, `add_header Access-Control-Allow-Origin "*" always;`, `return 404 "not found\\n";`]),
    ``,
  ];
}

export const INSIGHT_BEACON_PATH = "/insight/beacon";
export const INSIGHT_HEATMAP_PATH = "/insight/heatmap/";

/** Where nginx spools insight lines for the insight server (spool.ts), a file per second. */
export const insightSpoolDir = (config: Pick<EdgeConfig, "workDir">): string => path.join(config.workDir, "insight");

/**
 * Viewer insight: every media request carrying CMCD, every beacon's body and every error answer is
 * appended as one JSON line to the spool file of the current second (`$msec` up to its dot), which the insight server
 * reads whole once the second is over. nginx never waits for it: a write to a local file is one
 * system call, and the files' descriptors stay open while their second lasts.
 */
function insightLog(config: EdgeConfig): string[] {
  if (config.insightPort === undefined) return [];
  return [
    `  map $msec $insight_second {`,
    `    "~^(?<second>\\d+)\\." $second;`,
    `  }`,
    `  log_format insight escape=json '{"s":$status,"b":$body_bytes_sent,"u":"$uri","c":"$arg_cmcd"}';`,
    `  log_format insight_beacon escape=json '{"s":$status,"beacon":"$request_body"}';`,
    `  open_log_file_cache max=16 inactive=5s valid=1s;`,
    // nginx writes a log whose path has variables only if the request's root exists; no location
    // serves files, so the root is only that.
    `  root ${insightSpoolDir(config)};`,
    // Playlist requests are left out unless they report a starvation: the rest of their CMCD
    // (session, content) is on the segment requests and the beacons too, and they are half the
    // requests — half the lines to write and fold. Every error answer (4xx, 5xx) is spooled too,
    // CMCD or not: the edge's error counts by status, which stub_status does not have.
    `  map $uri $insight_playlist {`,
    `    "~\\.m3u8$" 1;`,
    `    default 0;`,
    `  }`,
    `  map "$status:$insight_playlist:$arg_cmcd" $insight_line {`,
    `    "~^[45]" 1;`,
    `    "~^\\d+:0:." 1;`,
    `    "~*^\\d+:1:(?:.*(?:%2C|,))?bs(?:%2C|,|%3D|=|$)" 1;`,
    `    default "";`,
    `  }`,
    `  access_log ${insightSpoolFile(config)} insight if=$insight_line;`,
  ];
}

const insightSpoolFile = (config: EdgeConfig): string => path.join(insightSpoolDir(config), "$insight_second.log");

function insightLocations(config: EdgeConfig): string[] {
  if (config.insightPort === undefined) return [];
  const upstream = `http://127.0.0.1:${config.insightPort}`;
  const proxy = [`proxy_connect_timeout ${config.connectTimeoutMs}ms;`, `proxy_read_timeout ${config.readTimeoutMs}ms;`, `proxy_next_upstream off;`];
  return [
    `    location = ${INSIGHT_BEACON_PATH} {`,
    ...[
      ...cdnCheck(config),
      `if ($request_method != POST) { add_header Allow POST always; return 405; }`,
      // A beacon is a few KiB (the insight server refuses more than MAX_BEACON_BYTES itself);
      // held in one memory buffer so that $request_body carries it to the spool line.
      `client_max_body_size 16k;`,
      `client_body_buffer_size 16k;`,
      `client_body_in_single_buffer on;`,
      `access_log ${insightSpoolFile(config)} insight_beacon;`,
      // njs reads the body and answers 204, whatever it holds: the insight server judges it later
      // (counting what it drops), so a flooding or malformed client learns nothing from the answer.
      `js_content edge_access.beacon;`,
      `add_header Access-Control-Allow-Origin "*" always;`,
    ].map((l) => `      ${l}`),
    `    }`,
    ``,
    // Beside the stream's playlists, so it needs what they need (the CDN, a signature).
    `    location ~ "^/hls/(?<insight_stream>[a-z0-9][a-z0-9-]{0,62})/heatmap\\.json$" {`,
    ...[
      ...cdnCheck(config),
      ...(config.signedUrls ? [`if ($edge_signed != 1) { return 403 "${FORBIDDEN}"; }`] : []),
      `proxy_pass ${upstream}${INSIGHT_HEATMAP_PATH}$insight_stream;`,
      ...proxy,
      // A heatmap sums every edge's grid (peers.ts): one merge per 5 s serves all who ask meanwhile.
      `proxy_cache ${CACHE_ZONE};`,
      `proxy_cache_key $uri;`,
      `proxy_cache_lock on;`,
      `proxy_cache_lock_timeout ${config.lockTimeoutMs}ms;`,
      `add_header Access-Control-Allow-Origin "*" always;`,
    ].map((l) => `      ${l}`),
    `    }`,
    ``,
  ];
}

function accessLogTarget(config: EdgeConfig): string {
  switch (config.accessLog) {
    case "off":
      return "off";
    case "stdout":
      return "/dev/stdout edge";
    case "file":
      return `${path.join(config.workDir, "access.log")} edge`;
  }
}

export function renderNginxConf(config: EdgeConfig): string {
  const signing = config.signedUrls;
  const njs = usesNjs(config);
  const tmp = (name: string) => path.join(config.workDir, "tmp", name);
  const main = [
    `# Generated by live360 (workloads/edge) from its EdgeConfig: change the config, not this file.`,
    ...(njs ? [`load_module ${path.join(config.modulesDir, "ngx_http_js_module.so")};`] : []),
    ...(config.user !== undefined ? [`user ${config.user};`] : []),
    `worker_processes ${config.workerProcesses};`,
    `pid ${pidFilePath(config)};`,
    `error_log stderr warn;`,
    // After SIGQUIT, in-flight downloads get the rest of the grace period, then are cut.
    `worker_shutdown_timeout ${Math.max(1, config.shutdownGraceSeconds - config.drainDelaySeconds)}s;`,
    ...(signing ? [`env ${SIGNING_KEYS_ENV};`] : []),
    ...(config.cdnOnly && config.originVerifyFile === undefined ? [`env ${ORIGIN_VERIFY_ENV};`] : []),
    ``,
    `events {`,
    `  worker_connections 8192;`,
    `}`,
    ``,
  ];
  const http = [
    `http {`,
    `  default_type application/octet-stream;`,
    `  sendfile on;`,
    `  tcp_nopush on;`,
    `  tcp_nodelay on;`,
    `  keepalive_timeout 65s;`,
    // Keeps cache files' descriptors open between hits: the hit path's open()+fstat() was the
    // edge's main cost over plain nginx. Safe for playlists replaced every second: nginx opens
    // a cache file with the inode its shared-memory node recorded (of.uniq = c->uniq), so a
    // refreshed playlist (a new file renamed into place) is reopened at once, never served
    // from the old descriptor.
    `  open_file_cache max=1000 inactive=20s;`,
    `  open_file_cache_valid 1s;`,
    `  server_tokens off;`,
    // Every writable path lives in the work dir so nginx runs as any user (Debian's compiled-in
    // /var/lib/nginx is root's).
    `  client_body_temp_path ${tmp("client_body")};`,
    `  proxy_temp_path ${tmp("proxy")};`,
    `  fastcgi_temp_path ${tmp("fastcgi")};`,
    `  uwsgi_temp_path ${tmp("uwsgi")};`,
    `  scgi_temp_path ${tmp("scgi")};`,
    ``,
    `  log_format edge '$remote_addr [$time_iso8601] "$request" $status $body_bytes_sent '`,
    `                  'rt=$request_time cache=$upstream_cache_status origin=$edge_served_by '`,
    `                  'upstream=$upstream_addr ustatus=$upstream_status urt=$upstream_response_time';`,
    // `access_log off` would cancel the insight log beside it, so with insight on it is left out.
    ...(config.accessLog === "off" && config.insightPort !== undefined ? [] : [`  access_log ${accessLogTarget(config)};`]),
    ...insightLog(config),
    ``,
    `  proxy_cache_path ${config.cache.dir} levels=1:2 keys_zone=${CACHE_ZONE}:${config.cache.keysZoneMegabytes}m ` +
      `max_size=${config.cache.maxSizeMegabytes}m inactive=${config.cache.inactiveSeconds}s use_temp_path=off;`,
    ...(config.resolver
      ? [`  resolver ${config.resolver.addresses.join(" ")} valid=${config.resolver.validSeconds}s ipv6=off;`]
      : []),
    ...(njs ? [`  js_import edge_access from ${ACCESS_SCRIPT_FILE};`] : []),
    ...(signing ? [`  js_set $edge_link edge_access.verify;`] : []),
    ...(config.cdnOnly ? [`  js_set $edge_from_cdn edge_access.fromCdn;`] : []),
    ``,
    ...upstreamBlock(config),
    ...vodUpstreamBlock(config),
    ...relayUpstreamBlock(config),
    ``,
    ...servedByMap(config.origins),
    ...relayServedByMap(config),
    ``,
    `  proxy_http_version 1.1;`,
    `  proxy_set_header Connection "";`,
    // The origin-verify secret goes no further than the edge.
    ...(config.cdnOnly ? [`  proxy_set_header ${ORIGIN_VERIFY_HEADER} "";`] : []),
    ...failoverTimeouts(config, config.readTimeoutMs).map((l) => `  ${l}`),
    // A missing stream (404) on the primary moves the request to the backup, as do errors.
    `  proxy_next_upstream error timeout http_404 http_502 http_503 http_504;`,
    `  proxy_next_upstream_tries ${config.origins.length};`,
    ``,
    `  server {`,
    `    listen ${config.listenAddress}:${config.listenPort};`,
    ...(signing ? [`    set $edge_signed 0;`, `    set $edge_max_lifetime ${config.signingMaxLifetimeSeconds};`] : []),
    ``,
    `    location = /healthz {`,
    `      access_log off;`,
    `      default_type text/plain;`,
    `      return 200 "ok\\n";`,
    `    }`,
    ``,
    // Ready = not draining and at least one origin answers its health check (the upstream's
    // own failover tries the backup when the primary fails).
    `    location = /readyz {`,
    `      access_log off;`,
    `      default_type text/plain;`,
    `      if (-f ${drainFlagPath(config)}) { return 503 "draining\\n"; }`,
    `      proxy_pass http://${UPSTREAM}${config.originHealthPath};`,
    `      proxy_next_upstream error timeout http_404 http_500 http_502 http_503 http_504;`,
    `      add_header X-Served-By $edge_served_by always;`,
    `    }`,
    ``,
    ...(signing ? [...signedLocation(config), ``] : []),
    ...insightLocations(config),
    ...mediaLocation(config, `~ "^/hls/.+\\.m3u8$"`, "playlist", { readTimeoutMs: config.playlistReadTimeoutMs }),
    ``,
    ...blockingPlaylistLocation(config),
    ``,
    ...partLocation(config),
    ``,
    ...mediaLocation(config, `~ "^/hls/.+\\.(ts|m4s|mp4|m4a|aac|vtt)$"`, "segment"),
    ``,
    ...keyLocation(config),
    ``,
    ...mediaLocation(config, `/hls/`, "other"),
    ``,
    ...vodLocations(config),
    // The player's static files are public even when media needs a signature.
    ...mediaLocation(config, `/player/`, "other", { signable: false }),
    ``,
    `    location / {`,
    ...cdnCheck(config).map((l) => `      ${l}`),
    `      return 404;`,
    `    }`,
    `  }`,
    ``,
    // stub_status only on loopback: requests/s for the metrics sidecar, not for the internet.
    `  server {`,
    `    listen 127.0.0.1:${config.statusPort};`,
    `    access_log off;`,
    `    location = ${STUB_STATUS_PATH} {`,
    `      stub_status;`,
    `    }`,
    `    location / {`,
    `      return 404;`,
    `    }`,
    `  }`,
    `}`,
  ];
  return [...main, ...http].join("\n") + "\n";
}

/**
 * The njs module that checks a signed URL: HMAC-SHA256 over `<keyId>:<expires>:/hls/<stream>/`
 * (or `…:/vod/<stream>/<stamp>/`)
 * with the key the link names, base64url without padding. "1" only for a valid, unexpired link
 * whose expiry is within the maximum lifetime; "" for anything else. The keys come from the
 * environment. Signatures are compared as HMACs of both sides (a fixed length, in constant time),
 * as the origin compares secrets.
 */
export const accessScript = (config: Pick<EdgeConfig, "originVerifyFile" | "hlsEncryptionSecretFile">): string => `// Generated by live360 (workloads/edge): verifies /s/<keyId>/<expires>/<signature>/hls/<stream>/... URLs
// and the CDN's origin-verify header.
import crypto from "crypto";
import fs from "fs";

function keys() {
  const found = {};
  // A counted loop: Debian's njs 0.7 has no for...of.
  const lines = (process.env.${SIGNING_KEYS_ENV} || "").split(/[\\n,]/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    const eq = line.indexOf("=");
    if (eq > 0) found[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return found;
}

function sameSignature(nonce, a, b) {
  const x = crypto.createHmac("sha256", nonce).update(a).digest("hex");
  const y = crypto.createHmac("sha256", nonce).update(b).digest("hex");
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= x.charCodeAt(i) ^ y.charCodeAt(i);
  return diff === 0;
}

${vodKeyFunction(config)}
// A beacon: its body is already read (js_content reads it first) and goes to the spool line as $request_body.
function beacon(r) {
  r.return(204);
}

function verify(r) {
  const v = r.variables;
  const secret = keys()[v.edge_key_id];
  // An unknown key is checked against a throwaway secret: the same work, the same answer.
  const scope = v.edge_key_id + ":" + v.edge_expires + ":" + v.edge_scope;
  const expected = crypto.createHmac("sha256", secret || "unknown key").update(scope).digest("base64url");
  const valid = sameSignature(scope, expected, v.edge_signature || "") && !!secret;
  const expires = Number(v.edge_expires) * 1000;
  const now = Date.now();
  return valid && expires >= now && expires - now <= Number(v.edge_max_lifetime) * 1000 ? "1" : "";
}

// A signed answer may be kept (by a CDN) no longer than its link is good for; "no-store" and
// "private" answers are left as they are. Without a Cache-Control (VOD from the bucket) the
// link's remaining lifetime is the max-age.
function capMaxAge(r) {
  if (r.variables.edge_signed !== "1") return;
  const left = Math.max(0, Number(r.variables.edge_link_expires) - Math.floor(Date.now() / 1000));
  const given = r.headersOut["Cache-Control"] || "";
  if (/no-store|no-cache|private/.test(given)) return;
  const capped = given.replace(/(s-maxage|max-age)=(\\d+)/g, function (match, name, seconds) {
    return name + "=" + Math.min(Number(seconds), left);
  });
  r.headersOut["Cache-Control"] = /max-age=/.test(capped) ? capped : (capped === "" ? "" : capped + ", ") + "max-age=" + left;
}

// "1" when the request carries one of the CDN's origin-verify values; each value is compared as
// an HMAC keyed by itself, so neither the time taken nor a length tells anything about it.
function verifyValues() {
${
  config.originVerifyFile === undefined
    ? `  return process.env.${ORIGIN_VERIFY_ENV} || "";`
    : `  // Read on every request: a rotated Secret counts from the moment kubelet writes it. Unreadable: nothing matches.
  try {
    return fs.readFileSync(${JSON.stringify(config.originVerifyFile)}, "utf8");
  } catch (e) {
    return "";
  }`
}
}

function fromCdn(r) {
  const given = r.headersIn["${ORIGIN_VERIFY_HEADER}"] || "";
  const values = verifyValues().split(/[\\n,]/);
  let matched = false;
  for (let i = 0; i < values.length; i++) {
    const value = values[i].trim();
    if (value !== "" && sameSignature(value, given, value)) matched = true;
  }
  return matched ? "1" : "";
}

export default { verify, fromCdn, beacon, vodKey, capMaxAge };
`;

/**
 * A VOD asset's key for one period, as the VOD worker derived it (periodKey in @live360/core:
 * the first 16 bytes of HMAC-SHA256(secret, "live360-hls-key:vod/<stream>/<stamp>:<period>")).
 * The secret file is read per request (a Secret mounted or rotated later counts at once) and
 * trimmed as the worker trims it; unreadable or too short, the key is not served (503).
 */
function vodKeyFunction(config: Pick<EdgeConfig, "hlsEncryptionSecretFile">): string {
  const file = config.hlsEncryptionSecretFile;
  return `function vodKey(r) {
${
  file === undefined
    ? `  r.return(403);`
    : `  let secret = "";
  try {
    secret = fs.readFileSync(${JSON.stringify(file)}, "utf8").trim();
  } catch (e) {
    secret = "";
  }
  if (secret.length < ${MIN_HLS_SECRET_LENGTH}) {
    r.error("VOD key refused: the HLS encryption secret file is unreadable or shorter than ${MIN_HLS_SECRET_LENGTH} characters");
    r.return(503);
    return;
  }
  const content = "vod/" + r.variables.edge_vod_asset;
  const key = crypto.createHmac("sha256", secret).update("live360-hls-key:" + content + ":" + Number(r.variables.edge_vod_period)).digest().slice(0, 16);
  r.headersOut["Content-Type"] = "application/octet-stream";
  r.return(200, key);`
}
}
`;
}

/** Every file the edge's nginx needs, by name, for a work dir or a ConfigMap. */
export function renderEdgeFiles(config: EdgeConfig): Record<string, string> {
  const files: Record<string, string> = { "nginx.conf": renderNginxConf(config) };
  if (usesNjs(config)) files[ACCESS_SCRIPT_FILE] = accessScript(config);
  return files;
}
