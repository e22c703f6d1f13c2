/**
 * live360 on a real kind cluster (make kind-up): real images, real pods running FFmpeg and
 * nginx, real media, the project's player in real headless Chromium. Run by `make kind-e2e`
 * (and by `make test`, through test/kind/test.sh) after `make kind-up`; the tests run in order
 * and share one cluster and one viewer, because each drill starts from the state the last left.
 *
 * What a viewer would notice is measured by the player's stall meter (player/test/playback-watch)
 * while each drill breaks the primary origin: a drain, a Spot interruption as the Node
 * Termination Handler performs it, and a container killed outright. Results (stalls, times)
 * go to test-artifacts/kind/results.json for bench/results/kind.md.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { randomBytes } from "node:crypto";
import { S3Storage, periodKey } from "@live360/core";
import { signedPrefix } from "@live360/edge";
import {
  Cleanup,
  freePort,
  getText,
  inspectVodAsset,
  launchChromium,
  listKeys,
  makeTestClip,
  publishFile,
  startProcess,
  startStaticServer,
  tempDir,
  waitFor,
  type ChromiumSession,
} from "@live360/testkit";
import { PLAYER_DIST, readCanvas, requireBuiltPlayer, screenshot, snapshot, waitForPlayback } from "@live360/player/test/harness.js";
import { readWatch, resetWatch, watchPlayback, type PlaybackWatch } from "@live360/player/test/playback-watch.js";
import {
  CLUSTER,
  EDGE_URL,
  EVENT,
  NAMESPACE,
  STREAM,
  evict,
  helm,
  isReady,
  killContainer,
  kubectl,
  kubectlJson,
  liveEvent,
  nodes,
  originPod,
  pods,
  type Pod,
} from "./kind-cluster.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const ARTIFACTS = path.join(root, "test-artifacts/kind");
/** The bound: a failover the viewer does not notice. */
const STALL_LIMIT_MS = 2000;
/**
 * The switch back to a restarted primary (not part of the bound, which is the failover's):
 * 0 ms in sessions 6–10 and 0–89 ms since session 13; the 1–3.8 s of sessions 11–12 were this
 * machine's cores starved (headless Chromium at nice −8: bench/results/kind.md). Bounded so that a
 * viewer stuck for good, or a reload, fails the drill.
 */
const FAIL_BACK_STALL_LIMIT_MS = 5000;
/** Seconds of media a player holds (3 segments of 2 s) plus margin: what plays after this came from elsewhere. */
const PAST_BUFFER_SECONDS = 12;
const SPOT_ITN_TAINT = "aws-node-termination-handler/spot-itn";

interface DrillResult {
  drill: string;
  stallMs: number;
  failoverSeconds: number;
  recoverSeconds: number;
  hlsErrors: number;
  /** What the drill's viewer saw when the event switched back to the restarted primary. */
  failBack: string;
  /** Edge pods that came or went during the failover (a viewer's connection moves when its pod goes). */
  edgePodsChanged: number;
}
const results: { drills: DrillResult[]; timings: Record<string, number> } = { drills: [], timings: {} };

/**
 * The origins' source playlists as the cluster sees them, sampled each second through `kubectl
 * proxy` while a drill runs: whether the backup's playlist advanced while the viewer stalled (a
 * drill's artifact, test-artifacts/kind/drill-<name>-origins.log).
 */
function watchOrigins(proxyUrl: string): { stop(): Promise<string> } {
  const lines: string[] = [];
  let stopped = false;
  const sample = async (role: "primary" | "backup"): Promise<void> => {
    const startedAt = Date.now();
    const stamp = new Date(startedAt).toISOString();
    try {
      const res = await fetch(`${proxyUrl}/api/v1/namespaces/${NAMESPACE}/services/${EVENT}-origin-${role}:8080/proxy/hls/${STREAM}/source/index.m3u8`, { signal: AbortSignal.timeout(3000) });
      const body = await res.text();
      const sequence = /#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(body)?.[1] ?? "-";
      const last = body.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("#")).at(-1) ?? "-";
      lines.push(`${stamp} ${role} ${res.status} ${Date.now() - startedAt}ms sequence=${sequence} last=${last}`);
    } catch (err) {
      lines.push(`${stamp} ${role} failed after ${Date.now() - startedAt}ms: ${(err as Error).message}`);
    }
  };
  const running = (async () => {
    while (!stopped) {
      await Promise.all([sample("primary"), sample("backup")]);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await running;
      return lines.join("\n");
    },
  };
}

const phase = async (): Promise<string | undefined> => (await liveEvent()).status?.phase;

/** Container restarts of the event's origin pods, summed. */
async function originRestarts(): Promise<number> {
  const origins = await pods(`live360.io/event=${EVENT},app.kubernetes.io/component=origin`);
  return origins.reduce((sum, pod) => sum + (pod.status.containerStatuses ?? []).reduce((n, c) => n + c.restartCount, 0), 0);
}

async function waitForLive(what: string, timeoutMs: number): Promise<void> {
  await waitFor(what, async () => {
    const status = (await liveEvent()).status;
    return status?.phase === "Live" && status.activeOrigin === "primary";
  }, { timeoutMs, intervalMs: 2000 });
}

/**
 * The test source stands in for the encoder, which lives outside the cluster: the drills take
 * nodes away from live360, not from the encoder, so its pod is left where it is.
 */
const NOT_THE_ENCODER = "app.kubernetes.io/component!=test-source";

/** Reasons of the LiveEvent's Events last seen at or after `sinceMs` (Event times have whole seconds). */
async function eventReasonsSince(sinceMs: number): Promise<string[]> {
  const events = await kubectlJson<{ items: { reason: string; lastTimestamp?: string; eventTime?: string }[] }>([
    "get", "events", "--field-selector", `involvedObject.kind=LiveEvent,involvedObject.name=${EVENT}`,
  ]);
  const since = Math.floor(sinceMs / 1000) * 1000;
  return events.items.filter((e) => Date.parse(e.lastTimestamp ?? e.eventTime ?? "") >= since).map((e) => e.reason);
}

/** `kubectl drain` as an operator (or EKS, on a Spot rebalance) runs it. */
async function drain(node: string): Promise<void> {
  await kubectl(["drain", node, "--ignore-daemonsets", "--delete-emptydir-data", "--pod-selector", NOT_THE_ENCODER, "--timeout=300s"], { timeoutMs: 330_000 });
}

/** The share of canvas pixels that are not near-black: the pattern is a bright grid, black is a failure. */
async function litShare(page: Page): Promise<number> {
  const frame = await readCanvas(page);
  let lit = 0;
  for (let i = 0; i < frame.data.length; i += 4) if (frame.data[i]! + frame.data[i + 1]! + frame.data[i + 2]! > 90) lit += 1;
  return lit / (frame.data.length / 4);
}

/**
 * The phases a LiveEvent went through, from its "phase A → B" Events. An Event's timestamp has
 * whole seconds, and the operator can go Pending → Ready → Live within one (the test source
 * publishes from its start), so the path is followed from "(new)" by each Event's from-phase, the
 * earliest Event first where several leave the same phase.
 */
function phasePath(events: { message: string; firstTimestamp?: string; eventTime?: string }[]): string[] {
  const transitions = events
    .map((e) => ({ match: /^phase (\S+) → (\w+)/.exec(e.message), at: e.eventTime ?? e.firstTimestamp ?? "" }))
    .filter((t): t is { match: RegExpExecArray; at: string } => t.match !== null)
    .map((t) => ({ from: t.match[1]!, to: t.match[2]!, at: t.at }))
    .sort((a, b) => a.at.localeCompare(b.at));
  const path: string[] = [];
  let current = "(new)";
  for (;;) {
    const next = transitions.findIndex((t) => t.from === current);
    if (next < 0) break;
    current = transitions.splice(next, 1)[0]!.to;
    path.push(current);
  }
  // An Event the path never reached (one left out of order) is a path the test does not expect.
  return [...path, ...transitions.map((t) => `unreached ${t.from} → ${t.to}`)];
}

describe("live360 on kind", () => {
  const cleanup = new Cleanup();
  let browser: ChromiumSession;
  let page: Page;
  let proxyUrl: string;

  beforeAll(async () => {
    await requireBuiltPlayer();
    await mkdir(ARTIFACTS, { recursive: true });
    const proxy = cleanup.add(startProcess("kubectl", ["--context", `kind-${CLUSTER}`, "proxy", "--port=0"]), (p) => p.stop());
    proxyUrl = `http://127.0.0.1:${(await proxy.waitForOutput(/Starting to serve on 127\.0\.0\.1:(\d+)/))[1]}`;
    browser = cleanup.add(await launchChromium({ viewport: { width: 640, height: 360 } }), (b) => b.close());
  }, 60_000);

  afterAll(async () => {
    await writeFile(path.join(ARTIFACTS, "results.json"), `${JSON.stringify(results, null, 2)}\n`);
    await cleanup.run();
  }, 60_000);

  test("the cluster: a control plane, two Spot workers in two zones and an on-demand worker", async () => {
    const all = await nodes();
    const workers = all.filter((n) => !("node-role.kubernetes.io/control-plane" in n.metadata.labels));
    const spot = workers.filter((n) => n.metadata.labels["eks.amazonaws.com/capacityType"] === "SPOT");
    expect(all).toHaveLength(4);
    expect(spot).toHaveLength(2);
    expect(new Set(spot.map((n) => n.metadata.labels["topology.kubernetes.io/zone"])).size).toBe(2);
    expect(workers.filter((n) => n.metadata.labels["eks.amazonaws.com/capacityType"] === "ON_DEMAND")).toHaveLength(1);
  });

  test("the LiveEvent goes Pending → Ready → Live; kubectl shows ingest and playback; the origins run on different workers", async () => {
    const started = Date.now();
    await waitForLive("LiveEvent demo to be Live on its primary", 600_000);
    results.timings.liveAfterSuiteStartSeconds = Math.round((Date.now() - started) / 1000);
    // Every phase change is an Event: their order is the path the LiveEvent took.
    const events = await kubectlJson<{ items: { reason: string; message: string; firstTimestamp?: string; eventTime?: string }[] }>([
      "get", "events", "--field-selector", `involvedObject.kind=LiveEvent,involvedObject.name=${EVENT}`,
    ]);
    const phases = phasePath(events.items);
    expect(phases[0]).toBe("Pending");
    expect(phases.at(-1)).toBe("Live");
    expect(phases.filter((p) => !["Pending", "Ready", "Live"].includes(p))).toEqual([]);

    const table = await kubectl(["get", "le", EVENT]);
    expect(table).toMatch(/^NAME\s+PHASE\s+ACTIVE ORIGIN\s+INGEST\s+PLAYBACK/m);
    expect(table).toMatch(new RegExp(`^${EVENT}\\s+Live\\s+primary\\s+rtmp://\\S+/live/${STREAM}\\s+http\\S+/hls/${STREAM}/master.m3u8`, "m"));
    const described = await kubectl(["describe", "le", EVENT]);
    expect(described).toMatch(/Events:[\s\S]*phase \S+ → Live/);

    const primary = await originPod("primary");
    const backup = await originPod("backup");
    expect(isReady(primary) && isReady(backup)).toBe(true);
    expect(primary!.spec.nodeName).not.toBe(backup!.spec.nodeName);
  }, 660_000);

  test("publishing needs the generated key: without it, or to another stream name, the origin pod refuses and says why; with it the origin only finds the stream taken", async () => {
    const dir = await tempDir("kind-publish");
    try {
      const clip = await makeTestClip(dir, { seconds: 2, gopSeconds: 1 });
      // kind maps 127.0.0.1:1935 to the primary's RTMP node port, as an encoder outside the cluster reaches it.
      const ingest = "rtmp://127.0.0.1:1935/live";
      const status = (await liveEvent()).status;
      expect(status?.ingest?.publishKeySecret).toBe(`${EVENT}-publish-key/keys`);
      const line = Buffer.from(await kubectl(["get", "secret", `${EVENT}-publish-key`, "-o", "jsonpath={.data.keys}"]), "base64").toString().trim();
      expect(line).toMatch(new RegExp(`^${STREAM}=[A-Za-z0-9_-]{32}$`));
      const key = line.slice(STREAM.length + 1);
      // The key is in no pod spec and no status: only the Secret holds it.
      expect(JSON.stringify(await pods(`live360.io/event=${EVENT}`))).not.toContain(key);
      expect(JSON.stringify(await liveEvent())).not.toContain(key);
      const refusal = async (url: string): Promise<string> => {
        const attempt = await publishFile(clip, url);
        expect(await attempt.exited).not.toBe(0);
        return attempt.stderr();
      };
      expect(await refusal(`${ingest}/${STREAM}`)).toContain("this stream requires ?key=<secret> in the publish URL");
      expect(await refusal(`${ingest}/${STREAM}?key=${"x".repeat(key.length)}`)).toContain("the publish key is wrong");
      expect(await refusal(`${ingest}/other-stream?key=${key}`)).toContain("this origin takes only the streams it was started for");
      // The right key gets past every check but the last: the test source has the stream.
      expect(await refusal(`${ingest}/${STREAM}?key=${key}`)).toContain("another publisher is live on this stream");
      expect((await liveEvent()).status?.phase).toBe("Live");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  test("the player in headless Chromium plays the stream through the edge Service for 30 s, not black; Prometheus has its viewer metrics", async () => {
    page = await browser.newPage();
    const beacons: { startupMs?: number; playedMs: number }[] = [];
    page.on("request", (request) => {
      if (new URL(request.url()).pathname === "/insight/beacon") beacons.push(JSON.parse(request.postData() ?? "{}") as { startupMs?: number; playedMs: number });
    });
    await page.goto(`${EDGE_URL}/player/?url=/hls/${STREAM}/master.m3u8`);
    const samples = await waitForPlayback(page, 30, 180_000);
    expect(samples.at(-1)! - samples[0]!).toBeGreaterThanOrEqual(30);
    await screenshot(page, "kind-live");
    expect(await litShare(page)).toBeGreaterThan(0.2);
    expect((await snapshot(page)).state).toBe("playing");

    // What the player reported in its beacons, as the in-cluster Prometheus scraped it from the
    // edge pods' insight sidecars (summed over the pods: each beacon reached one of them).
    const startupMs = beacons.find((b) => b.startupMs !== undefined)?.startupMs;
    expect(startupMs).toBeGreaterThan(0);
    const reportedPlayedSeconds = beacons.reduce((sum, b) => sum + b.playedMs, 0) / 1000;
    expect(reportedPlayedSeconds).toBeGreaterThan(10);
    const scraped = await waitFor(
      "Prometheus to have scraped the viewer's beacons",
      async () => {
        const [viewers, startups, startupSeconds, playedSeconds] = await Promise.all(
          ["live360_edge_viewers", "live360_edge_viewer_startup_seconds_count", "live360_edge_viewer_startup_seconds_sum", "live360_edge_viewer_played_seconds_total"].map((metric) =>
            prometheusValue(`sum(${metric}{namespace="${NAMESPACE}",event="${EVENT}",stream="${STREAM}"})`),
          ),
        );
        return startups === 1 && playedSeconds !== undefined && playedSeconds >= reportedPlayedSeconds ? { viewers, startupSeconds, playedSeconds } : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 2000 },
    );
    expect(scraped.viewers).toBeGreaterThanOrEqual(1);
    expect(scraped.startupSeconds).toBeCloseTo(startupMs! / 1000, 2);
    await page.close();
  }, 300_000);

  /** One number from the in-cluster Prometheus (manifests/prometheus.yaml), through the API server's service proxy; undefined while it has none. */
  async function prometheusValue(query: string): Promise<number | undefined> {
    const text = await kubectl(["get", "--raw", `/api/v1/namespaces/${NAMESPACE}/services/prometheus:9090/proxy/api/v1/query?query=${encodeURIComponent(query)}`]);
    const value = (JSON.parse(text) as { data?: { result?: { value: [number, string] }[] } }).data?.result?.[0]?.value[1];
    return value === undefined ? undefined : Number(value);
  }

  /**
   * What the edge answered with other than success since `sinceMs`, beside what the client saw
   * (`clientSaw`, one line: the player's errors, or failed answers; test-artifacts/kind/<label>-edge.log,
   * the first lines also printed): which origin failed how is in the edge's access log, not in the client.
   */
  async function saveEdgeErrors(label: string, sinceMs: number, clientSaw: string): Promise<void> {
    const since = `${Math.ceil((Date.now() - sinceMs) / 1000) + 5}s`;
    const log = await kubectl(["logs", "-l", `live360.io/event=${EVENT},app.kubernetes.io/component=edge`, "--prefix", "--tail=-1", `--since=${since}`]).catch((error: Error) => error.message);
    const failures = log.split("\n").filter((line) => /" (?!200 |204 |206 |304 )\d{3} /.test(line) || / (error|warn) /i.test(line));
    const report = [clientSaw, `edge lines other than success since ${since} ago: ${failures.length}`, ...failures].join("\n");
    await mkdir(ARTIFACTS, { recursive: true });
    await writeFile(path.join(ARTIFACTS, `${label}-edge.log`), `${report}\n\n${log}`);
    process.stderr.write(`${label}:\n${report.split("\n").slice(0, 40).join("\n")}\n`);
  }

  /**
   * What the origins and the encoder did during a drill (test-artifacts/kind/<label>-origins.log):
   * the origins' playlists sampled each second, then their logs and the test source's since `sinceMs`.
   */
  async function saveDrillLogs(label: string, sinceMs: number, playlists: string): Promise<void> {
    const since = `${Math.ceil((Date.now() - sinceMs) / 1000) + 5}s`;
    // Pod by pod: one pod not started yet (a restarting primary) fails a label-selected `kubectl logs` whole.
    const watched = [...(await pods(`live360.io/event=${EVENT},app.kubernetes.io/component=origin`)), ...(await pods(`live360.io/event=${EVENT},app.kubernetes.io/component=test-source`))];
    const logs = await Promise.all(
      watched.map((pod) => kubectl(["logs", pod.metadata.name, "--prefix", "--all-containers", "--tail=-1", `--since=${since}`]).catch((error: Error) => error.message)),
    );
    await writeFile(path.join(ARTIFACTS, `${label}-origins.log`), [playlists, ...logs].join("\n\n"));
  }

  /**
   * A new viewer on the edge, playing, with the stall meter installed, and the sphere no longer
   * drawn: the drills measure the video element, and Chromium drawing the scene in software at
   * 60 fps took 0.5–0.8 of this machine's two cores, which the cluster under test shares (a real
   * viewer's device does not). `drawing(viewer, true)` draws again, for a screenshot.
   */
  async function newViewer(): Promise<Page> {
    const viewer = await browser.newPage();
    await viewer.goto(`${EDGE_URL}/player/?url=/hls/${STREAM}/master.m3u8`);
    await waitForPlayback(viewer, 4, 180_000);
    await watchPlayback(viewer);
    await drawing(viewer, false);
    return viewer;
  }

  /** Starts or stops A-Frame's render loop (three.js's animation loop; `render` is bound to the scene). */
  async function drawing(viewer: Page, on: boolean): Promise<void> {
    await viewer.evaluate((draw) => {
      const scene = document.querySelector("a-scene") as (Element & { renderer: { setAnimationLoop(loop: (() => void) | null): void }; render: () => void }) | null;
      scene?.renderer.setAnimationLoop(draw ? scene.render : null);
    }, on);
  }

  /**
   * One failover drill with a viewer watching: `breakPrimary` takes the primary away, the
   * LiveEvent must say Degraded / backup, and the video must keep going past what was buffered
   * with a stall of at most 2 s and no player error. After `restore` the event must be Live on the
   * primary again and a new viewer must play. The first viewer must also keep playing, without a
   * fatal error, through the switch back to the primary, within the same 2 s stall bound
   * (each stall is reported in bench/results/kind.md).
   */
  async function drill(name: string, breakPrimary: (primary: Pod) => Promise<void>, restore: (primary: Pod) => Promise<void>): Promise<void> {
    // A drill that failed before its primary came back leaves it restarting: wait, rather than
    // failing every drill after it for the first one's reason.
    const primary = await waitFor("the primary origin ready before the drill", async () => {
      const pod = await originPod("primary");
      return pod && isReady(pod) ? pod : undefined;
    }, { timeoutMs: 420_000, intervalMs: 2000 });
    const viewer = await newViewer();
    const edgePods = async (): Promise<Set<string>> => new Set((await pods(`live360.io/event=${EVENT},app.kubernetes.io/component=edge`)).map((p) => p.metadata.name!));
    const edgesBefore = await edgePods();
    const drillStartedAt = Date.now();
    const origins = watchOrigins(proxyUrl);
    // The drill's moments and the viewer's stalls on the wall clock, to read beside the origins' samples.
    const pageOrigin = await viewer.evaluate(() => performance.timeOrigin);
    const moments: string[] = [];
    const moment = (what: string, atMs = Date.now()): number => moments.push(`${new Date(atMs).toISOString()} ${what}`);
    const stallNote = (watch: PlaybackWatch): string => `longest stall ${Math.round(watch.longestStallMs)} ms, ended ${new Date(pageOrigin + watch.stallEndedAt).toISOString()}`;
    try {
      const brokenAt = Date.now();
      const { currentTime } = await snapshot(viewer);
      let failover: PlaybackWatch;
      let restoredAt = 0;
      try {
        moment("breaking the primary");
        await breakPrimary(primary);
        // The status a user sees while the primary is away: Degraded, served from the backup —
        // seen in the status itself, or in the Events the operator wrote for it (a primary that
        // comes back within a poll interval leaves only those).
        await waitFor(`${name}: the LiveEvent Degraded and serving from the backup`, async () => {
          const status = (await liveEvent()).status;
          if (status?.activeOrigin === "backup" && status.phase === "Degraded" && status.conditions?.some((c) => c.type === "Degraded" && c.status === "True")) return true;
          const reasons = await eventReasonsSince(brokenAt);
          return reasons.includes("FailedOver") && reasons.includes("Degraded");
        }, { timeoutMs: 180_000, intervalMs: 500 });
        const failoverSeconds = (Date.now() - brokenAt) / 1000;
        await waitFor(`${name}: ${PAST_BUFFER_SECONDS} s of playback after the break`, async () => (await snapshot(viewer)).currentTime >= currentTime + PAST_BUFFER_SECONDS, {
          timeoutMs: 120_000,
          intervalMs: 500,
        });
        failover = await readWatch(viewer);
        moment(`failover measured: ${stallNote(failover)}`);
        if (failover.errors.length > 0) await saveEdgeErrors(`failover-${name}`, brokenAt, `player errors: ${JSON.stringify(failover.errors)}`);
        await drawing(viewer, true);
        await new Promise((resolve) => setTimeout(resolve, 500));
        await screenshot(viewer, `kind-drill-${name}`);
        await drawing(viewer, false);
        const edgesAfter = await edgePods();
        const edgePodsChanged = [...edgesAfter].filter((n) => !edgesBefore.has(n)).length + [...edgesBefore].filter((n) => !edgesAfter.has(n)).length;
        results.drills.push({ drill: name, stallMs: Math.round(failover.longestStallMs), failoverSeconds, recoverSeconds: 0, hlsErrors: failover.errors.length, failBack: "not measured", edgePodsChanged });
      } finally {
        // Whatever failed, the next drill starts from a whole cluster.
        restoredAt = Date.now();
        moment("restoring the primary");
        await restore(primary);
      }
      expect(failover.errors.filter((e) => e.fatal)).toEqual([]);
      expect(failover.states.map((s) => s.state).filter((s) => s !== "playing" && s !== "buffering")).toEqual([]);
      expect(failover.samples).toBeGreaterThan(100);
      expect(failover.longestStallMs).toBeLessThanOrEqual(STALL_LIMIT_MS);

      await resetWatch(viewer);
      await waitForLive(`${name}: the LiveEvent Live on its primary again`, 420_000);
      const result = results.drills.at(-1)!;
      result.recoverSeconds = Math.round((Date.now() - restoredAt) / 1000);
      const { currentTime: atRecovery } = await snapshot(viewer);
      const keptPlaying = await waitFor(`${name}: playback after failing back`, async () => (await snapshot(viewer)).currentTime >= atRecovery + PAST_BUFFER_SECONDS, {
        timeoutMs: 60_000,
        intervalMs: 500,
      }).then(() => true, () => false);
      const failBack = await readWatch(viewer);
      moment(`fail-back measured: ${stallNote(failBack)}`);
      if (failBack.errors.length > 0) await saveEdgeErrors(`failback-${name}`, restoredAt, `player errors: ${JSON.stringify(failBack.errors)}`);
      result.failBack = keptPlaying ? `kept playing, stall ${Math.round(failBack.longestStallMs)} ms` : `stopped (${failBack.errors.map((e) => e.details).join(", ") || "no hls.js error"})`;
      // The viewer survives the switch back to the restarted primary without a fatal error or a
      // reload, within FAIL_BACK_STALL_LIMIT_MS (the one 5 s stall of session 5 came before the
      // origin's keep-alive outlived the edge's and before draining playlists were 503).
      expect(result.failBack).toMatch(/^kept playing/);
      expect(failBack.errors.filter((e) => e.fatal)).toEqual([]);
      expect(failBack.longestStallMs).toBeLessThanOrEqual(FAIL_BACK_STALL_LIMIT_MS);
      expect(failBack.hlsReplaced).toBe(false);
    } finally {
      await saveDrillLogs(`drill-${name}`, drillStartedAt, [...moments, await origins.stop()].join("\n")).catch(() => undefined);
      await viewer.close();
    }
    // Whatever the first viewer saw, someone opening the player now is served.
    const next = await newViewer();
    await next.close();
  }

  test("drill: kubectl drain of the primary origin's node", async () => {
    await drill(
      "drain",
      (primary) => drain(primary.spec.nodeName!),
      (primary) => kubectl(["uncordon", primary.spec.nodeName!]).then(() => undefined),
    );
  }, 900_000);

  test("drill: a Spot interruption as the Node Termination Handler performs it (taint, then evict)", async () => {
    await drill(
      "spot-interruption",
      async (primary) => {
        const node = primary.spec.nodeName!;
        await kubectl(["taint", "node", node, `${SPOT_ITN_TAINT}=true:NoSchedule`]);
        // The handler evicts every pod that is not a DaemonSet's (PDBs are honoured: retried while
        // refused), except here the test source, which stands in for an encoder outside the cluster.
        const onNode = (await pods(`live360.io/event=${EVENT},${NOT_THE_ENCODER}`)).filter((p) => p.spec.nodeName === node);
        for (const pod of onNode) {
          await waitFor(`eviction of ${pod.metadata.name}`, () => evict(pod.metadata.name).then(() => true), { timeoutMs: 120_000, intervalMs: 2000 });
        }
      },
      (primary) => kubectl(["taint", "node", primary.spec.nodeName!, `${SPOT_ITN_TAINT}-`]).then(() => undefined),
    );
  }, 900_000);

  test("drill: the primary origin's container killed outright", async () => {
    await drill(
      "container-kill",
      (primary) => killContainer(primary, "origin"),
      // The kubelet restarts it in place; nothing to undo.
      async () => undefined,
    );
  }, 900_000);

  test("the edge scales out under load (metrics-server + HPA), and its PDB keeps it serving through a drain", async () => {
    const hpaName = `${EVENT}-edge`;
    const before = await kubectlJson<{ status: { currentReplicas?: number }; spec: { minReplicas: number } }>(["get", "hpa", hpaName]);
    const playlist = `${EDGE_URL}/hls/${STREAM}/master.m3u8`;
    // Bounded load from this machine's loopback only: the kind port mapping of the edge Service.
    const restartsBefore = await originRestarts();
    const loadStartedAt = Date.now();
    const load = cleanup.add(startProcess("wrk", ["-t", "2", "-c", "64", "-d", "240s", playlist]), (p) => p.stop());
    const scaledAt = await waitFor("the edge HPA to add replicas", async () => {
      const hpa = await kubectlJson<{ status: { desiredReplicas?: number } }>(["get", "hpa", hpaName]);
      return (hpa.status.desiredReplicas ?? 0) > before.spec.minReplicas ? Date.now() : undefined;
    }, { timeoutMs: 240_000, intervalMs: 5000 });
    await load.stop();
    results.timings.edgeScaleOutSeconds = Math.round((scaledAt - loadStartedAt) / 1000);
    // What the load did to the origins (on 2 shared cores the encoders, transcoders and wrk compete):
    // recorded, and the drain below starts from an event Live on its primary, since it tests the
    // edge's budget, not an origin failover (the drills do that).
    results.timings.originRestartsDuringLoad = (await originRestarts()) - restartsBefore;
    const settleStartedAt = Date.now();
    await waitForLive("the LiveEvent Live on its primary after the load", 300_000);
    results.timings.liveOnPrimaryAfterLoadSeconds = Math.round((Date.now() - settleStartedAt) / 1000);

    // Drain the node of the backup origin (the primary keeps serving) that runs an edge pod.
    const edges = await pods(`live360.io/event=${EVENT},app.kubernetes.io/component=edge`);
    const backupNode = (await originPod("backup"))!.spec.nodeName!;
    expect(edges.some((p) => p.spec.nodeName === backupNode)).toBe(true);
    let requests = 0;
    const failures: string[] = [];
    let draining = true;
    const drainStartedAt = Date.now();
    const prober = (async () => {
      const fetchOnce = () => getText(playlist).catch((err: Error) => ({ status: 0, body: err.message }));
      while (draining) {
        // A connection to an edge pod that has just exited fails once; a player retries it (hls.js
        // does), so one retry is allowed for a network error. An HTTP error is never retried.
        let answer = await fetchOnce();
        if (answer.status === 0) answer = await fetchOnce();
        requests += 1;
        if (answer.status !== 200) failures.push(`${answer.status} ${answer.body.slice(0, 80)}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    try {
      await drain(backupNode);
    } finally {
      draining = false;
      await prober;
      await kubectl(["uncordon", backupNode]);
    }
    expect(requests).toBeGreaterThan(20);
    // Which origin failed how: the edges' access logs and the origins' (test-artifacts/kind/edge-drain-*.log).
    if (failures.length > 0) {
      await saveEdgeErrors("edge-drain", drainStartedAt, `failed answers: ${failures.length} of ${requests}, first: ${failures[0]!.slice(0, 80)}`);
      await saveDrillLogs("edge-drain", drainStartedAt, `${failures.length} of ${requests} answers failed`);
    }
    expect(failures).toEqual([]);
    await waitFor("the backup origin to be ready again", async () => isReady(await originPod("backup")), { timeoutMs: 300_000, intervalMs: 2000 });
  }, 900_000);

  test("the operator's leader pod deleted: the other replica takes over within the lease; nothing duplicated, nothing flaps", async () => {
    const lease = async () => (await kubectlJson<{ spec: { holderIdentity?: string; leaseDurationSeconds: number } }>(["get", "lease", "live360-operator"])).spec;
    const children = async () => {
      const list = await kubectlJson<{ items: { kind: string; metadata: { name: string } }[] }>([
        "get", "statefulsets,deployments,services,hpa,pdb,configmaps", "-l", `live360.io/event=${EVENT}`,
      ]);
      return list.items.map((i) => `${i.kind}/${i.metadata.name}`).sort();
    };
    // Measured from a steady event: whatever an earlier test left settling is not the takeover's doing.
    await waitForLive("the LiveEvent Live on its primary before the takeover", 300_000);
    const before = await lease();
    const childrenBefore = await children();
    const leader = before.holderIdentity!;
    expect(leader).toBeTruthy();
    const phases = new Set<string>();
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        phases.add((await phase()) ?? "none");
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    })();
    const deletedAt = Date.now();
    await kubectl(["delete", "pod", leader.split("_")[0]!, "--wait=false"]);
    const newLeader = await waitFor("another operator replica to hold the lease", async () => {
      const now = await lease();
      return now.holderIdentity && now.holderIdentity !== leader ? now.holderIdentity : undefined;
    }, { timeoutMs: (before.leaseDurationSeconds + 30) * 1000, intervalMs: 500 });
    const takeoverSeconds = (Date.now() - deletedAt) / 1000;
    results.timings.leaderTakeoverSeconds = Math.round(takeoverSeconds * 10) / 10;
    // Give the new leader time to reconcile everything once.
    await new Promise((resolve) => setTimeout(resolve, 20_000));
    sampling = false;
    await sampler;
    expect(newLeader).not.toBe(leader);
    expect(takeoverSeconds).toBeLessThanOrEqual(before.leaseDurationSeconds + 10);
    expect(await children()).toEqual(childrenBefore);
    expect([...phases]).toEqual(["Live"]);
  }, 300_000);

  test("helm upgrade with a changed operator value does not restart the live event's origins", async () => {
    const identity = async () => (await pods(`live360.io/event=${EVENT},live360.io/origin-role`)).map((p) => `${p.metadata.name}:${p.metadata.uid}:${p.status.containerStatuses?.[0]?.restartCount}`).sort();
    const before = await identity();
    const chart = path.join(root, "charts/live360-operator");
    await helm(["upgrade", "live360-operator", chart, "-n", NAMESPACE, "--reuse-values", "--set", "resources.requests.cpu=110m", "--wait", "--timeout", "240s"]);
    await kubectl(["rollout", "status", "deployment/live360-operator", "--timeout=240s"], { timeoutMs: 250_000 });
    // The new operator pods reconcile the event; a changed child template would roll the origins now.
    await new Promise((resolve) => setTimeout(resolve, 30_000));
    expect(await identity()).toEqual(before);
    expect(await phase()).toBe("Live");
  }, 400_000);

  test("security and resource settings hold on a real kubelet: read-only roots, non-root, sized emptyDirs, probes, preStop, grace", async () => {
    const all = await pods(`live360.io/event=${EVENT}`);
    expect(all.length).toBeGreaterThanOrEqual(5);
    for (const pod of all) {
      const where = pod.metadata.name;
      expect([where, pod.status.phase]).toEqual([where, "Running"]);
      expect([where, isReady(pod)]).toEqual([where, true]);
      const podNonRoot = pod.spec.securityContext?.runAsNonRoot === true;
      for (const container of pod.spec.containers) {
        expect([where, container.name, container.securityContext?.readOnlyRootFilesystem]).toEqual([where, container.name, true]);
        expect([where, container.name, podNonRoot || container.securityContext?.runAsNonRoot === true]).toEqual([where, container.name, true]);
        expect([where, container.name, container.securityContext?.allowPrivilegeEscalation]).toEqual([where, container.name, false]);
      }
      for (const volume of pod.spec.volumes ?? []) if (volume.emptyDir) expect([where, volume.name, volume.emptyDir.sizeLimit]).toEqual([where, volume.name, expect.any(String)]);
    }
    for (const pod of all.filter((p) => p.metadata.labels?.["live360.io/origin-role"] || p.metadata.labels?.["app.kubernetes.io/component"] === "edge")) {
      const container = pod.spec.containers[0]!;
      expect([pod.metadata.name, Boolean(container.readinessProbe && container.livenessProbe && container.lifecycle?.preStop)]).toEqual([pod.metadata.name, true]);
      expect(pod.spec.terminationGracePeriodSeconds).toBeGreaterThan(0);
    }
    // The processes really are the unprivileged users the images declare.
    const primary = (await originPod("primary"))!;
    expect((await kubectl(["exec", primary.metadata.name, "-c", "origin", "--", "id", "-u"])).trim()).toBe("1000");
    const write = await kubectl(["exec", primary.metadata.name, "-c", "origin", "--", "sh", "-c", "touch /usr/x 2>&1 || true"]);
    expect(write).toMatch(/Read-only file system/);
  }, 120_000);

  test("the stream ends: the recording becomes a VodJob that succeeds, and the VOD asset plays in the player", async () => {
    type VodJobList = { items: { metadata: { name: string }; status?: { phase?: string; masterPlaylistUrl?: string } }[] };
    // Every origin restart in the drills ended a recording too; those VodJobs are not this one.
    const earlier = new Set((await kubectlJson<VodJobList>(["get", "vodjobs"])).items.map((j) => j.metadata.name));
    const endedAt = Date.now();
    await kubectl(["patch", "liveevent", EVENT, "--type", "merge", "-p", JSON.stringify({ spec: { testSource: { enabled: false } } })]);
    const job = await waitFor("the ended stream's VodJob to succeed", async () => {
      const fresh = (await kubectlJson<VodJobList>(["get", "vodjobs"])).items.filter((j) => !earlier.has(j.metadata.name));
      const failed = fresh.find((j) => j.status?.phase === "Failed");
      if (failed) throw new Error(`VodJob ${failed.metadata.name} failed`);
      return fresh.find((j) => j.status?.phase === "Succeeded");
    }, { timeoutMs: 900_000, intervalMs: 5000 });
    results.timings.streamEndToVodSucceededSeconds = Math.round((Date.now() - endedAt) / 1000);
    const jobPods = await pods(`job-name`);
    expect(jobPods.some((p) => p.metadata.ownerReferences?.some((o) => o.kind === "Job"))).toBe(true);

    const master = job.status!.masterPlaylistUrl!;
    const match = /^s3:\/\/([^/]+)\/(.+\/)master\.m3u8$/.exec(master);
    expect(match).not.toBeNull();
    const [, bucket, prefix] = match!;
    // The in-cluster S3 stand-in, reached the way a user would: a port-forward.
    const port = await freePort();
    const forward = cleanup.add(startProcess("kubectl", ["--context", `kind-${CLUSTER}`, "-n", NAMESPACE, "port-forward", "svc/s3", `${port}:7070`]), (p) => p.stop());
    await forward.waitForOutput(/Forwarding from/, 30_000);
    const keys = await kubectlJson<{ data: Record<string, string> }>(["get", "secret", "live360-aws-credentials"]);
    const decode = (k: string): string => Buffer.from(keys.data[k]!, "base64").toString("utf8");
    const storage = new S3Storage({
      endpoint: `http://127.0.0.1:${port}`,
      region: decode("AWS_REGION"),
      credentials: { accessKeyId: decode("AWS_ACCESS_KEY_ID"), secretAccessKey: decode("AWS_SECRET_ACCESS_KEY") },
    });
    const asset = await inspectVodAsset(storage, bucket!, prefix!);
    expect(asset.variants.length).toBeGreaterThanOrEqual(1);
    expect(asset.variants.every((v) => v.ended && v.totalSeconds > 10)).toBe(true);

    // The asset, downloaded as is, served to the player.
    const local = path.join(ARTIFACTS, "vod");
    for (const key of await listKeys(storage, bucket!, prefix!)) {
      const file = path.join(local, key.slice(prefix!.length));
      await mkdir(path.dirname(file), { recursive: true });
      await storage.getToFile(bucket!, key, file);
    }
    const server = cleanup.add(await startStaticServer([{ prefix: "/player/", dir: PLAYER_DIST }, { prefix: "/vod/", dir: local }]), (s) => s.close());
    const vodPage = await browser.newPage();
    await vodPage.goto(`${server.origin}/player/?url=/vod/master.m3u8`);
    await waitForPlayback(vodPage, 5, 120_000);
    expect(await litShare(vodPage)).toBeGreaterThan(0.2);
    await screenshot(vodPage, "kind-vod");
    // The edges serve the (clear) asset from the bucket too (--vod-egress-origin).
    const asEdge = await getText(`${EDGE_URL}/${prefix}master.m3u8`);
    expect(asEdge.status).toBe(200);
    expect(asEdge.body).toContain("#EXT-X-STREAM-INF");

    // Encrypted VOD on real pods. The event gains signed playback and HLS encryption: its edges roll
    // with the HLS secret mounted for nginx's group (0440). A VodJob made by hand encrypts the same
    // recording again: the worker pod reads its 0440 secret through fsGroup. Then the edge hands a
    // signed link the asset's keys, derived from the same secret, and refuses an unsigned one.
    const hlsSecret = randomBytes(24).toString("hex");
    const signing = { id: "k1", secret: randomBytes(24).toString("hex") };
    await kubectl(["create", "secret", "generic", `${EVENT}-hls`, `--from-literal=secret=${hlsSecret}`]);
    await kubectl(["create", "secret", "generic", `${EVENT}-signing`, `--from-literal=keys=${signing.id}=${signing.secret}`]);
    await kubectl(["patch", "liveevent", EVENT, "--type", "merge", "-p", JSON.stringify({
      spec: { playback: { signing: { secretRef: { name: `${EVENT}-signing` } } }, hls: { encryption: { secretRef: { name: `${EVENT}-hls` }, rotationSegments: 2 } } },
    })]);
    const queueMade = await kubectlJson<{ spec: Record<string, unknown> }>(["get", "vodjob", job.metadata.name]);
    const encryptedJob = { apiVersion: "live360.io/v1alpha1", kind: "VodJob", metadata: { name: "vod-encrypted", namespace: NAMESPACE }, spec: { ...queueMade.spec, hls: { encryption: { secretRef: { name: `${EVENT}-hls` }, rotationSegments: 2 } } } };
    await kubectl(["apply", "-f", "-"], { input: JSON.stringify(encryptedJob) });
    await waitFor("the encrypting VodJob to succeed", async () => {
      const phase = (await kubectlJson<{ status?: { phase?: string } }>(["get", "vodjob", "vod-encrypted"])).status?.phase;
      if (phase === "Failed") throw new Error("VodJob vod-encrypted failed");
      return phase === "Succeeded";
    }, { timeoutMs: 600_000, intervalMs: 5000 });
    const encrypted = await inspectVodAsset(storage, bucket!, prefix!, { secret: hlsSecret });
    expect(encrypted.manifest.encryption).toMatchObject({ method: "AES-128", rotationSegments: 2 });
    expect(encrypted.variants.every((v) => v.keyPeriods.length >= 1)).toBe(true);

    await kubectl(["rollout", "status", `deployment/${EVENT}-edge`, "--timeout=300s"], { timeoutMs: 320_000 });
    const assetPath = prefix!.replace(/^vod\//, "").replace(/\/$/, "");
    const link = signedPrefix(signing, { asset: assetPath }, Math.floor(Date.now() / 1000) + 600);
    // A rolled edge answers once it is ready; the Service may still hold an old pod for a moment.
    const key = await waitFor("the asset's first key from a signed link at the edge", async () => {
      const res = await fetch(`${EDGE_URL}${link}keys/0.key`, { signal: AbortSignal.timeout(5000) });
      return res.status === 200 ? Buffer.from(await res.arrayBuffer()) : undefined;
    }, { timeoutMs: 120_000, intervalMs: 2000 });
    expect(key.equals(periodKey(hlsSecret, `vod/${assetPath}`, 0))).toBe(true);
    expect((await getText(`${EDGE_URL}${link}master.m3u8`)).status).toBe(200);
    expect((await getText(`${EDGE_URL}/${prefix}keys/0.key`)).status).toBe(403);
    expect((await getText(`${EDGE_URL}/${prefix}master.m3u8`)).status).toBe(403);
  }, 1_800_000);

  test("an LL-HLS event (hls.format: cmaf) on real pods: Live; its edge's sidecar runs the relay; a viewer following the hints through the edge Service gets every blocking reload and part; the player plays it", async () => {
    const name = "ll";
    const small = { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "512Mi" } };
    const event = {
      apiVersion: "live360.io/v1alpha1",
      kind: "LiveEvent",
      metadata: { name, namespace: NAMESPACE },
      spec: {
        streamName: name,
        ladder: { renditions: [{ passthrough: true }] },
        hls: { format: "cmaf" },
        origin: { redundancy: "single", resources: small },
        edge: { minReplicas: 1, maxReplicas: 1, resources: small },
        testSource: { enabled: true, size: "640x320", bitrateKbps: 800 },
      },
    };
    await kubectl(["apply", "-f", "-"], { input: JSON.stringify(event) });
    // Its recording's hand-off is not waited for: the cluster goes after the suite.
    cleanup.add(null, () => kubectl(["delete", "liveevent", name, "--wait=false"]));
    const liveAt = Date.now();
    await waitFor("the LL-HLS event to be Live", async () => (await kubectlJson<{ status?: { phase?: string } }>(["get", "liveevent", name])).status?.phase === "Live", {
      timeoutMs: 400_000,
      intervalMs: 3000,
    });
    results.timings.llHlsEventLiveSeconds = Math.round((Date.now() - liveAt) / 1000);
    const [edgePod] = await pods(`live360.io/event=${name},app.kubernetes.io/component=edge`);
    expect(edgePod?.spec.containers.find((c) => c.name === "metrics")?.args).toEqual(expect.arrayContaining(["--ll-hls-relay-port", "--blocking-read-timeout"]));

    // Through the edge Service (kubectl proxy): the hinted part and the blocking reload for it, in
    // parallel, as hls.js asks them. The relay names the origin that answered a reload ("primary");
    // nginx alone would name an address.
    const base = `${proxyUrl}/api/v1/namespaces/${NAMESPACE}/services/${name}-edge:80/proxy`;
    const variant = `${base}/hls/${name}/source`;
    const hintOf = (playlist: string): { uri: string; msn: number; part: number } => {
      const uri = /#EXT-X-PRELOAD-HINT:TYPE=PART,URI="([^"]+)"/.exec(playlist)?.[1];
      const match = uri === undefined ? null : /^seg_(\d+)\.(\d+)\.m4s$/.exec(uri);
      if (!match) throw new Error(`no part hint in ${playlist}`);
      return { uri: uri!, msn: Number(match[1]), part: Number(match[2]) };
    };
    let playlist = await waitFor("the edge's LL-HLS playlist", async () => {
      const res = await getText(`${variant}/index.m3u8`);
      return res.status === 200 && res.body.includes("#EXT-X-PRELOAD-HINT") ? res.body : undefined;
    }, { timeoutMs: 60_000, intervalMs: 1000 });
    expect(playlist).toMatch(/#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=/);
    const statuses: number[] = [];
    const servedBy = new Set<string | null>();
    let parts = 0;
    const end = Date.now() + 10_000;
    while (Date.now() < end) {
      const hint = hintOf(playlist);
      const [reload, part] = await Promise.all([
        fetch(`${variant}/index.m3u8?_HLS_msn=${hint.msn}&_HLS_part=${hint.part}`, { signal: AbortSignal.timeout(10_000) }),
        fetch(`${variant}/${hint.uri}`, { signal: AbortSignal.timeout(10_000) }),
      ]);
      statuses.push(reload.status, part.status);
      servedBy.add(reload.headers.get("x-served-by"));
      if (part.status === 200 && (await part.arrayBuffer()).byteLength > 0) parts += 1;
      if (reload.status === 200) playlist = await reload.text();
    }
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    // 0.33 s parts: about 30 in 10 s; the API server's proxy adds its own round trips.
    expect(parts).toBeGreaterThan(10);
    expect(servedBy.has("primary")).toBe(true);

    const viewer = await browser.newPage();
    await viewer.goto(`${base}/player/?url=../hls/${name}/master.m3u8`);
    await waitForPlayback(viewer, 5, 120_000);
    expect(await litShare(viewer)).toBeGreaterThan(0.2);
    await viewer.close();
  }, 900_000);
});
