/**
 * The benchmark's moving parts, checked small: the reference edge is valid nginx with the
 * reference's behaviour, and simulated live viewers play through both edges. The numbers
 * themselves come from the benchmark run, not from here.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { mkdir, open } from "node:fs/promises";
import path from "node:path";
import { createLogger } from "@live360/core";
import { resolveEdgeConfig, runEdge } from "@live360/edge";
import { Cleanup, HlsStandIn, freePort, httpGet, startLiveHlsWriter, tempDir } from "@live360/testkit";
import { cacheFilePath, cachedBodyOffset, startNginx } from "./nginx.js";
import { renderReferenceEdgeConf } from "./reference-conf.js";
import { runViewerLoad } from "./viewers.js";

const cleanup = new Cleanup();
afterAll(() => cleanup.run(), 60_000);

async function startReferenceEdge(primary: string, backup: string): Promise<string> {
  const cacheDir = await tempDir("bench-ref-cache");
  const ref = await startNginx("reference-edge", await freePort(), (site) => renderReferenceEdgeConf({ ...site, primary, backup, cacheDir }), "/server-status");
  cleanup.add(ref, (n) => n.stop());
  return ref.url;
}

async function startLive360Edge(primary: HlsStandIn, backup: HlsStandIn) {
  const work = await tempDir("bench-live360-edge");
  const cacheDir = path.join(work, "cache");
  const edge = cleanup.add(
    await runEdge(
      resolveEdgeConfig({
        origins: [primary.url, backup.url],
        listenAddress: "127.0.0.1",
        listenPort: await freePort(),
        statusPort: await freePort(),
        metricsPort: await freePort(),
        workDir: work,
        cache: { dir: cacheDir },
        accessLog: "off",
      }),
      { logger: createLogger("bench-edge", { level: "warn" }) },
    ),
    (e) => e.close(),
  );
  return { edge, cacheDir };
}

describe("edge benchmark parts", () => {
  let origin: HlsStandIn;
  let spare: HlsStandIn;

  beforeAll(async () => {
    const root = await tempDir("bench-edge-origin");
    const dir = path.join(root, "test", "source");
    await mkdir(dir, { recursive: true });
    const writer = cleanup.add(await startLiveHlsWriter({ dir, segmentSeconds: 1 }), (w) => w.stop());
    origin = cleanup.add(await HlsStandIn.start({ root, port: await freePort() }), (s) => s.kill());
    spare = cleanup.add(await HlsStandIn.start({ root, port: await freePort() }), (s) => s.kill());
    await writer.waitForSegments(4);
  }, 120_000);

  test("simulated viewers play through the reference edge and through live360's, which collapses every segment", async () => {
    const hostPort = (url: string) => new URL(url).host;
    const reference = await startReferenceEdge(hostPort(origin.url), hostPort(spare.url));
    const { edge } = await startLive360Edge(origin, spare);
    for (const base of [reference, edge.url]) {
      origin.resetCounts();
      const result = await runViewerLoad({ playlistUrl: `${base}/hls/test/source/index.m3u8`, viewers: 30, durationMs: 5000, joinSpreadMs: 1000 });
      const originSegments = origin.countMatching(/\.ts$/) + spare.countMatching(/\.ts$/);
      const { playlistRequests, segmentRequests, errors, segmentsPlayed } = result;
      createLogger("bench-edge").warn("viewer load", { edge: base === reference ? "reference" : "live360", playlistRequests, segmentRequests, errors, segmentsPlayed, originSegments });
      expect(result.errors).toBe(0);
      expect(result.segmentsPlayed).toBeGreaterThanOrEqual(30 * 3);
      if (base === edge.url) {
        // Every viewer starts three segments back and follows the live edge: at most ~8 distinct segments in 5 s.
        expect(originSegments).toBeLessThanOrEqual(10);
      }
    }
  }, 120_000);

  test("the cache file of a segment the edge served holds its body from the offset the benchmark computes", async () => {
    const { edge, cacheDir } = await startLive360Edge(origin, spare);
    const playlist = await httpGet(`${edge.url}/hls/test/source/index.m3u8`);
    const name = playlist.body.toString().split("\n").find((l) => l.endsWith(".ts"))!;
    const uri = `/hls/test/source/${name}`;
    const segment = await httpGet(`${edge.url}${uri}`);
    expect(segment.status).toBe(200);
    const offset = await cachedBodyOffset(cacheDir, uri, segment.body.length);
    // After nginx's header (binary fields, the key, the origin's status line and headers).
    expect(offset).toBeGreaterThan(200);
    const handle = await open(cacheFilePath(cacheDir, uri), "r");
    try {
      const stored = Buffer.alloc(segment.body.length + offset);
      await handle.read(stored, 0, stored.length, 0);
      expect(stored.subarray(0, offset).toString("latin1")).toContain(`KEY: ${uri}`);
      expect(stored.subarray(offset).equals(segment.body)).toBe(true);
    } finally {
      await handle.close();
    }
  }, 60_000);
});
