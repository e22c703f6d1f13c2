/**
 * The LL-HLS offload benchmark's viewers: they number parts as RFC 8216bis does (full and delta
 * playlists), and, run small against real CMAF origins behind a real edge, they follow the
 * stream part by part without a failed request while the origins see about one request per
 * part. The numbers at scale come from `make bench-ll-offload`.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import path from "node:path";
import { createLogger } from "@live360/core";
import { resolveEdgeConfig, runEdge, type EdgeRunner } from "@live360/edge";
import { Cleanup, httpGet, loopbackEdge, makeTestClip, originRequestCount, startFedOriginPair, tempDir, type OriginProcess } from "@live360/testkit";
import { parseLlPlaylist, runLlViewerLoad } from "./ll-viewers.js";

describe("LL-HLS playlists as the simulated viewers read them", () => {
  const head = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.0,CAN-SKIP-UNTIL=6.0\n#EXT-X-PART-INF:PART-TARGET=0.33\n";

  test("a full playlist: parts numbered from the media sequence, the hint is the open segment's next part", () => {
    const text = `${head}#EXT-X-MEDIA-SEQUENCE:7\n#EXT-X-MAP:URI="init_0.mp4"\n#EXTINF:1.0,\nseg_7.m4s\n#EXT-X-PART:DURATION=0.33,URI="seg_8.0.m4s",INDEPENDENT=YES\n#EXT-X-PART:DURATION=0.33,URI="seg_8.1.m4s"\n#EXT-X-PART:DURATION=0.33,URI="seg_8.2.m4s"\n#EXTINF:1.0,\nseg_8.m4s\n#EXT-X-PART:DURATION=0.33,URI="seg_9.0.m4s",INDEPENDENT=YES\n#EXT-X-PRELOAD-HINT:TYPE=PART,URI="seg_9.1.m4s"\n`;
    const playlist = parseLlPlaylist(text);
    expect(playlist.initUri).toBe("init_0.mp4");
    expect(playlist.canSkip).toBe(true);
    expect(playlist.parts.map((p) => [p.uri, p.msn, p.index])).toEqual([
      ["seg_8.0.m4s", 8, 0],
      ["seg_8.1.m4s", 8, 1],
      ["seg_8.2.m4s", 8, 2],
      ["seg_9.0.m4s", 9, 0],
    ]);
    expect(playlist.hint).toEqual({ msn: 9, part: 1 });
  });

  test("a delta update counts the skipped segments; after a whole segment the hint is the next one's first part", () => {
    const text = `${head}#EXT-X-MEDIA-SEQUENCE:7\n#EXT-X-SKIP:SKIPPED-SEGMENTS=2\n#EXT-X-PART:DURATION=0.33,URI="seg_9.0.m4s",INDEPENDENT=YES\n#EXTINF:0.33,\nseg_9.m4s\n#EXT-X-PRELOAD-HINT:TYPE=PART,URI="seg_10.0.m4s"\n`;
    const playlist = parseLlPlaylist(text);
    expect(playlist.parts).toEqual([{ uri: "seg_9.0.m4s", msn: 9, index: 0 }]);
    expect(playlist.hint).toEqual({ msn: 10, part: 0 });
    expect(parseLlPlaylist(text.replace(/#EXT-X-PRELOAD-HINT.*\n/, "")).hint).toBeUndefined();
  });
});

describe("simulated LL-HLS viewers against real CMAF origins behind a real edge", () => {
  const cleanup = new Cleanup();
  let origins: OriginProcess[];
  let edge: EdgeRunner;

  beforeAll(async () => {
    const dir = await tempDir("ll-viewers");
    const clip = await makeTestClip(dir, { seconds: 4, gopSeconds: 1, fps: 25 });
    const pair = await startFedOriginPair({
      dir,
      clip,
      stream: "test",
      cleanup,
      args: ["--hls-format", "cmaf", "--low-latency", "--part-target", "0.5"],
      ready: async (origin) => (await httpGet(`${origin.http}/hls/test/source/index.m3u8`)).status === 200,
    });
    origins = [pair.primary, pair.backup];
    const logger = createLogger("ll-viewers", { level: "warn" });
    edge = cleanup.add(await runEdge(resolveEdgeConfig({ origins: origins.map((o) => o.http), ...(await loopbackEdge(path.join(dir, "edge"))), drainDelaySeconds: 0, shutdownGraceSeconds: 5 }), { logger }), (e) => e.close());
  }, 180_000);

  afterAll(() => cleanup.run(), 90_000);

  test("20 viewers follow the stream part by part with no failed request; the origins answer about one request per part", async () => {
    const requests = async (): Promise<number> => (await Promise.all(origins.map((o) => originRequestCount(o.http)))).reduce((a, b) => a + b, 0);
    const before = await requests();
    const result = await runLlViewerLoad({ playlistUrls: [`${edge.url}/hls/test/source/index.m3u8`], viewers: 20, durationMs: 6000, joinSpreadMs: 1000 });
    const originRequests = (await requests()) - before;
    expect(result.errors).toBe(0);
    const parts = result.partsPerVariant[0]!;
    // 6 s of 0.5 s parts, viewers starting three parts back: at least a part a second each.
    expect(parts).toBeGreaterThanOrEqual(8);
    expect(result.partsPlayed).toBeGreaterThanOrEqual(20 * 5);
    // Blocking reloads are answered by the edge (one origin request per part), parts once each.
    expect(result.playlistRequests + result.partRequests).toBeGreaterThan(10 * originRequests);
    expect(originRequests / parts).toBeLessThanOrEqual(4);
  }, 60_000);
});
