/**
 * LL-HLS through the edge (issue #15): real nginx in front of two real `live360 origin` processes
 * in CMAF mode, fed the same stream by one encoder. Blocking playlist reloads and preload-hinted
 * parts are collapsed into one origin request however many viewers ask (counted in the origins'
 * own access metrics), whatever else their query strings carry; a hung or killed primary leaves
 * blocking viewers on the backup without errors. All of it with the edge's LL-HLS relay and with
 * nginx's cache lock alone.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { createLogger } from "@live360/core";
import { Cleanup, headerOf, httpGet, loopbackEdge, makeTestClip, originRequestCount, startFedOriginPair, startTcpSwitch, tempDir, type OriginProcess, type TcpSwitch } from "@live360/testkit";
import { resolveEdgeConfig } from "./config.js";
import { runEdge, type EdgeRunner } from "./runner.js";

const STREAM = "test";
const VARIANT = `/hls/${STREAM}/source`;
const logger = createLogger("edge-ll-hls", { level: "warn" });

/** The preload hint of a playlist: its part's URI, segment number and index. */
function hintOf(playlist: string): { uri: string; msn: number; part: number } | undefined {
  const uri = /#EXT-X-PRELOAD-HINT:TYPE=PART,URI="([^"]+)"/.exec(playlist)?.[1];
  const match = uri && /^seg_(\d+)\.(\d+)\.m4s$/.exec(uri);
  return match ? { uri: uri!, msn: Number(match[1]), part: Number(match[2]) } : undefined;
}

/** Segment names and their program date-times, in order. */
function segmentsOf(playlist: string): Map<string, number> {
  const out = new Map<string, number>();
  let pdt: number | undefined;
  for (const line of playlist.split("\n")) {
    if (line.startsWith("#EXT-X-PROGRAM-DATE-TIME:")) pdt = Date.parse(line.slice("#EXT-X-PROGRAM-DATE-TIME:".length));
    else if (/^seg_\d+\.m4s$/.test(line) && pdt !== undefined) out.set(line, pdt);
  }
  return out;
}

const originRequests = async (origins: OriginProcess[], kind: string): Promise<number> =>
  (await Promise.all(origins.map((o) => originRequestCount(o.http, { kind, status: "200" }).catch(() => 0)))).reduce((a, b) => a + b, 0);

// Both ways an edge collapses LL-HLS requests: its relay, and nginx's cache lock (what the operator runs today).
describe.each([
  ["with its LL-HLS relay", true],
  ["with nginx's cache lock alone", false],
])("LL-HLS through the edge in front of two real CMAF origins, %s", (_, relay) => {
  const cleanup = new Cleanup();
  let primary: OriginProcess;
  let backup: OriginProcess;
  let edge: EdgeRunner;
  /** The edge reaches the primary through this relay, so its host can be made to hang. */
  let primarySwitch: TcpSwitch;

  beforeAll(async () => {
    const dir = await tempDir("edge-ll-hls");
    const clip = await makeTestClip(dir, { seconds: 4, gopSeconds: 1, fps: 25 });
    ({ primary, backup } = await startFedOriginPair({
      dir,
      clip,
      stream: STREAM,
      cleanup,
      args: ["--hls-format", "cmaf", "--low-latency", "--part-target", "0.5", "--reconnect-grace", "3"],
      ready: async (origin) => segmentsOf((await httpGet(`${origin.http}${VARIANT}/index.m3u8`)).body.toString()).size >= 3,
    }));
    const work = await tempDir("edge-ll-hls-work");
    primarySwitch = cleanup.add(await startTcpSwitch({ host: "127.0.0.1", port: primary.httpPort }), (s) => s.close());
    const { llHlsRelayPort, ...local } = await loopbackEdge(work);
    const config = resolveEdgeConfig({ origins: [primarySwitch.url, backup.http], ...local, ...(relay ? { llHlsRelayPort } : {}), drainDelaySeconds: 0, shutdownGraceSeconds: 5 });
    edge = cleanup.add(await runEdge(config, { logger }), (e) => e.close());
  }, 180_000);

  afterAll(() => cleanup.run(), 90_000);

  /** The newest playlist this test has seen through the edge (a plain reload may be a second old). */
  let latest: string | undefined;

  /**
   * A hint naming a part nobody has asked for yet: the hint of the blocking answer for the part
   * the newest playlist seen hints, as a player following the hints would get it.
   */
  async function freshHint(): Promise<{ uri: string; msn: number; part: number }> {
    latest ??= (await httpGet(`${edge.url}${VARIANT}/index.m3u8`)).body.toString();
    const known = hintOf(latest)!;
    latest = (await httpGet(`${edge.url}${VARIANT}/index.m3u8?_HLS_msn=${known.msn}&_HLS_part=${known.part}`)).body.toString();
    return hintOf(latest)!;
  }

  test("both origins name the same media alike: segments of the same number start at the same instant", async () => {
    const [a, b] = await Promise.all([primary, backup].map(async (o) => segmentsOf((await httpGet(`${o.http}${VARIANT}/index.m3u8`)).body.toString())));
    const common = [...a!.keys()].filter((name) => b!.has(name));
    expect(common.length).toBeGreaterThanOrEqual(2);
    for (const name of common) expect(Math.abs(a!.get(name)! - b!.get(name)!)).toBeLessThan(100);
  });

  test("40 viewers' blocking reloads for the next part, each with its own CMCD: one origin request, one answer listing the part", async () => {
    for (let round = 0; round < 2; round++) {
      const hint = await freshHint();
      const before = await originRequests([primary, backup], "playlist");
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, viewer) =>
          httpGet(`${edge.url}${VARIANT}/index.m3u8?CMCD=${encodeURIComponent(`sid="viewer-${viewer}"`)}&_HLS_msn=${hint.msn}&_HLS_part=${hint.part}`),
        ),
      );
      expect(results.map((r) => r.status)).toEqual(Array(40).fill(200));
      expect(new Set(results.map((r) => r.body.toString())).size).toBe(1);
      expect(results[0]!.body.toString()).toContain(`URI="${hint.uri}"`);
      const after = await originRequests([primary, backup], "playlist");
      expect(after - before).toBe(1);
    }
  });

  test("40 viewers asking for the hinted part before it exists: one origin request, the same whole part for all", async () => {
    const hint = await freshHint();
    const before = await originRequests([primary, backup], "segment");
    const results = await Promise.all(Array.from({ length: 40 }, () => httpGet(`${edge.url}${VARIANT}/${hint.uri}`)));
    expect(results.map((r) => r.status)).toEqual(Array(40).fill(200));
    expect(new Set(results.map((r) => r.body.toString("base64"))).size).toBe(1);
    expect(results[0]!.body.includes(Buffer.from("moof"))).toBe(true);
    expect(headerOf(results[0]!, "cache-control")).toBe("public, max-age=31536000, immutable");
    const after = await originRequests([primary, backup], "segment");
    expect(after - before).toBe(1);
  });

  test("the cache key takes the three directives and nothing else: another _HLS_part is another answer", async () => {
    const hint = await freshHint();
    const first = await httpGet(`${edge.url}${VARIANT}/index.m3u8?_HLS_msn=${hint.msn}&_HLS_part=${hint.part}&token=a`);
    const same = await httpGet(`${edge.url}${VARIANT}/index.m3u8?token=b&_HLS_part=${hint.part}&_HLS_msn=${hint.msn}`);
    expect(headerOf(same, "x-cache-status")).toBe("HIT");
    expect(same.body.equals(first.body)).toBe(true);
    const next = hintOf(first.body.toString())!;
    const later = await httpGet(`${edge.url}${VARIANT}/index.m3u8?_HLS_msn=${next.msn}&_HLS_part=${next.part}`);
    expect(later.status).toBe(200);
    expect(later.body.toString()).toContain(`URI="${next.uri}"`);
    // Refused by the origin (the spec's 400), and not cached as an answer to the right spelling.
    expect((await httpGet(`${edge.url}${VARIANT}/index.m3u8?_HLS_msn=${next.msn + 9}`)).status).toBe(400);
  });

  /**
   * A viewer following the hints for `ms`: a blocking reload for the hinted part and the part
   * itself, together, again and again. Returns every answer's status, who served the reloads,
   * and when each part arrived.
   */
  async function followHints(ms: number): Promise<{ statuses: number[]; servedBy: Set<string | undefined>; partsAt: number[] }> {
    const statuses: number[] = [];
    const servedBy = new Set<string | undefined>();
    const partsAt: number[] = [];
    let playlist = (await httpGet(`${edge.url}${VARIANT}/index.m3u8`)).body.toString();
    const end = Date.now() + ms;
    while (Date.now() < end) {
      const hint = hintOf(playlist)!;
      const [reload, part] = await Promise.all([
        httpGet(`${edge.url}${VARIANT}/index.m3u8?_HLS_msn=${hint.msn}&_HLS_part=${hint.part}`),
        httpGet(`${edge.url}${VARIANT}/${hint.uri}`).then((res) => (res.status === 200 && partsAt.push(Date.now()), res)),
      ]);
      statuses.push(reload.status, part.status);
      servedBy.add(headerOf(reload, "x-served-by"));
      if (reload.status === 200) playlist = reload.body.toString();
    }
    return { statuses, servedBy, partsAt };
  }

  const longestGapMs = (times: readonly number[]): number => Math.max(...times.slice(1).map((t, i) => t - times[i]!));

  test("primary hung mid-stream (connections accepted, nothing answered): a viewer following the hints goes on on the backup; its longest wait for a part stays under a player's hold-back", async () => {
    // The viewer follows across the moment the primary's host hangs, its requests in flight.
    const frozen = new Promise<number>((resolve) => setTimeout(() => (primarySwitch.freeze(), resolve(Date.now())), 3000));
    try {
      const run = await followHints(9000);
      const frozenAt = await frozen;
      const before = run.partsAt.filter((t) => t < frozenAt);
      const gapMs = longestGapMs(run.partsAt);
      logger.warn("LL-HLS viewer, primary hung", { steadyLongestGapMs: longestGapMs(before), longestGapMs: gapMs, partsBefore: before.length, partsAfter: run.partsAt.length - before.length, servedBy: [...run.servedBy] });
      expect(before.length).toBeGreaterThanOrEqual(3);
      expect(run.partsAt.length - before.length).toBeGreaterThanOrEqual(6);
      expect(run.statuses.filter((s) => s !== 200)).toEqual([]);
      expect(run.servedBy).toEqual(new Set(["primary", "backup"]));
      // Parts of 0.5 s and a hold-back of three of them: a player has 1.5 s of media buffered
      // when its next part is late. The edge gives up on the hung origin within its blocking
      // read timeout and the next part then comes from the backup.
      expect(gapMs).toBeLessThan(1500);
    } finally {
      primarySwitch.setUp(true);
    }
  }, 60_000);

  const relayGone = relay ? "; then the relay gone too (its sidecar restarting): nginx asks the origins straight, no errors" : "";
  test(`primary SIGKILLed: a viewer following the hints with blocking reloads goes on on the backup, no errors${relayGone}`, async () => {
    primary.process.signal("SIGKILL");
    await primary.process.exited;
    const { statuses, servedBy } = await followHints(5000);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(servedBy.has("backup")).toBe(true);
    expect(statuses.length).toBeGreaterThan(10);
    if (!relay) return;
    const gone = edge.llHlsRelay!;
    await gone.close();
    const asked = gone.counts.originRequests;
    const straight = await followHints(4000);
    expect(straight.statuses.filter((s) => s !== 200)).toEqual([]);
    expect(straight.statuses.length).toBeGreaterThan(8);
    expect(straight.servedBy.has("backup")).toBe(true);
    expect(gone.counts.originRequests).toBe(asked);
  });
});
