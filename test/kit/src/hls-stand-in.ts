import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import path from "node:path";

export interface HlsStandInOptions {
  /** Served at /hls/: `<root>/<stream>/...`. */
  root: string;
  port: number;
  host?: string;
}

export interface Throttle {
  /** Requests whose path matches are sent slowly. */
  path: RegExp;
  bytesPerSecond: number;
}

/**
 * A stand-in for an origin's HTTP side, for edge tests: serves a directory being written by
 * FFmpeg with the origin contract's Cache-Control and CORS, counts every request by path,
 * and can be told to answer 404 (stream stopped, process alive), hang (requests are counted
 * and never answered, as on a frozen host), send slowly, or die (every socket destroyed at
 * once, as when its process is SIGKILLed) and come back on the same port.
 */
export class HlsStandIn {
  private readonly counts = new Map<string, number>();
  /** Every request header name received (lowercase): what an edge passes on to its origins. */
  readonly headerNames = new Set<string>();
  private readonly sockets = new Set<Socket>();
  private readonly server = createServer((req, res) => void this.handle(req, res));
  /**
   * `not-found`: every /hls/ request is answered 404 while /healthz stays 200.
   * `hung`: every request is counted and left unanswered until the client gives up.
   */
  mode: "serve" | "not-found" | "hung" = "serve";
  throttle: Throttle | undefined;

  private constructor(private readonly options: HlsStandInOptions) {
    this.server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
    });
  }

  static async start(options: HlsStandInOptions): Promise<HlsStandIn> {
    const standIn = new HlsStandIn(options);
    await standIn.listen();
    return standIn;
  }

  get url(): string {
    return `http://${this.options.host ?? "127.0.0.1"}:${this.options.port}`;
  }

  /** Requests received for exactly this path. */
  count(pathname: string): number {
    return this.counts.get(pathname) ?? 0;
  }

  /** Requests received for paths matching the pattern. */
  countMatching(pattern: RegExp): number {
    let total = 0;
    for (const [p, n] of this.counts) if (pattern.test(p)) total += n;
    return total;
  }

  resetCounts(): void {
    this.counts.clear();
  }

  private listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.options.port, this.options.host ?? "127.0.0.1", () => {
        this.server.off("error", reject);
        resolve();
      });
    });
  }

  /** Stops listening and resets every open connection at once, like a killed process. */
  async kill(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  /** Listens again on the same port after kill(). */
  revive(): Promise<void> {
    return this.listen();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const pathname = (req.url ?? "/").split("?", 1)[0]!;
    this.counts.set(pathname, (this.counts.get(pathname) ?? 0) + 1);
    for (const name of Object.keys(req.headers)) this.headerNames.add(name);
    if (this.mode === "hung") return;
    res.setHeader("Access-Control-Allow-Origin", "*");
    if (pathname === "/healthz") return void res.writeHead(200, { "Content-Type": "text/plain" }).end("ok\n");
    const match = /^\/hls\/([a-z0-9][a-z0-9-]*(?:\/[A-Za-z0-9_.-]+)+)$/.exec(pathname);
    if (!match || match[1]!.includes("..") || this.mode === "not-found") {
      return void res.writeHead(404, { "Content-Type": "text/plain", "Cache-Control": "no-cache" }).end("not found\n");
    }
    const body = await readFile(path.join(this.options.root, match[1]!)).catch(() => undefined);
    if (!body) return void res.writeHead(404, { "Content-Type": "text/plain", "Cache-Control": "no-cache" }).end("not found\n");
    const playlist = pathname.endsWith(".m3u8");
    res.writeHead(200, {
      "Content-Type": playlist ? "application/vnd.apple.mpegurl" : "video/mp2t",
      "Content-Length": body.length,
      "Cache-Control": playlist ? "public, max-age=1" : "public, max-age=31536000, immutable",
    });
    const throttle = this.throttle;
    if (!throttle || !throttle.path.test(pathname)) return void res.end(body);
    // Ten slices a second at the given rate: a download that visibly takes its time.
    const slice = Math.max(1, Math.round(throttle.bytesPerSecond / 10));
    for (let offset = 0; offset < body.length && !res.destroyed; offset += slice) {
      res.write(body.subarray(offset, offset + slice));
      await new Promise((r) => setTimeout(r, 100));
    }
    res.end();
  }
}
