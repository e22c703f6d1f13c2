/**
 * The insight server beside nginx: it reads what nginx spools for it (spool.ts: CMCD lines and
 * beacons) and answers, on a loopback HTTP port nginx proxies to, the heatmap requests. Nothing
 * here trusts its input, and nothing throws out of a handler.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { ListenError, Registry, once, type Logger } from "@live360/core";
import { INSIGHT_HEATMAP_PATH } from "../nginx-conf.js";
import { InsightAggregator, isStreamName } from "./aggregator.js";
import { LOCAL_HEATMAP_PATH, mergedHeatmap, type PeerSource } from "./peers.js";
import { startSpoolReader, type SpoolLimits } from "./spool.js";
import type { MetricsRouteAnswer } from "../metrics.js";

export interface InsightServerOptions {
  port: number;
  /** The directory nginx spools insight lines to (nginx-conf.ts insightSpoolDir). */
  spoolDir: string;
  aggregator: InsightAggregator;
  logger: Logger;
  /** The other edges whose grids the public heatmap adds (peers.ts); none: this edge's alone. */
  peers?: PeerSource;
  spoolLimits?: Partial<SpoolLimits>;
}

export interface InsightServer {
  /** Folds every settled spool file in now (tests). */
  drain(): Promise<void>;
  close(): Promise<void>;
}

/** A heatmap may be a few seconds old: the CDN and the edge's viewers share one answer. */
const HEATMAP_MAX_AGE_SECONDS = 5;

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store", ...headers }).end(body);
}

async function handle(options: InsightServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { aggregator } = options;
  const path = (req.url ?? "").split("?")[0]!;
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
  // Only nginx asks, for heatmaps: a request that takes longer than this is not nginx's.
  server.requestTimeout = 5000;
  server.headersTimeout = 5000;
  server.maxHeadersCount = 50;
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err) => reject(new ListenError("edge insight", options.port, err)));
    server.listen(options.port, "127.0.0.1", resolve);
  });
  const spool = startSpoolReader({ dir: options.spoolDir, aggregator, logger, ...(options.spoolLimits ? { limits: options.spoolLimits } : {}) });
  // Idempotent: a second close (a signal during shutdown) waits for the first.
  const close = once(async () => {
    await spool.close();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  });
  return { drain: spool.drain, close };
}

export interface EdgeInsight {
  registry: Registry;
  aggregator: InsightAggregator;
  server: InsightServer;
  /** For the metrics port: this edge's own grid, which its peers add to theirs (peers.ts). */
  localHeatmapRoute: (path: string) => MetricsRouteAnswer | undefined;
}

/** A fresh aggregator with its own registry (served beside stub_status's) and the server feeding it. */
export async function startEdgeInsight(port: number, spoolDir: string, logger: Logger, peers?: PeerSource): Promise<EdgeInsight> {
  const registry = new Registry();
  const aggregator = new InsightAggregator(registry);
  const server = await startInsightServer({ port, spoolDir, aggregator, logger, ...(peers ? { peers } : {}) });
  const localHeatmapRoute = (path: string): MetricsRouteAnswer | undefined => {
    if (!path.startsWith(LOCAL_HEATMAP_PATH)) return undefined;
    const stream = path.slice(LOCAL_HEATMAP_PATH.length);
    if (!isStreamName(stream)) return { status: 404, contentType: "text/plain", body: "not a stream name\n" };
    return { status: 200, contentType: "application/json", body: JSON.stringify(aggregator.heatmap(stream)) };
  };
  return { registry, aggregator, server, localHeatmapRoute };
}
