import { connect, createServer, type Server, type Socket } from "node:net";
import { freePort } from "./net.js";

/**
 * A TCP relay in front of a real server that a test can cut and restore, to make a dependency
 * "go down" and come back on the same address without restarting it.
 */
export interface TcpSwitch {
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  setUp(up: boolean): void;
  close(): Promise<void>;
}

export async function startTcpSwitch(target: { host: string; port: number }): Promise<TcpSwitch> {
  let up = true;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    if (!up) {
      client.destroy();
      return;
    }
    const upstream = connect(target.port, target.host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    setUp(value) {
      up = value;
      if (!up) for (const s of sockets) s.destroy();
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
