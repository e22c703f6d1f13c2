/**
 * The edge in front of two real origins (`live360 origin` processes, testkit startFedOriginPair) fed the
 * same test stream by one encoder (FFmpeg tee to both RTMP ingests): collapsing counted in the
 * origins' own access metrics, failover on SIGKILL and on a stopped stream (404), return to the
 * primary, and what happens to segment names and media sequences across origins (numbered by
 * the wall clock, so they line up even across a restart). All of it in both HLS formats: classic
 * MPEG-TS, and CMAF with LL-HLS parts (issue #15: a failover between origins stays seamless).
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { createLogger } from "@live360/core";
import {
  Cleanup,
  headerOf,
  httpGet,
  loopbackEdge,
  makeTestClip,
  originRequestCount,
  parseMediaPlaylist,
  publishFile,
  startFedOriginPair,
  startPeeredOrigin,
  tempDir,
  waitFor,
  type MediaPlaylist,
  type OriginPorts,
  type OriginProcess,
  type OriginRole,
  type Publisher,
} from "@live360/testkit";
import { resolveEdgeConfig } from "./config.js";
import { runEdge, type EdgeRunner } from "./runner.js";

const STREAM = "test";
const VARIANT_PATH = `/hls/${STREAM}/source/index.m3u8`;
const ADMIN_TOKEN = "edge-test-admin-token";
/** The origin's default live window. */
const WINDOW_SEGMENTS = 6;
const logger = createLogger("edge-real-origins", { level: "warn" });

const FORMATS = ["ts", "cmaf"] as const;
/** Each format as the operator starts it (2 s segments; CMAF with its default parts). */
const formatArgs = (format: (typeof FORMATS)[number]): string[] => ["--hls-format", format];

/** As the operator runs them: each origin names the other as its peer, the backup waits for the primary. */
function startOrigin(name: OriginRole, ports: OriginPorts, dataDir: string, peer: OriginPorts, format: (typeof FORMATS)[number]): Promise<OriginProcess> {
  return startPeeredOrigin(name, ports, dataDir, peer, { stream: STREAM, adminToken: ADMIN_TOKEN, args: ["--reconnect-grace", "3", ...formatArgs(format)] });
}

/** Both origins list `name`, and it began within `maxSkewMs` on each (by their program date-times). */
function sameMoment(a: MediaPlaylist, b: MediaPlaylist, name: string, maxSkewMs: number): boolean {
  const [i, j] = [a.segments.indexOf(name), b.segments.indexOf(name)];
  return i >= 0 && j >= 0 && Math.abs(a.programDateTimes[i]! - b.programDateTimes[j]!) < maxSkewMs;
}

interface StreamNumbering {
  firstSegmentNumber: number;
  firstSegmentAtMs: number;
  source: string;
}

async function numberingOf(origin: OriginProcess): Promise<StreamNumbering | undefined> {
  const stat = JSON.parse((await httpGet(`${origin.http}/stat`)).body.toString()) as { streams: { stream: string; numbering?: StreamNumbering }[] };
  return stat.streams.find((s) => s.stream === STREAM)?.numbering;
}

/** The number `reference`'s origin gives a segment starting at `atMs` (numbering.ts, checked independently). */
function numberIn(reference: StreamNumbering, atMs: number, segmentSeconds = 2): number {
  return reference.firstSegmentNumber + Math.round((atMs - reference.firstSegmentAtMs) / (segmentSeconds * 1000));
}

/** The origin's own request counter for one kind (master, playlist, segment), 200s only. */
function originRequests(origin: OriginProcess, kind: string): Promise<number> {
  return originRequestCount(origin.http, { kind, status: "200" });
}

async function playlistOf(base: string): Promise<MediaPlaylist | undefined> {
  const res = await httpGet(`${base}${VARIANT_PATH}`).catch(() => undefined);
  return res?.status === 200 ? parseMediaPlaylist(res.body.toString()) : undefined;
}

interface Poll {
  at: number;
  status: number;
  servedBy: string | undefined;
  playlist: MediaPlaylist | undefined;
}

describe.each(FORMATS)("%s: edge in front of two real origins fed the same stream", (format) => {
  const cleanup = new Cleanup();
  let primary: OriginProcess;
  let backup: OriginProcess;
  let edge: EdgeRunner;
  let clip: string;
  let peerPorts: Record<OriginRole, OriginPorts>;
  const requested = new Set<string>();

  beforeAll(async () => {
    const dir = await tempDir("edge-real");
    clip = await makeTestClip(dir, { seconds: 6, gopSeconds: 2 });
    const pair = await startFedOriginPair({
      dir,
      clip,
      stream: STREAM,
      cleanup,
      adminToken: ADMIN_TOKEN,
      args: ["--reconnect-grace", "3", ...formatArgs(format)],
      ready: async (origin) => ((await playlistOf(origin.http))?.segments.length ?? 0) >= 3,
    });
    ({ primary, backup } = pair);
    peerPorts = { primary: pair.ports.backup, backup: pair.ports.primary };
    const work = await tempDir("edge-real-work");
    const config = resolveEdgeConfig({
      origins: [primary.http, backup.http],
      ...(await loopbackEdge(work)),
      drainDelaySeconds: 1,
      shutdownGraceSeconds: 10,
    });
    edge = cleanup.add(await runEdge(config, { logger }), (e) => e.close());
  }, 180_000);

  afterAll(() => cleanup.run(), 90_000);

  async function pollPlaylist(ms: number): Promise<Poll[]> {
    const out: Poll[] = [];
    const end = Date.now() + ms;
    while (Date.now() < end) {
      const res = await httpGet(`${edge.url}${VARIANT_PATH}`);
      out.push({
        at: Date.now(),
        status: res.status,
        servedBy: headerOf(res, "x-served-by"),
        playlist: res.status === 200 ? parseMediaPlaylist(res.body.toString()) : undefined,
      });
      await new Promise((r) => setTimeout(r, 100));
    }
    return out;
  }

  /** A segment the edge has not been asked for yet, named by the edge's current playlist. */
  async function freshSegmentName(): Promise<string> {
    return waitFor(
      "a segment nobody asked the edge for",
      async () => (await playlistOf(edge.url))?.segments.find((s) => !requested.has(s)),
      { timeoutMs: 20_000, intervalMs: 100 },
    );
  }

  test("fed by one encoder from the start, both origins name and number segments identically", async () => {
    const [a, b] = await Promise.all([playlistOf(primary.http), playlistOf(backup.http)]);
    logger.warn("segment naming across origins (same start)", {
      primary: { mediaSequence: a?.mediaSequence, last: a?.segments.at(-1) },
      backup: { mediaSequence: b?.mediaSequence, last: b?.segments.at(-1) },
    });
    const common = a!.segments.filter((s) => b!.segments.includes(s));
    expect(common.length).toBeGreaterThanOrEqual(2);
    // Same names must mean the same media, or a failover would splice two timelines.
    const name = common[0]!;
    const [fromPrimary, fromBackup] = await Promise.all([
      httpGet(`${primary.http}/hls/${STREAM}/source/${name}`),
      httpGet(`${backup.http}/hls/${STREAM}/source/${name}`),
    ]);
    expect(fromPrimary.body.length).toBeGreaterThan(0);
    expect(fromPrimary.body.equals(fromBackup.body)).toBe(true);
    // Not by luck of the clock: the backup waited for the primary's numbering and took it
    // (or, had the primary been later, the primary took the backup's).
    const [primaryNumbering, backupNumbering] = await Promise.all([numberingOf(primary), numberingOf(backup)]);
    const [follower, leader] = backupNumbering!.source === primary.http ? [backupNumbering!, primaryNumbering!] : [primaryNumbering!, backupNumbering!];
    expect(follower.source).toBe(leader === primaryNumbering ? primary.http : backup.http);
    expect(follower.firstSegmentNumber).toBe(numberIn(leader, follower.firstSegmentAtMs));
  });

  test("50 concurrent clients, one new segment: exactly one request in the origins' access metrics", async () => {
    for (let round = 0; round < 2; round++) {
      const name = await freshSegmentName();
      requested.add(name);
      const before = (await originRequests(primary, "segment")) + (await originRequests(backup, "segment"));
      const results = await Promise.all(Array.from({ length: 50 }, () => httpGet(`${edge.url}/hls/${STREAM}/source/${name}`)));
      expect(results.map((r) => r.status)).toEqual(Array(50).fill(200));
      expect(new Set(results.map((r) => r.body.length)).size).toBe(1);
      const after = (await originRequests(primary, "segment")) + (await originRequests(backup, "segment"));
      expect(after - before).toBe(1);
    }
  });

  test("primary SIGKILLed: served by the backup within 2 s, no errors", async () => {
    primary.process.signal("SIGKILL");
    await primary.process.exited;
    const killedAt = Date.now();
    const name = await freshSegmentName();
    requested.add(name);
    const res = await httpGet(`${edge.url}/hls/${STREAM}/source/${name}`);
    const servedAfterMs = Date.now() - killedAt;
    expect(res.status).toBe(200);
    expect(headerOf(res, "x-served-by")).toBe("backup");
    expect(servedAfterMs).toBeLessThanOrEqual(2000);
    const polls = await pollPlaylist(4000);
    expect(polls.filter((p) => p.status !== 200)).toEqual([]);
    expect(polls.some((p) => p.servedBy === "backup")).toBe(true);
    logger.warn("failover on SIGKILL", { servedAfterMs });
  }, 60_000);

  let republisher: Publisher;

  test("primary back (restarted, encoder reconnected): traffic returns to it without errors; its numbering lines up with the backup's", async () => {
    const restarted = cleanup.add(await startOrigin("primary", { httpPort: primary.httpPort, rtmpPort: primary.rtmpPort }, primary.dataDir, peerPorts.primary, format), (o) => o.process.stop());
    primary = restarted;
    republisher = await publishFile(clip, primary.rtmp, { loop: true });
    cleanup.add(republisher, (p) => p.stop());
    const polls: Poll[] = [];
    await waitFor(
      "the primary to serve through the edge again",
      async () => {
        polls.push(...(await pollPlaylist(1000)));
        return polls.slice(-5).some((p) => p.servedBy === "primary");
      },
      { timeoutMs: 60_000, intervalMs: 0 },
    );
    polls.push(...(await pollPlaylist(3000)));
    expect(polls.filter((p) => p.status !== 200)).toEqual([]);
    // Every origin fetch from the first one the primary answered on went to the primary (the
    // rest of the polls were cache hits).
    const fromOrigin = polls.filter((p) => p.servedBy !== "cache");
    const sincePrimary = fromOrigin.slice(fromOrigin.findIndex((p) => p.servedBy === "primary"));
    expect(sincePrimary.length).toBeGreaterThanOrEqual(2);
    expect(sincePrimary.filter((p) => p.servedBy !== "primary")).toEqual([]);

    // The measurement the issue asks for: what a viewer following the edge saw at the switch.
    const lastBackup = [...polls].reverse().find((p) => p.servedBy === "backup")?.playlist;
    const firstPrimary = polls.find((p) => p.servedBy === "primary")?.playlist;
    const [p, b] = await Promise.all([playlistOf(primary.http), playlistOf(backup.http)]);
    logger.warn("segment naming across origins (primary restarted)", {
      viewerSawBackupSequence: lastBackup?.mediaSequence,
      viewerThenSawPrimarySequence: firstPrimary?.mediaSequence,
      primaryNow: { mediaSequence: p?.mediaSequence, last: p?.segments.at(-1), pdt: p?.programDateTimes.at(-1) },
      backupNow: { mediaSequence: b?.mediaSequence, last: b?.segments.at(-1), pdt: b?.programDateTimes.at(-1) },
    });
    // The restarted primary takes the backup's numbering instead of starting again at zero
    // (which made the edge hand out the previous run's cached segments under the reused names,
    // and the player's sequence run backwards).
    expect(Math.abs(firstPrimary!.mediaSequence - lastBackup!.mediaSequence)).toBeLessThanOrEqual(WINDOW_SEGMENTS);
    const [ownNumbering, backupNumbering] = await Promise.all([numberingOf(primary), numberingOf(backup)]);
    expect(ownNumbering!.source).toBe(backup.http);
    expect(ownNumbering!.firstSegmentNumber).toBe(numberIn(backupNumbering!, ownNumbering!.firstSegmentAtMs));
    // So one name means one moment on both: a segment both list started within half a segment
    // (plus FFmpeg's own clock reading) on each, where the clock alone allowed a whole segment.
    const common = p!.segments.filter((name) => b!.segments.includes(name));
    expect(common.length).toBeGreaterThanOrEqual(2);
    expect(common.filter((name) => !sameMoment(p!, b!, name, 1500))).toEqual([]);
  }, 120_000);

  test("primary's stream stopped while its process lives (404): the backup serves", async () => {
    const dropped = await fetch(`${primary.http}/control/drop/${STREAM}`, { method: "POST", headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(dropped.status).toBe(200);
    const droppedAt = Date.now();
    const polls = await pollPlaylist(7000);
    expect(polls.filter((p) => p.status !== 200)).toEqual([]);
    const endlistServed = polls.filter((p) => p.playlist?.ended);
    const firstBackup = polls.find((p) => p.servedBy === "backup");
    logger.warn("stream stopped on the primary", {
      endListPlaylistsServed: endlistServed.length,
      endListServedForMs: endlistServed.length > 0 ? endlistServed.at(-1)!.at - endlistServed[0]!.at : 0,
      backupAfterMs: firstBackup ? firstBackup.at - droppedAt : undefined,
    });
    expect(firstBackup).toBeDefined();
    const fromOrigin = polls.filter((p) => p.servedBy !== "cache");
    const sinceBackup = fromOrigin.slice(fromOrigin.indexOf(firstBackup!));
    expect(sinceBackup.filter((p) => p.servedBy !== "backup")).toEqual([]);

    // What the backup answers after the primary's 404 is cached and collapsed like anything
    // else (an origin 404 carrying Cache-Control: no-cache made nginx cache nothing during
    // such a failover: every viewer's request went to the backup).
    expect(polls.slice(polls.indexOf(firstBackup!)).some((p) => p.servedBy === "cache")).toBe(true);
    const name = await freshSegmentName();
    requested.add(name);
    const before = await originRequests(backup, "segment");
    const results = await Promise.all(Array.from({ length: 20 }, () => httpGet(`${edge.url}/hls/${STREAM}/source/${name}`)));
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect((await originRequests(backup, "segment")) - before).toBe(1);
    expect(headerOf(await httpGet(`${edge.url}/hls/${STREAM}/source/${name}`), "x-cache-status")).toBe("HIT");
  }, 60_000);
});

describe.each(FORMATS)("%s: an encoder that reconnects to the primary after a gap of several segments", (format) => {
  const cleanup = new Cleanup();
  afterAll(() => cleanup.run(), 60_000);

  test("the primary's continued stream takes the backup's numbering again instead of trailing it", async () => {
    const dir = await tempDir("edge-real-reconnect");
    const clip = await makeTestClip(dir, { seconds: 6, gopSeconds: 2 });
    // A grace long enough that the reconnect continues the stream rather than starting it anew.
    const { primary, backup } = await startFedOriginPair({
      dir,
      clip,
      stream: STREAM,
      cleanup,
      adminToken: ADMIN_TOKEN,
      args: ["--reconnect-grace", "20", ...formatArgs(format)],
      ready: async (origin) => ((await playlistOf(origin.http))?.segments.length ?? 0) >= 3,
    });
    const segmentNumber = (name: string): number => Number(/(\d+)/.exec(name)![1]);
    const lastBeforeGap = segmentNumber((await playlistOf(primary.http))!.segments.at(-1)!);
    // Only the primary loses its encoder (the tee carries on to the backup), for three segments.
    const dropped = await fetch(`${primary.http}/control/drop/${STREAM}`, { method: "POST", headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(dropped.status).toBe(200);
    const reconnectAt = Date.now() + 6000;
    await new Promise((r) => setTimeout(r, reconnectAt - Date.now()));
    cleanup.add(await publishFile(clip, primary.rtmp, { loop: true }), (p) => p.stop());

    const numbering = await waitFor("the primary's new numbering", async () => {
      const n = await numberingOf(primary);
      return n && n.firstSegmentAtMs >= reconnectAt ? n : undefined;
    }, { timeoutMs: 30_000, intervalMs: 100 });
    expect(numbering.source).toBe(backup.http);
    const backupNumbering = (await numberingOf(backup))!;
    expect(numbering.firstSegmentNumber).toBe(numberIn(backupNumbering, numbering.firstSegmentAtMs));
    // Continuing the old playlists would have numbered on from the last segment before the gap
    // (plus the one FFmpeg closes at the drop).
    expect(numbering.firstSegmentNumber).toBeGreaterThan(lastBeforeGap + 2);

    const [p, b] = await waitFor("two segments of the reconnected primary", async () => {
      const [p, b] = await Promise.all([playlistOf(primary.http), playlistOf(backup.http)]);
      const fresh = p?.segments.filter((name) => segmentNumber(name) >= numbering.firstSegmentNumber) ?? [];
      return fresh.length >= 2 && b ? ([p!, b] as const) : undefined;
    }, { timeoutMs: 30_000, intervalMs: 200 });
    const common = p.segments.filter((name) => b.segments.includes(name) && segmentNumber(name) >= numbering.firstSegmentNumber);
    expect(common.length).toBeGreaterThanOrEqual(1);
    expect(common.filter((name) => !sameMoment(p, b, name, 1500))).toEqual([]);
  }, 150_000);
});
