/**
 * The insight server beside nginx, on one loopback port: UDP for the syslog lines nginx writes for
 * every request carrying CMCD, TCP (HTTP) for the beacons and heatmap requests nginx proxies.
 * Nothing here trusts its input: a line or a body out of shape is counted and dropped, a body
 * larger than a beacon is refused (nginx caps what reaches here), and nothing throws out of a
 * handler.
 */
import { createSocket, type Socket } from "node:dgram";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { ListenError, MAX_BEACON_BYTES, Registry, once, type Logger } from "@live360/core";
import { INSIGHT_BEACON_PATH, INSIGHT_HEATMAP_PATH, INSIGHT_SYSLOG_TAG } from "../nginx-conf.js";
import { InsightAggregator, isStreamName } from "./aggregator.js";
import { BeaconError, parseBeacon } from "./beacon.js";
import { CmcdError, parseCmcd } from "./cmcd.js";
import { LOCAL_HEATMAP_PATH, mergedHeatmap, type PeerSource } from "./peers.js";
import type { MetricsRouteAnswer } from "../metrics.js";

export interface InsightServerOptions {
  port: number;
  aggregator: InsightAggregator;
  logger: Logger;
  /** The other edges whose grids the public heatmap adds (peers.ts); none: this edge's alone. */
  peers?: PeerSource;
}

export interface InsightServer {
  close(): Promise<void>;
}

const SYSLOG_MARKER = `${INSIGHT_SYSLOG_TAG}: `;
/** A heatmap may be a few seconds old: the CDN and the edge's viewers share one answer. */
const HEATMAP_MAX_AGE_SECONDS = 5;

/** One syslog datagram from nginx: `<pri>timestamp live360_insight: {"s":…,"b":…,"u":"…","c":"…"}`. */
export function recordLogLine(aggregator: InsightAggregator, datagram: string): void {
  const at = datagram.indexOf(SYSLOG_MARKER);
  let line: unknown;
  try {
    line = at === -1 ? undefined : JSON.parse(datagram.slice(at + SYSLOG_MARKER.length));
  } catch {
    line = undefined;
  }
  const { s: status, b: bytes, u: path, c: query } = (line ?? {}) as Record<string, unknown>;
  if (typeof status !== "number" || typeof bytes !== "number" || typeof path !== "string" || typeof query !== "string") return aggregator.reject("cmcd-bad-pair");
  let value: string;
  try {
    value = decodeURIComponent(query);
  } catch {
    return aggregator.reject("cmcd-bad-value");
  }
  const cmcd = parseCmcd(value);
  if (cmcd instanceof CmcdError) return aggregator.reject(`cmcd-${cmcd.reason}`);
  aggregator.recordRequest({ path, status, bytes, cmcd });
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store", ...headers }).end(body);
}

/**
 * The body, or undefined when it is longer than `limit`: the rest is read and dropped (nginx caps
 * it at client_max_body_size), so nginx gets an answer rather than a closed connection.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    req.on("end", () => resolve(size <= limit ? Buffer.concat(chunks) : undefined));
    req.on("error", () => resolve(undefined));
  });
}

async function handle(options: InsightServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { aggregator } = options;
  const path = (req.url ?? "").split("?")[0]!;
  if (path === INSIGHT_BEACON_PATH) {
    if (req.method !== "POST") return send(res, 405, "POST a beacon\n", { Allow: "POST" });
    const body = await readBody(req, MAX_BEACON_BYTES);
    const beacon = body === undefined ? new BeaconError("too-large") : parseBeacon(body);
    if (beacon instanceof BeaconError) {
      aggregator.reject(`beacon-${beacon.reason}`);
      return send(res, 400, "not a beacon\n");
    }
    // Rate-limited beacons get the same answer: a flooding client learns nothing from it.
    aggregator.recordBeacon(beacon);
    res.writeHead(204, { "Cache-Control": "no-store" }).end();
    return;
  }
  const stream = path.startsWith(INSIGHT_HEATMAP_PATH) ? path.slice(INSIGHT_HEATMAP_PATH.length) : undefined;
  if (stream !== undefined && isStreamName(stream) && req.method === "GET") {
    const heatmap = await mergedHeatmap(aggregator.heatmap(stream), stream, options.peers);
    if (heatmap.samples === 0) return send(res, 404, "no viewer has reported on this stream\n");
    return send(res, 200, JSON.stringify(heatmap), { "Content-Type": "application/json", "Cache-Control": `max-age=${HEATMAP_MAX_AGE_SECONDS}` });
  }
  send(res, 404, "not found\n");
}

export async function startInsightServer(options: InsightServerOptions): Promise<InsightServer> {
  const { aggregator, logger } = options;
  const server: Server = createServer((req, res) => {
    handle(options, req, res).catch((error: unknown) => {
      logger.warn("insight request failed", { error });
      if (!res.headersSent) send(res, 500, "internal error\n");
    });
  });
  // Slow senders cannot hold sockets open: a beacon arrives in one go.
  server.requestTimeout = 5000;
  server.headersTimeout = 5000;
  server.maxHeadersCount = 50;
  const socket: Socket = createSocket("udp4");
  socket.on("message", (message) => recordLogLine(aggregator, message.toString("utf8")));
  socket.on("error", (error) => logger.warn("insight syslog socket", { error }));
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", (err) => reject(new ListenError("edge insight (tcp)", options.port, err)));
      server.listen(options.port, "127.0.0.1", resolve);
    });
    await new Promise<void>((resolve, reject) => {
      socket.once("error", (err) => reject(new ListenError("edge insight (udp)", options.port, err)));
      socket.bind(options.port, "127.0.0.1", resolve);
    });
  } catch (err) {
    server.close();
    socket.close();
    throw err;
  }
  // Idempotent: a second close (a signal during shutdown) waits for the first.
  const close = once(
    () =>
      new Promise<void>((resolve) => {
        socket.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return { close };
}

export interface EdgeInsight {
  registry: Registry;
  aggregator: InsightAggregator;
  server: InsightServer;
  /** For the metrics port: this edge's own grid, which its peers add to theirs (peers.ts). */
  localHeatmapRoute: (path: string) => MetricsRouteAnswer | undefined;
}

/** A fresh aggregator with its own registry (served beside stub_status's) and the server feeding it. */
export async function startEdgeInsight(port: number, logger: Logger, peers?: PeerSource): Promise<EdgeInsight> {
  const registry = new Registry();
  const aggregator = new InsightAggregator(registry);
  const server = await startInsightServer({ port, aggregator, logger, ...(peers ? { peers } : {}) });
  const localHeatmapRoute = (path: string): MetricsRouteAnswer | undefined => {
    if (!path.startsWith(LOCAL_HEATMAP_PATH)) return undefined;
    const stream = path.slice(LOCAL_HEATMAP_PATH.length);
    if (!isStreamName(stream)) return { status: 404, contentType: "text/plain", body: "not a stream name\n" };
    return { status: 200, contentType: "application/json", body: JSON.stringify(aggregator.heatmap(stream)) };
  };
  return { registry, aggregator, server, localHeatmapRoute };
}
