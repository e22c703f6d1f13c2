/**
 * `make bench-edge`: issue 4's benchmark, live360's generated edge side by side with the AWS
 * reference architecture's edge configuration (reference-conf.ts) on the same Debian nginx.
 *
 * 1. Throughput: wrk on a cached 2 MB segment and on a live playlist at 100/500/1000
 *    connections, for both edges and for plain nginx serving the same files from disk, and
 *    the segment from the offset at which the edge's cache file holds it.
 * 2. Origin offload: two real origins (`live360 origin`) fed by one encoder, simulated live
 *    viewers following the stream through each edge; origin requests (the origins' own
 *    counters) ÷ client requests.
 * 3. Failover stall: the primary SIGKILLed, its stream stopped (404), and its host hung (a TCP
 *    relay that stops answering) while viewers play; per-viewer stall (stall.ts).
 *
 * Env: BENCH_WRK_SECONDS (10), BENCH_VIEWERS (1000), BENCH_OFFLOAD_SECONDS (60),
 * BENCH_FAILOVER_VIEWERS (200), BENCH_FAILOVER_SECONDS (30), BENCH_RESULTS_DIR (bench/results): edge.{json,md}.
 */
import { randomBytes } from "node:crypto";
import { mkdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createLogger } from "@live360/core";
import { resolveEdgeConfig, resolveNginx, runEdge } from "@live360/edge";
import { log } from "@live360/bench/dist/run.js";
import {
  Cleanup,
  freePort,
  getText,
  headerOf,
  httpGet,
  makeTestClip,
  originRequestCount,
  publishFileToAll,
  startOriginProcess,
  startTcpSwitch,
  tempDir,
  waitFor,
  type OriginProcess,
  type TcpSwitch,
} from "@live360/testkit";
import { cachedBodyOffset, renderPlainNginxConf, startNginx, writeSiteDir } from "./nginx.js";
import { renderReferenceEdgeConf } from "./reference-conf.js";
import { envNumber } from "./env.js";
import { markdownReport, type EdgeBenchReport, type FailoverRow, type OffloadRow, type ThroughputRow } from "./report.js";
import { summarizeStalls } from "./stall.js";
import { runViewerLoad } from "./viewers.js";
import { pinProcessTree, processTreeCpuSeconds, runWrk } from "./wrk.js";

// BENCH_RESULTS_DIR keeps a smoke run from overwriting the recorded results.
const RESULTS_DIR = process.env.BENCH_RESULTS_DIR ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../results");
const EDGES = ["live360", "reference"] as const;
type EdgeKind = (typeof EDGES)[number];
const STREAM = "test";
const PLAYLIST_PATH = `/hls/${STREAM}/source/index.m3u8`;
const ADMIN_TOKEN = "bench-edge-admin";
const CONNECTIONS = [100, 500, 1000];
const CLIENT_CPU = 0;
const SERVER_CPU = 1;
const logger = createLogger("bench-edge", { level: "error" });


/** A scratch directory removed with everything else in `cleanup` (after the processes using it). */
async function scratch(prefix: string, cleanup: Cleanup): Promise<string> {
  return cleanup.add(await tempDir(prefix), (dir) => rm(dir, { recursive: true, force: true }));
}

interface Server {
  url: string;
  /** The nginx master; its workers are its children. */
  pid: number;
  /** live360's edge: its proxy_cache directory. */
  cacheDir?: string;
}

/** Starts one edge of the given kind in front of a primary and a backup (`host:port` each). */
async function startEdge(kind: EdgeKind, primary: string, backup: string, cleanup: Cleanup): Promise<Server> {
  const listenPort = await freePort();
  if (kind === "reference") {
    const cacheDir = await scratch("bench-ref-cache", cleanup);
    const ref = await startNginx("reference-edge", listenPort, (site) => renderReferenceEdgeConf({ ...site, primary, backup, cacheDir }), "/server-status");
    cleanup.add(ref, (n) => n.stop());
    return { url: ref.url, pid: ref.process.pid };
  }
  const work = await scratch("bench-live360-edge", cleanup);
  const cacheDir = path.join(work, "cache");
  const edge = await runEdge(
    resolveEdgeConfig({
      origins: [`http://${primary}`, `http://${backup}`],
      listenAddress: "127.0.0.1",
      listenPort,
      statusPort: await freePort(),
      metricsPort: await freePort(),
      workDir: work,
      cache: { dir: cacheDir },
      // Both other contestants log nothing either; the access log is a per-request write.
      accessLog: "off",
      drainDelaySeconds: 0,
      shutdownGraceSeconds: 5,
    }),
    { logger },
  );
  cleanup.add(edge, (e) => e.close());
  return { url: edge.url, pid: edge.pid!, cacheDir };
}

/** One wrk target: a server, and the headers that make its answer comparable. */
interface Target {
  server: ThroughputRow["server"];
  url: string;
  pid: number;
  headers: string[];
}

async function throughput(seconds: number): Promise<ThroughputRow[]> {
  const cleanup = new Cleanup();
  try {
    const root = await scratch("bench-edge-files", cleanup);
    const segment = `/hls/${STREAM}/source/seg_00042.ts`;
    const segmentBytes = 2 * 1024 * 1024;
    const playlistLines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:2", "#EXT-X-MEDIA-SEQUENCE:37"];
    for (let n = 37; n <= 42; n++) playlistLines.push("#EXT-X-PROGRAM-DATE-TIME:2026-11-24T12:00:00.000Z", "#EXTINF:2.000,", `seg_${String(n).padStart(5, "0")}.ts`);
    await writeSiteDir(root, { [segment]: randomBytes(segmentBytes), [PLAYLIST_PATH]: playlistLines.join("\n") + "\n" });
    const plain = cleanup.add(await startNginx("plain", await freePort(), (site) => renderPlainNginxConf({ ...site, root }), "/healthz"), (n) => n.stop());
    // Nothing listens on the backup: every request is a cache hit or goes to the primary.
    const spare = `127.0.0.1:${await freePort()}`;
    const plainServer: Server = { url: plain.url, pid: plain.process.pid };
    const live360 = await startEdge("live360", plain.hostPort, spare, cleanup);
    const reference = await startEdge("reference", plain.hostPort, spare, cleanup);
    // Every server on one core, wrk on the other: sharing both cores, the client's and the
    // servers' scheduling swung single cells by ±30 %.
    for (const server of [plainServer, live360, reference]) await pinProcessTree(server.pid, SERVER_CPU);
    const target = (server: Target["server"], { url, pid }: Server, headers: string[] = []): Target => ({ server, url, pid, headers });
    const edges = [target("plain", plainServer), target("live360", live360), target("reference", reference)];
    const rows: ThroughputRow[] = [];
    for (const [object, objectPath] of [["segment 2 MB", segment], ["playlist", PLAYLIST_PATH]] as const) {
      for (const { server, url } of edges) {
        for (let i = 0; i < 2; i++) {
          const res = await httpGet(`${url}${objectPath}`);
          if (res.status !== 200) throw new Error(`${server} answered ${res.status} for ${objectPath}`);
          if (i === 1) log(`${server} ${objectPath}: ${headerOf(res, "x-cache-status") ?? headerOf(res, "x-media-cache-status") ?? "from disk"}`);
        }
      }
      const targets = [...edges];
      if (objectPath === segment) {
        // The same bytes from the same file offset as the edge's cache hit sends them: what
        // separates a cache hit from a static file once the offset is equal.
        const offset = await cachedBodyOffset(live360.cacheDir!, segment, segmentBytes);
        log(`live360's cached segment body starts at byte ${offset} of its cache file`);
        targets.push(target("plain at cache offset", plainServer, [`Range: bytes=${offset}-`]));
      }
      // Servers side by side per connection count, in a rotating order, so drift in the
      // machine's load hits all alike.
      for (const [cell, connections] of CONNECTIONS.entries()) {
        for (const { server, url, pid, headers } of [...targets.slice(cell % targets.length), ...targets.slice(0, cell % targets.length)]) {
          const cpuBefore = await processTreeCpuSeconds(pid);
          const result = await runWrk(`${url}${objectPath}`, connections, seconds, CLIENT_CPU, headers);
          const serverCpuSeconds = (await processTreeCpuSeconds(pid)) - cpuBefore;
          log(`wrk ${object} c=${connections} ${server}: ${result.requestsPerSecond.toFixed(0)} req/s, p99 ${result.p99Ms.toFixed(1)} ms, server CPU ${serverCpuSeconds.toFixed(2)} s, errors ${result.errors}`);
          rows.push({ object, server, ...result, serverCpuSeconds });
        }
      }
    }
    return rows;
  } finally {
    await cleanup.run();
  }
}

interface LiveSetup {
  primary: OriginProcess;
  backup: OriginProcess;
  /** The edge reaches the primary through this relay, so its host can be made to hang. */
  primarySwitch: TcpSwitch;
  edgeUrl: string;
}

/** Two fresh origins fed by one encoder, the primary behind a relay, and one edge in front. */
async function startLive(kind: EdgeKind, clip: string, cleanup: Cleanup): Promise<LiveSetup> {
  const dir = await scratch("bench-edge-live", cleanup);
  const origins: OriginProcess[] = [];
  const httpPorts = { primary: await freePort(), backup: await freePort() };
  for (const [name, peer] of [["primary", "backup"], ["backup", "primary"]] as const) {
    const origin = await startOriginProcess({
      name,
      httpPort: httpPorts[name],
      rtmpPort: await freePort(),
      dataDir: path.join(dir, name),
      stream: STREAM,
      adminToken: ADMIN_TOKEN,
      // As in the edge's tests: the stopped stream turns into 404s after 3 s, not 10. Peers as
      // the operator wires them, so both number segments alike.
      args: ["--reconnect-grace", "3", "--peer", `http://127.0.0.1:${httpPorts[peer]}`, ...(name === "backup" ? ["--wait-for-peers"] : [])],
    });
    cleanup.add(origin, (o) => o.process.stop());
    origins.push(origin);
  }
  const [primary, backup] = origins as [OriginProcess, OriginProcess];
  cleanup.add(await publishFileToAll(clip, [primary.rtmp, backup.rtmp], { loop: true }), (p) => p.stop());
  for (const origin of origins) {
    await waitFor(`${origin.name}'s live playlist`, async () => {
      const res = await getText(`${origin.http}${PLAYLIST_PATH}`);
      return res.status === 200 && (res.body.match(/#EXTINF/g)?.length ?? 0) >= 4;
    }, { timeoutMs: 60_000, intervalMs: 250 });
  }
  const primarySwitch = cleanup.add(await startTcpSwitch({ host: "127.0.0.1", port: primary.httpPort }), (s) => s.close());
  const { url: edgeUrl } = await startEdge(kind, `127.0.0.1:${primarySwitch.port}`, `127.0.0.1:${backup.httpPort}`, cleanup);
  return { primary, backup, primarySwitch, edgeUrl };
}

/** Playlist and segment requests the two origins counted themselves. */
async function originMediaRequests(setup: LiveSetup): Promise<{ playlist: number; segment: number }> {
  const counts = { playlist: 0, segment: 0 };
  for (const origin of [setup.primary, setup.backup]) {
    for (const kind of ["playlist", "segment"] as const) counts[kind] += await originRequestCount(origin.http, { kind });
  }
  return counts;
}

const FAILOVERS: { scenario: FailoverRow["scenario"]; run: (setup: LiveSetup) => Promise<void> }[] = [
  {
    scenario: "primary SIGKILLed",
    run: async ({ primary, primarySwitch }) => {
      primary.process.signal("SIGKILL");
      // The relay then refuses as the dead process's port would.
      primarySwitch.setUp(false);
      await primary.process.exited;
    },
  },
  {
    scenario: "primary's stream stopped (404)",
    run: async ({ primary }) => {
      const res = await fetch(`${primary.http}/control/drop/${STREAM}`, { method: "POST", headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
      if (res.status !== 200) throw new Error(`drop answered ${res.status}`);
    },
  },
  {
    scenario: "primary's host hung",
    run: async ({ primarySwitch }) => primarySwitch.freeze(),
  },
];

async function liveRuns(kind: EdgeKind, clip: string, o: { viewers: number; offloadSeconds: number; failoverViewers: number; failoverSeconds: number }) {
  const offload: OffloadRow[] = [];
  const failover: FailoverRow[] = [];
  for (const [i, failure] of FAILOVERS.entries()) {
    const cleanup = new Cleanup();
    try {
      const setup = await startLive(kind, clip, cleanup);
      const playlistUrl = `${setup.edgeUrl}${PLAYLIST_PATH}`;
      if (i === 0) {
        const before = await originMediaRequests(setup);
        const run = await runViewerLoad({ playlistUrl, viewers: o.viewers, durationMs: o.offloadSeconds * 1000, joinSpreadMs: 10_000 });
        const after = await originMediaRequests(setup);
        const originPlaylistRequests = after.playlist - before.playlist;
        const originSegmentRequests = after.segment - before.segment;
        const originRequests = originPlaylistRequests + originSegmentRequests;
        const clientRequests = run.playlistRequests + run.segmentRequests;
        const row: OffloadRow = {
          edge: kind,
          viewers: o.viewers,
          seconds: o.offloadSeconds,
          clientRequests,
          originRequests,
          originPlaylistRequests,
          originSegmentRequests,
          offloadRatio: originRequests / clientRequests,
          clientErrors: run.errors,
          segmentsPlayed: run.segmentsPlayed,
        };
        log(`offload ${kind}: ${originRequests} origin requests for ${clientRequests} client requests (1/${(clientRequests / Math.max(1, originRequests)).toFixed(0)}), ${run.errors} errors`);
        offload.push(row);
      }
      const eventAtMs = Math.round((o.failoverSeconds * 1000) / 3);
      const run = await runViewerLoad({
        playlistUrl,
        viewers: o.failoverViewers,
        durationMs: o.failoverSeconds * 1000,
        joinSpreadMs: Math.min(5000, eventAtMs / 2),
        event: { atMs: eventAtMs, run: () => failure.run(setup) },
      });
      const summary = summarizeStalls(run);
      log(`failover ${kind}, ${failure.scenario}: delivery stall max ${summary.deliveryStallMs.max} ms (baseline ${summary.baselineDeliveryStallMs.max}), playback stall max ${summary.playbackStallMs.max} ms, ${summary.errorsAfterEvent} errors, ${summary.viewersStillWaiting} viewers still waiting`);
      failover.push({ edge: kind, scenario: failure.scenario, secondsAfterEvent: (run.endedAt - run.eventAt!) / 1000, ...summary });
    } finally {
      await cleanup.run();
    }
  }
  return { offload, failover };
}

async function main(): Promise<void> {
  const wrkSeconds = envNumber("BENCH_WRK_SECONDS", 10);
  const live = {
    viewers: envNumber("BENCH_VIEWERS", 1000),
    offloadSeconds: envNumber("BENCH_OFFLOAD_SECONDS", 60),
    failoverViewers: envNumber("BENCH_FAILOVER_VIEWERS", 200),
    failoverSeconds: envNumber("BENCH_FAILOVER_SECONDS", 30),
  };
  const loadAverage1m = os.loadavg()[0] ?? 0;
  const nginx = await resolveNginx();
  log(`nginx ${nginx.version.join(".")}, load average ${loadAverage1m.toFixed(2)}`);
  const throughputRows = await throughput(wrkSeconds);
  const clipDir = await tempDir("bench-edge-clip");
  const offload: OffloadRow[] = [];
  const failover: FailoverRow[] = [];
  try {
    // The live test stream: 2 s segments of a 1 Mbit/s 1280x640 picture plus audio (~270 KB each).
    const clip = await makeTestClip(clipDir, { width: 1280, height: 640, seconds: 10, gopSeconds: 2, videoKbps: 1000 });
    for (const kind of EDGES) {
      const result = await liveRuns(kind, clip, live);
      offload.push(...result.offload);
      failover.push(...result.failover);
    }
  } finally {
    await rm(clipDir, { recursive: true, force: true });
  }
  const report: EdgeBenchReport = {
    date: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model.trim() ?? "unknown",
      loadAverage1mAtStart: loadAverage1m,
      loadAverage1mAtEnd: os.loadavg()[0] ?? 0,
      nginx: nginx.version.join("."),
      node: process.version,
    },
    settings: { wrkSeconds, wrkThreads: 1, clientCpu: CLIENT_CPU, serverCpu: SERVER_CPU, ...live },
    throughput: throughputRows,
    offload,
    failover,
  };
  await mkdir(RESULTS_DIR, { recursive: true });
  await writeFile(path.join(RESULTS_DIR, "edge.json"), JSON.stringify(report, null, 2) + "\n");
  const markdown = markdownReport(report);
  await writeFile(path.join(RESULTS_DIR, "edge.md"), markdown);
  process.stdout.write(markdown);
}

await main();
