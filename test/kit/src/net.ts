import { createServer } from "node:net";

/** A free TCP port on loopback, chosen by the kernel, so parallel tests never collide. */
export function freePort(): Promise<number> {
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
