import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import path from "node:path";
import type { Duplex } from "node:stream";
import { encryptSegment, keyPeriod, periodKey, secretsEqual, segmentIv, withKeyTags, type HlsEncryptionConfig } from "@live360/core";
import type { OriginConfig } from "./config.js";
import { CMAF_PATH, serveCmaf, type CmafStreamView } from "./cmaf-http.js";
import { MASTER_PLAYLIST } from "./master.js";
import type { OriginMetrics } from "./metrics.js";

/** What the HTTP layer asks of the origin; kept narrow so routing stays testable on its own. */
export interface OriginHttpBackend {
  config: OriginConfig;
  metrics: OriginMetrics;
  /** Live, or ended but still inside the reconnect grace. */
  hasStream(stream: string): boolean;
  /** Media still arrives and the ladder still reports progress within `withinMs`, however slowly. */
  isProducing(stream: string, withinMs: number): boolean;
  isDraining(): boolean;
  /**
   * /stat's body. `full` only for a request with the admin token: it adds what no one else may
   * see (publisher addresses, file paths, error text); the rest is what the operator, the peer
   * origin and the edge read without a token.
   */
  stat(full: boolean): unknown;
  dropPublisher(stream: string): boolean;
  /** A CMAF stream's playlists and media (hlsFormat `cmaf`), while it has a ladder. */
  cmaf(stream: string): CmafStreamView | undefined;
  /** Extra GET/HEAD routes served beside the origin's own, e.g. local mode's `/vod/`. */
  routes?: readonly OriginRoute[];
}

/**
 * A route added to the origin's HTTP server (one server, one port). Like the origin's own
 * routes, its pattern is matched against the raw path before any decoding, so a pattern that
 * admits no `%` and no `..` keeps every request inside what the route serves.
 */
export interface OriginRoute {
  pattern: RegExp;
  handle(req: IncomingMessage, res: ServerResponse, match: RegExpExecArray): Promise<void>;
}

/**
 * Matched against the raw path, before any decoding: anything with `%`, `..` or an unexpected
 * shape never reaches the file system, so no encoding trick can leave the HLS root.
 */
const HLS_PATH = /^\/hls\/([a-z0-9][a-z0-9-]{0,62})\/(?:(master\.m3u8)|([a-z0-9_-]{1,32})\/(index\.m3u8|seg_\d{5,12}\.ts))$/;
/** An encryption key of one stream's key period (encryption.ts): `/hls/<stream>/keys/<period>.key`. */
const KEY_PATH = /^\/hls\/([a-z0-9][a-z0-9-]{0,62})\/keys\/(\d{1,12})\.key$/;
const SEGMENT_NUMBER = /^seg_(\d{5,12})\.ts$/;
const PLAYER_PATH = /^\/player\/((?:[A-Za-z0-9_-][A-Za-z0-9._-]*\/)*(?:[A-Za-z0-9_-][A-Za-z0-9._-]*)?)$/;
const DROP_PATH = /^\/control\/drop\/([a-z0-9][a-z0-9-]{0,62})$/;

const CONTENT_TYPES: Record<string, string> = {
  ".m3u8": "application/vnd.apple.mpegurl",
  ".ts": "video/mp2t",
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".wasm": "application/wasm",
};

const IMMUTABLE_CACHE = "public, max-age=31536000, immutable";

type RequestKind = "master" | "playlist" | "segment" | "other";

export function createOriginHttpServer(backend: OriginHttpBackend): Server {
  const { config, metrics } = backend;
  // Playlists may be cached for at most half a segment, so a cache never hides a new segment.
  const playlistCache = `public, max-age=${Math.floor(config.segmentSeconds / 2)}`;
  // A live playlist untouched for this long belongs to a stalled encoder or FFmpeg: refuse
  // it (404) so the edge fails over instead of serving a frozen stream as live. Unless media
  // still arrives and FFmpeg still makes progress: a ladder slower than real time on the only
  // origin must leave players waiting, not failing.
  const staleAfterMs = Math.max(3 * config.segmentSeconds, 6) * 1000;
  const hlsRoot = path.join(config.dataDir, "hls");
  const encryption = config.hlsEncryption;

  async function serveHls(req: IncomingMessage, res: ServerResponse, match: RegExpExecArray): Promise<RequestKind> {
    const [, stream, master, variant, file] = match as unknown as [string, string, string?, string?, string?];
    const kind: RequestKind = master ? "master" : file!.endsWith(".m3u8") ? "playlist" : "segment";
    if (!backend.hasStream(stream)) return notFound(res, kind);
    // A shutting-down origin ends its streams' playlists (#EXT-X-ENDLIST) while it still answers:
    // served as they are, an edge passes "the event is over" to viewers during a drain or a Spot
    // interruption (seen on kind). A 503 makes the edge take the playlist from the other origin.
    if (kind === "playlist" && backend.isDraining()) {
      send(res, 503, "draining\n", { "Content-Type": "text/plain" });
      return kind;
    }
    const filePath = master ? path.join(hlsRoot, stream, MASTER_PLAYLIST) : path.join(hlsRoot, stream, variant!, file!);
    if (kind === "segment") {
      if (encryption) await sendEncryptedSegment(req, res, stream, filePath, Number(SEGMENT_NUMBER.exec(file!)![1]), encryption);
      else await sendFile(req, res, filePath, IMMUTABLE_CACHE, kind);
      return kind;
    }
    const [body, info] = await Promise.all([readFile(filePath).catch(() => undefined), stat(filePath).catch(() => undefined)]);
    if (!body || !info) return notFound(res, kind);
    if (kind === "playlist" && !body.includes("#EXT-X-ENDLIST") && Date.now() - info.mtimeMs > staleAfterMs && !backend.isProducing(stream, staleAfterMs)) {
      return notFound(res, kind);
    }
    const served = kind === "playlist" && encryption ? withKeyTags(body.toString("utf8"), encryption.rotationSegments) : body;
    send(res, 200, served, { "Content-Type": CONTENT_TYPES[".m3u8"]!, "Cache-Control": playlistCache }, req.method === "HEAD");
    return kind;
  }

  async function serveCmafStream(req: IncomingMessage, res: ServerResponse, match: RegExpExecArray): Promise<RequestKind> {
    const stream = match[1]!;
    const view = backend.hasStream(stream) ? backend.cmaf(stream) : undefined;
    const headOnly = req.method === "HEAD";
    const respond = { send: (status: number, body: string | Buffer, headers?: Record<string, string>) => send(res, status, body, headers, headOnly), notFound: () => void notFound(res, "other") };
    if (!view) return notFound(res, match[2] ? "master" : match[4] === "index.m3u8" ? "playlist" : "segment");
    return serveCmaf(req, res, match, view, respond, {
      draining: backend.isDraining(),
      stale: () => Date.now() - view.ladder.lastPartAtMs > staleAfterMs && !backend.isProducing(stream, staleAfterMs),
    });
  }

  /** Segment N encrypted with its period's key and IV N: the same bytes on both origins of an event. */
  async function sendEncryptedSegment(req: IncomingMessage, res: ServerResponse, stream: string, filePath: string, segmentNumber: number, encryption: HlsEncryptionConfig): Promise<void> {
    const clear = await readFile(filePath).catch(() => undefined);
    if (!clear) {
      notFound(res, "segment");
      return;
    }
    const key = periodKey(encryption.secret, stream, keyPeriod(segmentNumber, encryption.rotationSegments));
    send(res, 200, encryptSegment(clear, key, segmentIv(segmentNumber)), { "Content-Type": CONTENT_TYPES[".ts"]!, "Cache-Control": IMMUTABLE_CACHE }, req.method === "HEAD");
  }

  /**
   * A key of a live stream. Reaching the origin's HTTP port is already limited (NetworkPolicy);
   * the edge hands keys only to signed requests. Never cached by anyone: a key outlives no viewer.
   */
  function serveKey(req: IncomingMessage, res: ServerResponse, match: RegExpExecArray): RequestKind {
    const [, stream, period] = match as unknown as [string, string, string];
    if (!encryption || !backend.hasStream(stream)) return notFound(res, "other");
    send(res, 200, periodKey(encryption.secret, stream, Number(period)), { "Content-Type": "application/octet-stream", "Cache-Control": "private, no-store" }, req.method === "HEAD");
    return "other";
  }

  function notFound(res: ServerResponse, kind: RequestKind): RequestKind {
    // No Cache-Control here: nginx reads it from the primary's 404 before failing over, and a
    // no-cache there made the backup's answer uncacheable too — the edge then lost caching and
    // collapsing for the whole failover (bench/edge). Without validators nothing caches a 404.
    send(res, 404, "not found\n", { "Content-Type": "text/plain" });
    return kind;
  }

  async function sendFile(req: IncomingMessage, res: ServerResponse, filePath: string, cache: string, kind: RequestKind): Promise<void> {
    const info = await stat(filePath).catch(() => undefined);
    if (!info?.isFile()) {
      notFound(res, kind);
      return;
    }
    res.writeHead(200, {
      "Content-Type": CONTENT_TYPES[path.extname(filePath)] ?? "application/octet-stream",
      "Content-Length": info.size,
      "Cache-Control": cache,
    });
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    await new Promise<void>((resolve) => {
      const stream = createReadStream(filePath);
      stream.on("error", () => res.destroy());
      res.on("close", () => {
        stream.destroy();
        resolve();
      });
      stream.pipe(res);
    });
  }

  function authorized(req: IncomingMessage): boolean {
    const header = req.headers.authorization ?? "";
    return config.adminToken !== undefined && header.startsWith("Bearer ") && secretsEqual(header.slice("Bearer ".length), config.adminToken);
  }

  const unauthorized = (res: ServerResponse): void => send(res, 401, "missing or wrong bearer token\n", { "WWW-Authenticate": "Bearer" });

  async function route(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<RequestKind> {
    const method = req.method ?? "GET";
    if (method === "OPTIONS") {
      send(res, 204, "", { "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS", "Access-Control-Max-Age": "86400" });
      return "other";
    }
    if (method === "POST") {
      const drop = DROP_PATH.exec(pathname);
      if (!drop) return notFound(res, "other");
      if (!config.adminToken) send(res, 403, "control API disabled: start the origin with --admin-token-file or LIVE360_ADMIN_TOKEN\n");
      else if (!authorized(req)) unauthorized(res);
      else if (backend.dropPublisher(drop[1]!)) send(res, 200, `dropped ${drop[1]}\n`);
      else send(res, 404, `no publisher on ${drop[1]}\n`);
      return "other";
    }
    if (method !== "GET" && method !== "HEAD") {
      send(res, 405, "method not allowed\n", { Allow: "GET, HEAD, OPTIONS, POST" });
      return "other";
    }
    const cmaf = config.hlsFormat === "cmaf" ? CMAF_PATH.exec(pathname) : null;
    if (cmaf) return serveCmafStream(req, res, cmaf);
    const hls = config.hlsFormat === "ts" ? HLS_PATH.exec(pathname) : null;
    if (hls) return serveHls(req, res, hls);
    const key = KEY_PATH.exec(pathname);
    if (key) return serveKey(req, res, key);
    switch (pathname) {
      case "/healthz":
        send(res, 200, "ok\n");
        return "other";
      case "/readyz":
        if (backend.isDraining()) send(res, 503, "draining\n");
        else send(res, 200, "ready\n");
        return "other";
      case "/stat": {
        // No token: the redacted view. A token that is wrong is refused rather than answered with
        // less, so a dashboard with a stale token fails visibly.
        const full = req.headers.authorization !== undefined;
        if (full && !authorized(req)) unauthorized(res);
        // Never stored: a cache keyed on the path alone could hand the full view to anyone.
        else send(res, 200, JSON.stringify(backend.stat(full), null, 2), { "Content-Type": "application/json", "Cache-Control": "no-store" });
        return "other";
      }
      case "/metrics":
        send(res, 200, await metrics.registry.metrics(), { "Content-Type": metrics.registry.contentType });
        return "other";
      case "/player":
        send(res, 301, "", { Location: "/player/" });
        return "other";
    }
    for (const extra of backend.routes ?? []) {
      const match = extra.pattern.exec(pathname);
      if (!match) continue;
      await extra.handle(req, res, match);
      return "other";
    }
    const player = PLAYER_PATH.exec(pathname);
    if (player && config.playerDir) {
      const relative = player[1] === "" || player[1]!.endsWith("/") ? `${player[1]}index.html` : player[1]!;
      // The built player names every file but index.html after its content hash: those never change.
      const cache = path.basename(relative) === "index.html" ? "no-cache" : IMMUTABLE_CACHE;
      await sendFile(req, res, path.join(config.playerDir, relative), cache, "other");
      return "other";
    }
    return notFound(res, "other");
  }

  const limits = config.httpLimits;
  const server = createServer(
    {
      keepAliveTimeout: limits.keepAliveTimeoutSeconds * 1000,
      headersTimeout: limits.headersTimeoutSeconds * 1000,
      requestTimeout: limits.requestTimeoutSeconds * 1000,
      // Node looks for expired header and request deadlines this often (default 30 s, which
      // would let a trickling client hold its socket up to 30 s past the deadline).
      connectionsCheckingInterval: 1000,
    },
    (req, res) => {
      res.setHeader("Access-Control-Allow-Origin", "*");
      // A client that stops reading would hold the response's file and buffers for as long as
      // it likes; the socket closes when the response makes no progress for this long.
      res.setTimeout(limits.sendTimeoutSeconds * 1000, () => {
        metrics.httpLimits.inc({ limit: "send-timeout" });
        res.destroy();
      });
      const pathname = (req.url ?? "/").split("?", 1)[0]!;
      route(req, res, pathname)
        .then((kind) => metrics.httpRequests.inc({ kind, status: String(res.statusCode) }))
        .catch(() => {
          if (!res.headersSent) send(res, 500, "internal error\n");
          else res.destroy();
        });
    },
  );
  server.maxConnections = limits.maxConnections;
  server.on("drop", () => metrics.httpLimits.inc({ limit: "max-connections" }));
  server.on("clientError", (error: NodeJS.ErrnoException, socket: Duplex) => answerClientError(error, socket, metrics));
  return server;
}

/**
 * What Node would answer by itself, plus the count: a request not received in time (408), headers
 * too large (431) or bytes that are no HTTP request (400). A client that reset its connection is
 * not answered and not counted: it has gone, and that is no misbehaviour.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex, metrics: OriginMetrics): void {
  // Node keeps the response being written on the socket; an answer now would be spliced into it.
  const responding = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage?.headersSent === true;
  if (error.code === "ECONNRESET" || !socket.writable || responding) {
    socket.destroy();
    return;
  }
  const [limit, status] =
    error.code === "ERR_HTTP_REQUEST_TIMEOUT"
      ? (["request-timeout", "408 Request Timeout"] as const)
      : error.code === "HPE_HEADER_OVERFLOW"
        ? (["headers-too-large", "431 Request Header Fields Too Large"] as const)
        : (["bad-request", "400 Bad Request"] as const);
  metrics.httpLimits.inc({ limit });
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

function send(res: ServerResponse, status: number, body: string | Buffer, headers: Record<string, string> = {}, headOnly = false): void {
  res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8", "Content-Length": Buffer.byteLength(body), ...headers });
  res.end(headOnly ? undefined : body);
}
