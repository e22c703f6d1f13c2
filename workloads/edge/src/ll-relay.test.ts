/**
 * The LL-HLS relay against stand-in origins (plain HTTP servers whose answers a test controls):
 * one origin request however many viewers wait, every waiter answered by it, a moment's memory
 * of the answer, failover on a hung or failing origin and on a missing stream, and nothing but
 * LL-HLS requests relayed. Through real nginx and real origins it is exercised by ll-hls.test.ts.
 */
import { afterAll, describe, expect, test } from "@jest/globals";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createLogger } from "@live360/core";
import { Cleanup, freePort, httpGet, headerOf } from "@live360/testkit";
import { resolveEdgeConfig } from "./config.js";
import { relayKey, startLlHlsRelay, type LlHlsRelay } from "./ll-relay.js";

const logger = createLogger("ll-relay", { level: "error" });
const cleanup = new Cleanup();
afterAll(() => cleanup.run(), 30_000);

interface StandIn {
  url: string;
  requests: string[];
  /** What the next requests get; `hang` never answers. */
  mode: "ok" | "hang" | "404" | "503";
  /** Answers wait for this promise (a part not cut yet). */
  gate: Promise<void>;
}

async function standIn(): Promise<StandIn> {
  const state: StandIn = { url: "", requests: [], mode: "ok", gate: Promise.resolve() };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    state.requests.push(req.url ?? "");
    if (state.mode === "hang") return;
    if (state.mode !== "ok") return void res.writeHead(Number(state.mode)).end();
    void state.gate.then(() => res.writeHead(200, { "Content-Type": "application/vnd.apple.mpegurl", "Cache-Control": "public, max-age=3", "X-Other": "dropped" }).end(`answer to ${req.url}`));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  cleanup.add(server, (s) => {
    s.closeAllConnections();
    return new Promise((resolve) => s.close(resolve));
  });
  return state;
}

async function relayFor(origins: StandIn[]): Promise<{ relay: LlHlsRelay; url: string }> {
  const config = resolveEdgeConfig({ origins: origins.map((o) => o.url), connectTimeoutMs: 500, blockingPlaylistReadTimeoutMs: 400, failTimeoutSeconds: 30 });
  const relay = cleanup.add(await startLlHlsRelay(config, await freePort(), logger), (r) => r.close());
  return { relay, url: `http://127.0.0.1:${relay.port}` };
}

const PLAYLIST = "/hls/test/source/index.m3u8";

describe("the LL-HLS relay", () => {
  test("its key: a variant playlist with its directives in a fixed order and nothing else, or a part; anything else is not relayed", () => {
    const key = relayKey;
    expect(key(`${PLAYLIST}?CMCD=sid%3D%22a%22&_HLS_part=2&_HLS_msn=17&token=x`)).toBe(`${PLAYLIST}?_HLS_msn=17&_HLS_part=2`);
    expect(key(`${PLAYLIST}?_HLS_skip=YES&_HLS_msn=17`)).toBe(`${PLAYLIST}?_HLS_msn=17&_HLS_skip=YES`);
    expect(key("/hls/test/source/seg_17.2.m4s?CMCD=x")).toBe("/hls/test/source/seg_17.2.m4s");
    expect(key(PLAYLIST)).toBeUndefined();
    expect(key("/hls/test/source/seg_17.m4s")).toBeUndefined();
    expect(key("/hls/test/master.m3u8?_HLS_msn=1")).toBeUndefined();
    expect(key("/hls/../etc/source/index.m3u8?_HLS_msn=1")).toBeUndefined();
    // Decoded and encoded again; a repeated directive counts once, the first; a malformed escape is passed on as sent.
    expect(key(`${PLAYLIST}?_HLS_msn=%31%37&_HLS_msn=18&_HLS_skip=v+2`)).toBe(`${PLAYLIST}?_HLS_msn=17&_HLS_skip=v%202`);
    expect(key(`${PLAYLIST}?_HLS_msn=1%zz`)).toBe(`${PLAYLIST}?_HLS_msn=1%25zz`);
    expect(key(`${PLAYLIST}?_HLS_msn`)).toBe(`${PLAYLIST}?_HLS_msn=`);
  });

  test("40 viewers waiting for one part: one origin request, all answered by it; one asking a moment later gets the kept answer", async () => {
    const primary = await standIn();
    let open!: () => void;
    primary.gate = new Promise((resolve) => (open = resolve));
    const { relay, url } = await relayFor([primary]);
    const waiting = Array.from({ length: 40 }, (_, i) => httpGet(`${url}${PLAYLIST}?_HLS_msn=5&_HLS_part=1&CMCD=sid%3D${i}`));
    // Every waiter has reached the relay before the part exists.
    while (relay.counts.collapsed < 39) await new Promise((r) => setTimeout(r, 10));
    open();
    const answers = await Promise.all(waiting);
    expect(primary.requests).toEqual([`${PLAYLIST}?_HLS_msn=5&_HLS_part=1`]);
    expect(new Set(answers.map((a) => `${a.status} ${a.body.toString()}`))).toEqual(new Set([`200 answer to ${PLAYLIST}?_HLS_msn=5&_HLS_part=1`]));
    expect(headerOf(answers[0]!, "cache-control")).toBe("public, max-age=3");
    expect(headerOf(answers[0]!, "x-other")).toBeUndefined();
    expect(headerOf(answers[0]!, "x-live360-served-by")).toBe("primary");
    const later = await httpGet(`${url}${PLAYLIST}?_HLS_msn=5&_HLS_part=1`);
    expect(later.body.toString()).toBe(`answer to ${PLAYLIST}?_HLS_msn=5&_HLS_part=1`);
    expect(primary.requests).toHaveLength(1);
    expect(relay.counts.recent).toBe(1);
  });

  test("a hung primary: the backup answers after the read timeout, and the primary is skipped for the fail timeout", async () => {
    const [primary, backup] = [await standIn(), await standIn()];
    primary.mode = "hang";
    const { url } = await relayFor([primary, backup]);
    const first = await httpGet(`${url}${PLAYLIST}?_HLS_msn=9`);
    expect([first.status, headerOf(first, "x-live360-served-by")]).toEqual([200, "backup"]);
    const next = await httpGet(`${url}/hls/test/source/seg_9.0.m4s`);
    expect([next.status, headerOf(next, "x-live360-served-by")]).toEqual([200, "backup"]);
    expect(primary.requests).toEqual([`${PLAYLIST}?_HLS_msn=9`]);
  });

  test("a primary without the stream (404) hands the request to the backup but is asked first again; when every origin fails, the last failure is passed on", async () => {
    const [primary, backup] = [await standIn(), await standIn()];
    primary.mode = "404";
    const { url } = await relayFor([primary, backup]);
    expect(headerOf(await httpGet(`${url}${PLAYLIST}?_HLS_msn=1`), "x-live360-served-by")).toBe("backup");
    primary.mode = "ok";
    expect(headerOf(await httpGet(`${url}${PLAYLIST}?_HLS_msn=2`), "x-live360-served-by")).toBe("primary");
    primary.mode = "503";
    backup.mode = "503";
    expect((await httpGet(`${url}${PLAYLIST}?_HLS_msn=3`)).status).toBe(503);
    expect((await httpGet(`${url}/hls/test/master.m3u8`)).status).toBe(404);
  });
});
