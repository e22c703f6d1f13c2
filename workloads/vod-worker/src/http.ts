import { createServer, type Server } from "node:http";
import { ListenError } from "@live360/core";
import type { VodWorkerConfig } from "./config.js";
import type { VodMetrics } from "./metrics.js";
import type { RunningJobStatus } from "./worker.js";

export interface VodHttpBackend {
  metrics: VodMetrics;
  isStopping(): boolean;
  status(): RunningJobStatus[];
}

/** `/metrics` (Prometheus), `/healthz` (503 once stopping) and `/status` (running jobs with progress, JSON). */
export async function startVodHttpServer(config: VodWorkerConfig, backend: VodHttpBackend): Promise<Server> {
  const server = createServer((req, res) => {
    const pathname = (req.url ?? "/").split("?", 1)[0];
    const reply = (status: number, body: string, type = "text/plain; charset=utf-8"): void => {
      res.writeHead(status, { "Content-Type": type, "Content-Length": Buffer.byteLength(body), "Cache-Control": "no-cache" });
      res.end(req.method === "HEAD" ? undefined : body);
    };
    if (req.method !== "GET" && req.method !== "HEAD") return reply(405, "method not allowed\n");
    switch (pathname) {
      case "/metrics":
        backend.metrics.registry.metrics().then(
          (text) => reply(200, text, backend.metrics.registry.contentType),
          () => reply(500, "metrics unavailable\n"),
        );
        return;
      case "/healthz":
        return backend.isStopping() ? reply(503, "stopping\n") : reply(200, "ok\n");
      case "/status":
        return reply(200, JSON.stringify({ stopping: backend.isStopping(), jobs: backend.status() }, null, 2), "application/json");
      default:
        return reply(404, "not found\n");
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error) => reject(new ListenError("VOD worker HTTP server", config.httpPort, error)));
    server.listen(config.httpPort, config.bindAddress, resolve);
  });
  return server;
}
