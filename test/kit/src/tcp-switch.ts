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
  /** Down: open connections are cut and new ones refused at once, as when a process dies. */
  setUp(up: boolean): void;
  /**
   * A hung host: connections are still accepted but nothing is ever answered, and open ones
   * go silent, so only a client's own timeouts end its wait. `setUp(true)` ends it.
   */
  freeze(): void;
  /**
   * The end of a freeze on a route that only stalled (congestion, a flapping link): the open
   * connections carry on and what was sent meanwhile is delivered, late. Unlike `setUp(true)`,
   * which is a host that forgot its connections.
   */
  thaw(): void;
  /**
   * What a lost NAT or conntrack entry does: the connections open now carry nothing more in
   * either direction and are never closed, while new connections pass as before.
   */
  strandOpenConnections(): void;
  close(): Promise<void>;
}

export async function startTcpSwitch(target: { host: string; port: number }): Promise<TcpSwitch> {
  let mode: "up" | "down" | "frozen" = "up";
  const sockets = new Set<Socket>();
  const pairs = new Set<[Socket, Socket]>();
  const track = (s: Socket, onError: () => void): void => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", onError);
  };
  /** Connections accepted while frozen, not yet relayed: `thaw` relays them. */
  const held = new Set<Socket>();
  const relay = (client: Socket): void => {
    const upstream = connect(target.port, target.host);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    for (const s of pair) {
      track(s, () => {
        client.destroy();
        upstream.destroy();
      });
      s.on("close", () => pairs.delete(pair));
    }
    client.pipe(upstream).pipe(client);
  };
  const server: Server = createServer((client) => {
    if (mode === "down") {
      client.destroy();
      return;
    }
    if (mode === "frozen") {
      track(client, () => client.destroy());
      // Not read while held, so what the client sends waits in the socket as on a stalled route.
      client.pause();
      held.add(client);
      client.on("close", () => held.delete(client));
      return;
    }
    relay(client);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const cutAll = (): void => {
    for (const s of sockets) s.destroy();
  };
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    setUp(value) {
      // A host coming back from a hang has forgotten its connections: cut them as well.
      if (value && mode === "frozen") cutAll();
      held.clear();
      mode = value ? "up" : "down";
      if (!value) cutAll();
    },
    freeze() {
      mode = "frozen";
      for (const [client, upstream] of pairs) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
    },
    thaw() {
      if (mode !== "frozen") return;
      mode = "up";
      for (const [client, upstream] of pairs) {
        client.pipe(upstream).pipe(client);
        client.resume();
        upstream.resume();
      }
      for (const client of held) relay(client);
      held.clear();
    },
    strandOpenConnections() {
      for (const [client, upstream] of pairs) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        // Read and dropped, so neither side's writes ever block or fail.
        client.on("data", () => undefined);
        upstream.on("data", () => undefined);
      }
      pairs.clear();
    },
    async close() {
      cutAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
