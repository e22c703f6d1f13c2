import { createServer } from "node:net";
import { join } from "node:path";

/** Ports freePort has handed out in this process: the kernel may offer a closed one again at once. */
const handedOut = new Set<number>();

/**
 * A free TCP port on loopback, chosen by the kernel, so parallel tests never collide; never one
 * this process was given before (two calls in a row were once given the same port, and an edge's
 * status and metrics ports clashed).
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const port = await unusedPort();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error("no loopback port that was not handed out before in 50 tries");
}

function unusedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

export interface FetchedText {
  status: number;
  headers: Headers;
  body: string;
}

/** GET as text without throwing on HTTP errors (a 404 is a result tests assert on). */
export async function getText(url: string, init?: RequestInit): Promise<FetchedText> {
  const res = await fetch(url, init);
  return { status: res.status, headers: res.headers, body: await res.text() };
}

/**
 * Where a test's edge listens and keeps its files: free loopback ports for viewers, stub_status,
 * metrics and the LL-HLS relay, and `work` as its work dir with the cache inside (the part of an
 * EdgeConfigInput every edge in a test sets alike).
 */
export async function loopbackEdge(work: string): Promise<{ listenAddress: string; listenPort: number; statusPort: number; metricsPort: number; llHlsRelayPort: number; workDir: string; cache: { dir: string } }> {
  return {
    listenAddress: "127.0.0.1",
    listenPort: await freePort(),
    statusPort: await freePort(),
    metricsPort: await freePort(),
    llHlsRelayPort: await freePort(),
    workDir: work,
    cache: { dir: join(work, "cache") },
  };
}

/** An in-process origin of a test: its settings (the part of an OriginConfigInput every such test sets alike) and its URLs. */
export interface LoopbackOrigin {
  settings: { rtmpPort: number; httpPort: number; bindAddress: string; dataDir: string };
  /** Its HTTP base URL. */
  http: string;
  /** Its RTMP application URL (`…/live`); a stream's URL appends `/<name>`. */
  rtmp: string;
}

/** Free loopback ports for an origin's RTMP and HTTP listeners, its data under `dir`/data. */
export async function loopbackOrigin(dir: string): Promise<LoopbackOrigin> {
  const [rtmpPort, httpPort] = [await freePort(), await freePort()];
  return {
    settings: { rtmpPort, httpPort, bindAddress: "127.0.0.1", dataDir: join(dir, "data") },
    http: `http://127.0.0.1:${httpPort}`,
    rtmp: `rtmp://127.0.0.1:${rtmpPort}/live`,
  };
}
