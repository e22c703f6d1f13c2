/**
 * HTTP clients no edge or player would be, against a real `live360 origin` process with a
 * healthy stream beside them: connection floods, headers and bodies trickled in, bytes that are
 * no HTTP, oversized headers, a client that stops reading. Each is answered or closed at a limit
 * and counted; the healthy stream keeps producing segments. And the well-behaved client the
 * limits must not hurt: the edge's pooled keep-alive connection, which must outlive the edge's
 * own idle timeout so the edge never reuses a connection the origin is closing. The hostile
 * ones are cases of the fault matrix (test/kit/src/fault-matrix.ts).
 */
import { describe, expect, test } from "@jest/globals";
import { once } from "node:events";
import { connect, type Socket } from "node:net";
import { EDGE_UPSTREAM_KEEPALIVE_SECONDS } from "@live360/core";
import { getText, waitFor } from "@live360/testkit";
import { healthyOriginSuite, metric } from "./healthy-origin.fixture.js";

/** One raw TCP connection to the origin's HTTP port, with everything it received. */
class RawHttpClient {
  received = Buffer.alloc(0);
  readonly closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => (this.received = Buffer.concat([this.received, chunk])));
    socket.on("error", () => undefined);
    this.closed = once(socket, "close").then(() => undefined);
  }

  static async connect(port: number): Promise<RawHttpClient> {
    const socket = connect({ port, host: "127.0.0.1" });
    const client = new RawHttpClient(socket);
    await once(socket, "connect");
    return client;
  }

  get isClosed(): boolean {
    return this.socket.destroyed || this.socket.readableEnded;
  }

  /** Resolves true when the origin closes the connection within `ms`. */
  async closedWithin(ms: number): Promise<boolean> {
    if (this.isClosed) return true;
    return Promise.race([this.closed.then(() => true), new Promise<boolean>((resolve) => setTimeout(resolve, ms, false))]);
  }

  /** The status lines of every response received so far. */
  statusLines(): string[] {
    return this.received.toString("latin1").split(/\r?\n/).filter((line) => /^HTTP\/1\.1 \d{3}/.test(line));
  }

  async waitForResponses(count: number, ms = 5000): Promise<string[]> {
    const deadline = Date.now() + ms;
    while (this.statusLines().length < count && Date.now() < deadline && !this.isClosed) await new Promise((r) => setTimeout(r, 20));
    return this.statusLines();
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe("hostile HTTP clients", () => {
  // ≈ 190 KB per 1 s segment: enough that pipelined requests for it outgrow the socket buffers.
  const suite = healthyOriginSuite("hostile-http", { seconds: 4, gopSeconds: 1, width: 640, height: 320, videoKbps: 1500 }, [
    "--http-max-connections", "12", "--http-headers-timeout", "2", "--http-request-timeout", "3", "--http-send-timeout", "2",
  ], { checkAfterEach: true });
  const limitHits = (limit: string): Promise<number> => metric(suite.origin.http, "live360_origin_http_limits_total", `limit="${limit}"`);

  test(`an idle keep-alive connection outlives the edge's upstream keep-alive (${EDGE_UPSTREAM_KEEPALIVE_SECONDS} s): the edge always closes first`, async () => {
    const client = await RawHttpClient.connect(suite.origin.httpPort);
    try {
      client.socket.write("GET /healthz HTTP/1.1\r\nHost: origin\r\n\r\n");
      expect((await client.waitForResponses(1))[0]).toBe("HTTP/1.1 200 OK");
      const keepAlive = /\r\nKeep-Alive: timeout=(\d+)\r\n/i.exec(client.received.toString("latin1"));
      expect(Number(keepAlive?.[1])).toBeGreaterThan(EDGE_UPSTREAM_KEEPALIVE_SECONDS);
      // Node's own default closed idle connections after 5 s; the edge reused them for 60.
      await sleep(6000);
      expect(client.isClosed).toBe(false);
      client.socket.write("GET /healthz HTTP/1.1\r\nHost: origin\r\n\r\n");
      expect(await client.waitForResponses(2)).toEqual(["HTTP/1.1 200 OK", "HTTP/1.1 200 OK"]);
    } finally {
      client.socket.destroy();
    }
  }, 30_000);

  test("headers trickled in (slowloris) are answered 408 at the deadline and counted", async () => {
    await suite.fixture.faultCase("http-slowloris", "a request's headers trickled in, one line every 300 ms", async () => {
      const before = await limitHits("request-timeout");
      const client = await RawHttpClient.connect(suite.origin.httpPort);
      client.socket.write("GET /healthz HTTP/1.1\r\nHost: origin\r\n");
      const trickle = setInterval(() => client.isClosed || client.socket.write("X-Slow: 1\r\n"), 300);
      try {
        expect(await client.closedWithin(1000)).toBe(false);
        expect(await client.closedWithin(6000)).toBe(true);
      } finally {
        clearInterval(trickle);
      }
      expect(client.statusLines()).toEqual(["HTTP/1.1 408 Request Timeout"]);
      expect(await limitHits("request-timeout")).toBe(before + 1);
      return { lost: "only the slow request: answered 408 at the 3 s request deadline, counted" };
    });
  }, 30_000);

  test("bytes that are no HTTP get 400, oversized headers 431; both counted, the connection closed", async () => {
    await suite.fixture.faultCase("http-garbage-and-oversized-headers", "a TLS ClientHello on the HTTP port; a request with a 32 KiB header", async () => {
      const [badBefore, largeBefore] = [await limitHits("bad-request"), await limitHits("headers-too-large")];
      const garbage = await RawHttpClient.connect(suite.origin.httpPort);
      garbage.socket.write("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not http\r\n\r\n");
      const large = await RawHttpClient.connect(suite.origin.httpPort);
      large.socket.write(`GET /healthz HTTP/1.1\r\nHost: origin\r\nX-Large: ${"a".repeat(32 * 1024)}\r\n\r\n`);
      expect(await garbage.closedWithin(3000)).toBe(true);
      expect(await large.closedWithin(3000)).toBe(true);
      expect(garbage.statusLines()).toEqual(["HTTP/1.1 400 Bad Request"]);
      expect(large.statusLines()).toEqual(["HTTP/1.1 431 Request Header Fields Too Large"]);
      expect(await limitHits("bad-request")).toBe(badBefore + 1);
      expect(await limitHits("headers-too-large")).toBe(largeBefore + 1);
      return { lost: "only the 2 bad requests: answered 400 and 431, closed, counted" };
    });
  }, 30_000);

  test("connections over --http-max-connections are closed on accept and counted; the origin serves again once they go", async () => {
    await suite.fixture.faultCase("http-connection-flood", "13 HTTP connections opened at once (limit 12)", async () => {
      const before = await limitHits("max-connections");
      const held: RawHttpClient[] = [];
      let refusedCount = 0;
      try {
        // 12 are accepted (the test's own pooled fetch connections among them), the 13th is not.
        // Opened at once: the headers timeout closes idle ones after 2 s.
        for (let i = 0; i < 13; i++) held.push(await RawHttpClient.connect(suite.origin.httpPort));
        const closed = await Promise.all(held.map((client) => client.closedWithin(500)));
        const refused = held.filter((_, i) => closed[i]);
        refusedCount = refused.length;
        expect(refused.length).toBeGreaterThanOrEqual(1);
        // Closed without a byte: nothing was read or parsed for them.
        expect(refused.map((client) => client.received.length)).toEqual(refused.map(() => 0));
      } finally {
        for (const client of held) client.socket.destroy();
      }
      expect(await limitHits("max-connections")).toBeGreaterThanOrEqual(before + 1);
      expect((await getText(`${suite.origin.http}/healthz`)).status).toBe(200);
      // Players' pooled connections stay open through a flood: the matrix's healthy column shows it.
      return { lost: `only the ${refusedCount} connections over the limit: closed on accept without a byte, counted` };
    });
  }, 30_000);

  test("a client that stops reading is disconnected at the send timeout and counted", async () => {
    await suite.fixture.faultCase("http-non-reading-client", "200 pipelined segment requests from a client that reads nothing", async () => {
      const before = await limitHits("send-timeout");
      const segment = await suite.fixture.newestSegment();
      const client = await RawHttpClient.connect(suite.origin.httpPort);
      // Reads nothing: the responses fill the kernel's buffers and the origin's writes stall.
      client.socket.pause();
      const request = `GET /hls/healthy/source/${segment} HTTP/1.1\r\nHost: origin\r\n\r\n`;
      client.socket.write(request.repeat(200));
      await waitFor("the send timeout", async () => (await limitHits("send-timeout")) === before + 1, { timeoutMs: 20_000, intervalMs: 250 });
      // What had reached the client's buffers is still there to read, and then the connection ends.
      client.socket.resume();
      expect(await client.closedWithin(5000)).toBe(true);
      const answered = client.statusLines().length;
      expect(answered).toBeLessThan(200);
      return { lost: `only the stalled client's connection: closed at the 2 s send timeout, counted (${answered} of its 200 responses had reached it)` };
    });
  }, 30_000);
});
