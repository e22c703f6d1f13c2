import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { Agent, createServer, type Server } from "node:http";
import { freePort } from "./net.js";
import { httpGet, statusOf } from "./http.js";
import { startTcpSwitch, type TcpSwitch } from "./tcp-switch.js";

describe("TcpSwitch in front of a real HTTP server", () => {
  let server: Server;
  let relay: TcpSwitch;

  beforeAll(async () => {
    const port = await freePort();
    server = createServer((_req, res) => res.end("ok"));
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
    relay = await startTcpSwitch({ host: "127.0.0.1", port });
  });

  afterAll(async () => {
    await relay.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  test("up relays, down refuses at once, frozen answers nothing until the client gives up, up again relays", async () => {
    expect((await httpGet(relay.url)).body.toString()).toBe("ok");
    relay.setUp(false);
    expect(await statusOf(relay.url)).toBe("ECONNRESET");
    relay.freeze();
    const started = Date.now();
    await expect(httpGet(relay.url, { timeoutMs: 500 })).rejects.toThrow(/no answer within 500 ms/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    relay.setUp(true);
    expect((await httpGet(relay.url)).body.toString()).toBe("ok");
  });

  test("a thaw delivers what was sent during the freeze, late, on new and already open connections", async () => {
    const agent = new Agent({ keepAlive: true });
    try {
      // Opens a pooled connection before the freeze.
      expect((await httpGet(relay.url, { agent })).body.toString()).toBe("ok");
      relay.freeze();
      const onOpen = httpGet(relay.url, { agent });
      const onNew = httpGet(relay.url);
      const early = await Promise.race([onOpen, onNew, new Promise((resolve) => setTimeout(() => resolve("nothing"), 300))]);
      expect(early).toBe("nothing");
      relay.thaw();
      expect((await onOpen).body.toString()).toBe("ok");
      expect((await onNew).body.toString()).toBe("ok");
    } finally {
      agent.destroy();
    }
  });
});
