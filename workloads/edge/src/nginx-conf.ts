import path from "node:path";
import { EDGE_UPSTREAM_KEEPALIVE_SECONDS } from "@live360/core";
import { ORIGIN_VERIFY_ENV, ORIGIN_VERIFY_HEADER, SIGNING_KEYS_ENV, usesNjs, type EdgeConfig, type EdgeOrigin } from "./config.js";

/**
 * Renders the edge's nginx.conf from its typed configuration. Pure: same config, same text,
 * so the file can be snapshot-tested, printed by `live360 edge --print-config` and shipped
 * as a ConfigMap next to the official nginx image.
 */

/** Name of the njs module file, imported relative to the directory holding nginx.conf. */
/** The njs module: signed URLs and the origin-verify check. */
export const ACCESS_SCRIPT_FILE = "edge-access.js";
/** The flag file whose presence makes /readyz fail: created on SIGTERM (or by a preStop hook). */
export const DRAIN_FLAG_FILE = "draining";
export const STUB_STATUS_PATH = "/stub_status";

const UPSTREAM = "edge_origins";
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

function upstreamBlock(config: EdgeConfig): string[] {
  const dynamic = config.resolver !== undefined;
  // The shared zone also shares failure state: one worker meeting a dead or hung origin marks
  // it failed for all workers, instead of each worker paying its own timeout.
  const servers = config.origins.map((origin, i) => {
    // The last origin is never marked failed: with nothing behind it, skipping it only turns one
    // slow answer (a playlist read timing out on a loaded node while the primary is down) into
    // "no live upstreams" 502s for every viewer until fail_timeout ends — seen in a kind drill.
    const last = i > 0 && i === config.origins.length - 1;
    const flags = last ? [`max_fails=0`] : [`max_fails=1`, `fail_timeout=${config.failTimeoutSeconds}s`];
    if (dynamic && !origin.isIpLiteral) flags.push("resolve");
    if (i > 0) flags.push("backup");
    return `    server ${origin.hostPort} ${flags.join(" ")};  # ${origin.name}`;
  });
  return [
    `  upstream ${UPSTREAM} {`,
    // `resolve` keeps a Service name's address current; it needs the shared zone as well.
    `    zone ${UPSTREAM} 256k;`,
    ...servers,
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

const RESPONSE_HEADERS = [
  `add_header X-Cache-Status $upstream_cache_status always;`,
  `add_header X-Served-By $edge_served_by always;`,
  // The edge is the public face: exactly one CORS header, also on its own error responses.
  `proxy_hide_header Access-Control-Allow-Origin;`,
  `add_header Access-Control-Allow-Origin "*" always;`,
];

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

function mediaLocation(config: EdgeConfig, match: string, kind: MediaKind, signable = true): string[] {
  const body = [
    ...cdnCheck(config),
    ...(signable && config.signedUrls ? [`if ($edge_signed != 1) { return 403 "${FORBIDDEN}"; }`] : []),
    `proxy_pass http://${UPSTREAM};`,
    ...(kind === "playlist" ? failoverTimeouts(config, config.playlistReadTimeoutMs) : []),
    ...cacheRules(config, kind),
    ...RESPONSE_HEADERS,
  ];
  return [`    location ${match} {`, ...body.map((l) => `      ${l}`), `    }`];
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
 * <stream>/…`) rather than the query, so the relative URIs inside playlists inherit them; the
 * signature covers the stream's directory, which is what a viewer is granted. Every refusal —
 * bad signature, unknown key, tampered path, expired, too long a lifetime — is the same 403, so a
 * client learns nothing about which check failed.
 */
function signedLocation(config: EdgeConfig): string[] {
  return [
    `    location ~ "^/s/(?<edge_key_id>[a-z0-9][a-z0-9-]{0,31})/(?<edge_expires>[0-9]{1,12})/(?<edge_signature>[A-Za-z0-9_-]{43})(?<edge_path>/hls/(?<edge_stream>[a-z0-9][a-z0-9-]{0,62})/.*)$" {`,
    ...cdnCheck(config).map((l) => `      ${l}`),
    `      if ($edge_link != "1") { return 403 "${FORBIDDEN}"; }`,
    `      set $edge_signed 1;`,
    `      rewrite ^ $edge_path last;`,
    `    }`,
  ];
}

/** The syslog tag of insight lines; the insight server reads the JSON after it. */
export const INSIGHT_SYSLOG_TAG = "live360_insight";
export const INSIGHT_BEACON_PATH = "/insight/beacon";
export const INSIGHT_HEATMAP_PATH = "/insight/heatmap/";

/**
 * Viewer insight: every request carrying CMCD is logged as one JSON line to the insight server
 * over UDP syslog (nginx never waits for it; a line lost under overload costs a sample, never a
 * request), and beacons and heatmaps are proxied to it over TCP on the same loopback port.
 */
function insightLog(config: EdgeConfig): string[] {
  if (config.insightPort === undefined) return [];
  return [
    `  log_format insight escape=json '{"s":$status,"b":$body_bytes_sent,"u":"$uri","c":"$arg_cmcd"}';`,
    `  access_log syslog:server=127.0.0.1:${config.insightPort},nohostname,tag=${INSIGHT_SYSLOG_TAG} insight if=$arg_cmcd;`,
  ];
}

function insightLocations(config: EdgeConfig): string[] {
  if (config.insightPort === undefined) return [];
  const upstream = `http://127.0.0.1:${config.insightPort}`;
  const proxy = [`proxy_connect_timeout ${config.connectTimeoutMs}ms;`, `proxy_read_timeout ${config.readTimeoutMs}ms;`, `proxy_next_upstream off;`];
  return [
    `    location = ${INSIGHT_BEACON_PATH} {`,
    ...[
      ...cdnCheck(config),
      // A beacon is a few KiB (the server refuses more than MAX_BEACON_BYTES itself).
      `client_max_body_size 16k;`,
      `client_body_buffer_size 16k;`,
      `proxy_pass ${upstream};`,
      ...proxy,
      `proxy_cache off;`,
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
    ``,
    ...servedByMap(config.origins),
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
    ...mediaLocation(config, `~ "^/hls/.+\\.m3u8$"`, "playlist"),
    ``,
    ...mediaLocation(config, `~ "^/hls/.+\\.(ts|m4s|mp4|m4a|aac|vtt)$"`, "segment"),
    ``,
    ...keyLocation(config),
    ``,
    ...mediaLocation(config, `/hls/`, "other"),
    ``,
    // The player's static files are public even when media needs a signature.
    ...mediaLocation(config, `/player/`, "other", false),
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
 * with the key the link names, base64url without padding. "1" only for a valid, unexpired link
 * whose expiry is within the maximum lifetime; "" for anything else. The keys come from the
 * environment. Signatures are compared as HMACs of both sides (a fixed length, in constant time),
 * as the origin compares secrets.
 */
export const accessScript = (config: Pick<EdgeConfig, "originVerifyFile">): string => `// Generated by live360 (workloads/edge): verifies /s/<keyId>/<expires>/<signature>/hls/<stream>/... URLs
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

function verify(r) {
  const v = r.variables;
  const secret = keys()[v.edge_key_id];
  // An unknown key is checked against a throwaway secret: the same work, the same answer.
  const scope = v.edge_key_id + ":" + v.edge_expires + ":/hls/" + v.edge_stream + "/";
  const expected = crypto.createHmac("sha256", secret || "unknown key").update(scope).digest("base64url");
  const valid = sameSignature(scope, expected, v.edge_signature || "") && !!secret;
  const expires = Number(v.edge_expires) * 1000;
  const now = Date.now();
  return valid && expires >= now && expires - now <= Number(v.edge_max_lifetime) * 1000 ? "1" : "";
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

export default { verify, fromCdn };
`;

/** Every file the edge's nginx needs, by name, for a work dir or a ConfigMap. */
export function renderEdgeFiles(config: EdgeConfig): Record<string, string> {
  const files: Record<string, string> = { "nginx.conf": renderNginxConf(config) };
  if (usesNjs(config)) files[ACCESS_SCRIPT_FILE] = accessScript(config);
  return files;
}
