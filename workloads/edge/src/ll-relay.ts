/**
 * The LL-HLS relay: collapses concurrent blocking playlist reloads and held part requests into
 * one origin request each, and answers every waiter the moment that request completes.
 *
 * Why not nginx's own `proxy_cache_lock`: a request waiting on nginx's cache lock looks again
 * only every 500 ms (a fixed timer in ngx_http_file_cache_lock_wait), so all but the first viewer
 * of a part got it up to half a second late — measured at 246 ms median, 471 ms p95 behind the
 * first viewer with 100 simulated LL-HLS viewers (`make bench-ll-offload`), against 3 / 16 ms
 * straight from the origin. nginx still caches the relay's answers (stragglers hit the cache);
 * only the wait moves here, where a waiter is a promise.
 *
 * Origins are tried in order with a connect and a read timeout each; an error, a timeout, a 404
 * or a 5xx moves to the next one, and an origin that failed is skipped for the fail timeout
 * (unless every origin has failed), as nginx's upstream does.
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "@live360/core";
import type { EdgeConfig } from "./config.js";

/** What the relay asks an origin: a variant playlist with LL-HLS directives, or a part. */
const PLAYLIST_PATH = /^\/hls\/[a-z0-9][a-z0-9-]{0,62}\/[a-z0-9_-]{1,32}\/index\.m3u8$/;
const PART_PATH = /^\/hls\/[a-z0-9][a-z0-9-]{0,62}\/[a-z0-9_-]{1,32}\/[a-z0-9_-]{1,64}_[0-9]{1,12}\.[0-9]{1,6}\.m4s$/;
const DIRECTIVES = ["_HLS_msn", "_HLS_part", "_HLS_skip"] as const;
/** Headers of an origin's answer passed on; everything else is the edge's business. */
const PASSED_HEADERS = ["content-type", "cache-control", "content-length"] as const;
/** Bounds what waiting viewers can pin: an answer body (a part is tens of kB). */
const MAX_BODY_BYTES = 16 * 1024 * 1024;
/**
 * A completed answer is kept this long: nginx (no cache lock) passes on every miss until its cache
 * file is written, and the viewers who asked a moment after the first answer must not cost the
 * origin another request. Bounded in entries and bytes, oldest dropped first.
 */
const RECENT_MS = 2000;
const RECENT_MAX_ENTRIES = 2000;
const RECENT_MAX_BYTES = 64 * 1024 * 1024;

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** The origin that answered ("" when none did). */
  servedBy: string;
}

export interface LlHlsRelay {
  readonly port: number;
  /** Origin requests made and viewer requests answered from them (for tests and metrics). */
  readonly counts: { originRequests: number; collapsed: number; recent: number };
  close(): Promise<void>;
}

/**
 * The origin request's key from a request target (path and query as nginx sends them): the path
 * and the three directives in a fixed order, nothing else; undefined for anything not relayed.
 * Read by hand rather than with `URL`: every concurrent miss of a part passes here.
 */
export function relayKey(target: string): string | undefined {
  const queryAt = target.indexOf("?");
  const pathname = queryAt < 0 ? target : target.slice(0, queryAt);
  if (PART_PATH.test(pathname)) return pathname;
  if (queryAt < 0 || !PLAYLIST_PATH.test(pathname)) return undefined;
  const values = new Map<string, string>();
  for (const pair of target.slice(queryAt + 1).split("&")) {
    const equals = pair.indexOf("=");
    const name = equals < 0 ? pair : pair.slice(0, equals);
    // The first of a repeated directive counts, as URLSearchParams.get would have it.
    if (isDirective(name) && !values.has(name)) values.set(name, queryValue(equals < 0 ? "" : pair.slice(equals + 1)));
  }
  const query = DIRECTIVES.filter((d) => values.has(d)).map((d) => `${d}=${encodeURIComponent(values.get(d)!)}`);
  return query.length > 0 ? `${pathname}?${query.join("&")}` : undefined;
}

const isDirective = (name: string): name is (typeof DIRECTIVES)[number] => (DIRECTIVES as readonly string[]).includes(name);

/** A query value decoded as a form would be; a malformed escape is kept as sent (the origin refuses it). */
function queryValue(raw: string): string {
  const spaced = raw.replaceAll("+", " ");
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}

/** An origin request given up by the relay itself (the socket's own errors are plain errors). */
class OriginFailedError extends Error {
  constructor(readonly reason: "connect timeout" | "read timeout" | "answer too large") {
    super(reason);
  }
}

function fetchOnce(config: EdgeConfig, hostPort: string, key: string): Promise<Omit<Answer, "servedBy">> {
  const readMs = config.blockingPlaylistReadTimeoutMs;
  return new Promise((resolve, reject) => {
    const req = request(`http://${hostPort}${key}`, { agent: false, headers: { Connection: "close" } }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) req.destroy(new OriginFailedError("answer too large"));
        else chunks.push(chunk);
      });
      res.on("end", () => {
        const headers: Record<string, string> = {};
        for (const name of PASSED_HEADERS) {
          const value = res.headers[name];
          if (typeof value === "string") headers[name] = value;
        }
        resolve({ status: res.statusCode ?? 502, headers, body: Buffer.concat(chunks) });
      });
      res.on("error", reject);
    });
    // Connecting must be quick; once connected, the whole answer may take a blocking wait.
    const connectTimer = setTimeout(() => req.destroy(new OriginFailedError("connect timeout")), config.connectTimeoutMs);
    let readTimer: NodeJS.Timeout | undefined;
    req.on("socket", (socket) =>
      socket.once("connect", () => {
        clearTimeout(connectTimer);
        readTimer = setTimeout(() => req.destroy(new OriginFailedError("read timeout")), readMs);
      }),
    );
    req.on("close", () => {
      clearTimeout(connectTimer);
      clearTimeout(readTimer);
    });
    req.on("error", reject);
    req.end();
  });
}

/** Starts the relay on a loopback port in front of the configured origins. */
export async function startLlHlsRelay(config: EdgeConfig, port: number, logger: Logger): Promise<LlHlsRelay> {
  const inFlight = new Map<string, Promise<Answer>>();
  /** Completed 200s by key, in completion order (a Map iterates in insertion order). */
  const recent = new Map<string, { answer: Answer; until: number }>();
  let recentBytes = 0;
  const failedUntil = new Map<string, number>();
  const counts = { originRequests: 0, collapsed: 0, recent: 0 };

  const remember = (key: string, answer: Answer): void => {
    if (answer.status !== 200) return;
    const now = Date.now();
    recent.set(key, { answer, until: now + RECENT_MS });
    recentBytes += answer.body.length;
    for (const [oldKey, entry] of recent) {
      if (entry.until > now && recent.size <= RECENT_MAX_ENTRIES && recentBytes <= RECENT_MAX_BYTES) break;
      recent.delete(oldKey);
      recentBytes -= entry.answer.body.length;
    }
  };

  async function fromOrigins(key: string): Promise<Answer> {
    const now = Date.now();
    const healthy = config.origins.filter((o) => (failedUntil.get(o.hostPort) ?? 0) <= now);
    let last: Answer = { status: 502, headers: {}, body: Buffer.from("no origin answered\n"), servedBy: "" };
    for (const origin of healthy.length > 0 ? healthy : config.origins) {
      counts.originRequests += 1;
      try {
        const answer = await fetchOnce(config, origin.hostPort, key);
        if (answer.status < 500 && answer.status !== 404) return { ...answer, servedBy: origin.name };
        // A 404 is this origin's stream missing (the other may have it), not the origin failing.
        if (answer.status !== 404) failedUntil.set(origin.hostPort, Date.now() + config.failTimeoutSeconds * 1000);
        last = { ...answer, servedBy: origin.name };
      } catch (error) {
        failedUntil.set(origin.hostPort, Date.now() + config.failTimeoutSeconds * 1000);
        logger.warn("LL-HLS relay: origin failed, trying the next", { origin: origin.name, key, error });
        last = { status: error instanceof OriginFailedError && error.reason === "read timeout" ? 504 : 502, headers: {}, body: Buffer.from("origin failed\n"), servedBy: origin.name };
      }
    }
    return last;
  }

  const answer = (key: string): Promise<Answer> => {
    const kept = recent.get(key);
    if (kept && kept.until > Date.now()) {
      counts.recent += 1;
      return Promise.resolve(kept.answer);
    }
    const pending = inFlight.get(key);
    if (pending) {
      counts.collapsed += 1;
      return pending;
    }
    const started = fromOrigins(key)
      .then((answered) => (remember(key, answered), answered))
      .finally(() => inFlight.delete(key));
    inFlight.set(key, started);
    return started;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const key = req.method === "GET" || req.method === "HEAD" ? relayKey(req.url ?? "/") : undefined;
    if (!key) {
      res.writeHead(404, { "Content-Type": "text/plain" }).end("not an LL-HLS request\n");
      return;
    }
    const { status, headers, body, servedBy } = await answer(key);
    if (res.destroyed) return;
    res.writeHead(status, { ...headers, ...(servedBy ? { "X-Live360-Served-By": servedBy } : {}) });
    res.end(req.method === "HEAD" ? undefined : body);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      logger.error("LL-HLS relay: request failed", { error });
      if (!res.headersSent) res.writeHead(502, { "Content-Type": "text/plain" });
      res.end();
    });
  });
  // Waiters hold their connection for a blocking wait; nginx reuses them (keepalive upstream).
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    counts,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
