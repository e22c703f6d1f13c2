import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import path from "node:path";

/** A directory served under a URL prefix, e.g. `/player/` → `player/dist`. */
export interface StaticMount {
  prefix: string;
  dir: string;
}

export interface StaticServer {
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  readonly port: number;
  /** Paths requested so far, in order (for asserting what a player fetched). */
  readonly requests: readonly string[];
  /**
   * Cuts the connection of every request whose path matches (and of open ones), as a network
   * outage would; `undefined` lets everything through again.
   */
  block(pattern: RegExp | undefined): void;
  close(): Promise<void>;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  ".m3u8": "application/vnd.apple.mpegurl",
  ".ts": "video/mp2t",
  ".m4s": "video/iso.segment",
  ".mp4": "video/mp4",
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".txt": "text/plain; charset=utf-8",
  ".jpg": "image/jpeg",
  ".png": "image/png",
};

/**
 * A small static file server for browser tests: HLS with the headers players need (CORS,
 * playlists never cached), a request log, and a switch to simulate a network outage. Paths
 * are resolved inside their mount only; anything else is a 404.
 */
export async function startStaticServer(mounts: readonly StaticMount[]): Promise<StaticServer> {
  const requests: string[] = [];
  const sockets = new Set<Socket>();
  let blocked: RegExp | undefined;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const pathname = new URL(req.url ?? "/", "http://localhost").pathname;
    requests.push(pathname);
    if (blocked?.test(pathname)) {
      req.socket.destroy();
      return;
    }
    const file = resolve(pathname);
    const info = file ? await stat(file).catch(() => undefined) : undefined;
    if (!file || !info?.isFile()) {
      res.writeHead(404, { "Content-Type": "text/plain", "Access-Control-Allow-Origin": "*", "Cache-Control": "no-store" });
      res.end("not found\n");
      return;
    }
    const ext = path.extname(file);
    res.writeHead(200, {
      "Content-Type": CONTENT_TYPES[ext] ?? "application/octet-stream",
      "Content-Length": info.size,
      "Access-Control-Allow-Origin": "*",
      // Live playlists change every segment; everything else is immutable in a test run.
      "Cache-Control": ext === ".m3u8" || ext === ".html" ? "no-store" : "max-age=3600",
    });
    if (req.method === "HEAD") {
      res.end();
      return;
    }
    const stream = createReadStream(file);
    stream.on("error", () => res.destroy());
    stream.pipe(res);
  }

  function resolve(pathname: string): string | undefined {
    let decoded: string;
    try {
      decoded = decodeURIComponent(pathname);
    } catch {
      return undefined;
    }
    for (const mount of mounts) {
      if (!decoded.startsWith(mount.prefix)) continue;
      const relative = decoded.slice(mount.prefix.length);
      const root = path.resolve(mount.dir);
      const file = path.resolve(root, relative === "" || relative.endsWith("/") ? `${relative}index.html` : relative);
      return file.startsWith(root + path.sep) ? file : undefined;
    }
    return undefined;
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolveListen());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    requests,
    block(pattern) {
      blocked = pattern;
      // Connections kept alive from before the outage must drop too.
      if (pattern) for (const socket of sockets) socket.destroy();
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolveClose) => server.close(() => resolveClose()));
    },
  };
}
