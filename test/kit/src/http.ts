import { request, type Agent, type IncomingHttpHeaders } from "node:http";

export interface HttpResult {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface HttpGetOptions {
  headers?: Record<string, string>;
  /** Aborts the request (and rejects) after this long; 30 s by default. */
  timeoutMs?: number;
  /** Called with each chunk as it arrives, e.g. to notice that a download has started. */
  onData?: (chunk: Buffer) => void;
  /** A keep-alive agent to reuse connections; by default each request has its own. */
  agent?: Agent;
}

/**
 * One GET on its own TCP connection (no agent, no pooling), so N calls are N independent
 * clients as a cache or load balancer sees them. HTTP errors resolve: a 404 is a result.
 */
export function httpGet(url: string, options: HttpGetOptions = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "GET", agent: options.agent ?? false, headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => {
        chunks.push(chunk);
        options.onData?.(chunk);
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
      // A connection cut mid-body ends without "end": that is a failed download, not a short one.
      res.on("aborted", () => reject(new Error(`GET ${url}: connection closed after ${Buffer.concat(chunks).length} bytes`)));
    });
    req.setTimeout(options.timeoutMs ?? 30_000, () => req.destroy(new Error(`GET ${url}: no answer within ${options.timeoutMs ?? 30_000} ms`)));
    req.on("error", reject);
    req.end();
  });
}

/** The status code, or the connection error's code (`ECONNREFUSED`…) when there is no answer. */
export async function statusOf(url: string, options: HttpGetOptions = {}): Promise<number | string> {
  try {
    return (await httpGet(url, options)).status;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  }
}

/** A header as one string (the first value when repeated), or undefined. */
export function headerOf(result: HttpResult, name: string): string | undefined {
  const value = result.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}
