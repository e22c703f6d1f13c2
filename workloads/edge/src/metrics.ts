import { createServer, type Server } from "node:http";
import { Counter, Gauge, ListenError, Live360Error, createRegistry, type Logger, type Registry } from "@live360/core";

/** nginx's stub_status page, parsed. */
export interface StubStatus {
  active: number;
  accepted: number;
  handled: number;
  requests: number;
  reading: number;
  writing: number;
  waiting: number;
}

/** The status URL answered, but not with a stub_status page (a wrong port or path). */
export class StubStatusFormatError extends Live360Error {}

/**
 * Parses:
 *   Active connections: 2
 *   server accepts handled requests
 *    10 10 25
 *   Reading: 0 Writing: 1 Waiting: 1
 */
export function parseStubStatus(text: string): StubStatus {
  const active = /Active connections:\s*(\d+)/.exec(text);
  const totals = /\n\s*(\d+)\s+(\d+)\s+(\d+)\s*\n/.exec(text);
  const states = /Reading:\s*(\d+)\s+Writing:\s*(\d+)\s+Waiting:\s*(\d+)/.exec(text);
  if (!active || !totals || !states) throw new StubStatusFormatError(`not an nginx stub_status page: ${JSON.stringify(text.slice(0, 200))}`);
  return {
    active: Number(active[1]),
    accepted: Number(totals[1]),
    handled: Number(totals[2]),
    requests: Number(totals[3]),
    reading: Number(states[1]),
    writing: Number(states[2]),
    waiting: Number(states[3]),
  };
}

export interface EdgeMetricsOptions {
  /** e.g. http://127.0.0.1:8081/stub_status */
  statusUrl: string;
  port: number;
  bindAddress: string;
  logger: Logger;
  /** Whether the edge is draining (known in-process; a separate sidecar leaves it out). */
  isDraining?: () => boolean;
  /** More metrics served on the same endpoint (the viewer insight's). */
  extraRegistry?: Registry;
  /** More GET routes on this port, answered before the 404 (the insight's grid for its peers). */
  extraRoute?: (path: string) => MetricsRouteAnswer | undefined;
}

export interface MetricsRouteAnswer {
  status: number;
  contentType: string;
  body: string;
}

export interface EdgeMetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * The metrics sidecar: scrapes stub_status on every Prometheus scrape (never a stale number
 * from a timer) and serves it under the nginx-prometheus-exporter's metric names, so
 * dashboards and HPA rules written for that exporter work unchanged.
 */
export async function startEdgeMetrics(options: EdgeMetricsOptions): Promise<EdgeMetricsServer> {
  const registry = createRegistry("live360_edge_sidecar");
  const registers = [registry];
  const up = new Gauge({ name: "nginx_up", help: "Whether the last stub_status scrape succeeded", registers });
  const gauges = {
    active: new Gauge({ name: "nginx_connections_active", help: "Active client connections", registers }),
    reading: new Gauge({ name: "nginx_connections_reading", help: "Connections where nginx is reading the request header", registers }),
    writing: new Gauge({ name: "nginx_connections_writing", help: "Connections where nginx is writing the response", registers }),
    waiting: new Gauge({ name: "nginx_connections_waiting", help: "Idle keep-alive client connections", registers }),
  };
  // nginx reports running totals; a Counter is re-based to the total on each scrape.
  const counters = {
    accepted: new Counter({ name: "nginx_connections_accepted", help: "Accepted client connections", registers }),
    handled: new Counter({ name: "nginx_connections_handled", help: "Handled client connections", registers }),
    requests: new Counter({ name: "nginx_http_requests_total", help: "Total HTTP requests", registers }),
  };
  const draining = options.isDraining
    ? new Gauge({ name: "live360_edge_draining", help: "1 while the edge fails readiness before stopping", registers })
    : undefined;

  async function scrape(): Promise<void> {
    draining?.set(options.isDraining!() ? 1 : 0);
    try {
      const res = await fetch(options.statusUrl, { signal: AbortSignal.timeout(2000) });
      if (res.status !== 200) throw new StubStatusFormatError(`${options.statusUrl} answered ${res.status}`);
      const status = parseStubStatus(await res.text());
      for (const key of ["active", "reading", "writing", "waiting"] as const) gauges[key].set(status[key]);
      for (const key of ["accepted", "handled", "requests"] as const) {
        counters[key].reset();
        counters[key].inc(status[key]);
      }
      up.set(1);
    } catch (err) {
      up.set(0);
      options.logger.warn("stub_status scrape failed", { url: options.statusUrl, error: err });
    }
  }

  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "").split("?")[0]!;
    const extra = path === "/metrics" ? undefined : options.extraRoute?.(path);
    if (extra) {
      res.writeHead(extra.status, { "Content-Type": extra.contentType, "Cache-Control": "no-store" }).end(extra.body);
      return;
    }
    if (path !== "/metrics") {
      res.writeHead(404, { "Content-Type": "text/plain" }).end("only /metrics here\n");
      return;
    }
    void scrape()
      .then(async () => (await registry.metrics()) + (options.extraRegistry ? await options.extraRegistry.metrics() : ""))
      .then((text) => res.writeHead(200, { "Content-Type": registry.contentType }).end(text))
      .catch(() => res.writeHead(500).end());
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err) => reject(new ListenError("edge metrics", options.port, err)));
    server.listen(options.port, options.bindAddress, resolve);
  });
  return {
    port: options.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
