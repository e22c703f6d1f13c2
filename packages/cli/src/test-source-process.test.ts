/**
 * `live360 test-source` as a real process: its help, its answers to wrong flags, a real
 * publish into a real `live360 origin` that ends by itself after --duration, and one encoder
 * feeding a primary and a backup origin (real processes, one killed and restarted).
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "@jest/globals";
import { readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { createLogger, probe } from "@live360/core";
import {
  Cleanup,
  LIVE360_CLI,
  freePort,
  getText,
  parseMediaPlaylist,
  startOriginProcess,
  startProcess,
  tempDir,
  waitFor,
  type ManagedProcess,
  type MediaPlaylist,
  type OriginProcess,
} from "@live360/testkit";
import { killRunningClis, runCli } from "./test-cli.js";

afterEach(killRunningClis);

describe("live360 test-source process", () => {
  test("--help documents every flag", async () => {
    const help = runCli(["test-source", "--help"]);
    expect((await help.exited).code).toBe(0);
    expect(help.output()).toMatch(/--url <rtmp-url>.*repeatable\s+\(up\s+to\s+4\)/s);
    for (const flag of ["--url <rtmp-url>", "--size <WxH>", "--fps <n>", "--bitrate <rate>", "--keyframe-interval <seconds>", "--duration <seconds>", "--font <file>"]) {
      expect(help.output()).toContain(flag);
    }
    expect(help.output()).toMatch(/--size <WxH>.*\(default:\s+"1920x960"\)/s);
  });

  test.each([
    [["--size", "1280x720"], /invalid configuration: size \(--size\)="1280x720": use a 2:1 equirectangular size/],
    [["--size", "big"], /invalid configuration: size \(--size\)="big": write the size as WIDTHxHEIGHT/],
    [["--bitrate", "fast"], /invalid configuration: videoBitrateKbps \(--bitrate\)="fast"/],
    [["--fps", "0"], /invalid configuration: fps \(--fps\)=0: use a number from 1 to 120/],
    [["--duration", "soon"], /invalid configuration: durationSeconds \(--duration\)="soon": use a number/],
  ])("refuses %p with the field, the value and the fix, and exit code 2", async (flags, message) => {
    const proc = runCli(["test-source", "--url", "rtmp://127.0.0.1:1935/live/test", ...flags]);
    expect((await proc.exited).code).toBe(2);
    expect(proc.output()).toMatch(message);
  });

  test("refuses a non-RTMP URL, and a missing --url", async () => {
    const http = runCli(["test-source", "--url", "http://127.0.0.1/live/test"]);
    expect((await http.exited).code).toBe(2);
    expect(http.output()).toMatch(/invalid configuration: url \(--url\)="http:\/\/127.0.0.1\/live\/test": give an RTMP URL/);
    const missing = runCli(["test-source"]);
    expect((await missing.exited).code).not.toBe(0);
    expect(missing.output()).toMatch(/required option '--url <rtmp-url>' not specified/);
  });

  test("refuses the same --url twice, and more than 4", async () => {
    const url = "rtmp://127.0.0.1:1935/live/test";
    const twice = runCli(["test-source", "--url", url, "--url", url]);
    expect((await twice.exited).code).toBe(2);
    expect(twice.output()).toMatch(/invalid configuration: url \(--url\)="rtmp:\/\/127.0.0.1:1935\/live\/test": give each URL once/);
    const five = runCli(["test-source", ...[1, 2, 3, 4, 5].flatMap((n) => ["--url", `rtmp://origin-${n}:1935/live/test`])]);
    expect((await five.exited).code).toBe(2);
    expect(five.output()).toMatch(/invalid configuration: urls \(--url\)=\["rtmp:\/\/origin-1:1935\/live\/test",.*\]: give at most 4 URLs/);
  });

  test("publishes with its key into a live360 origin that takes only that stream with that key, which makes HLS of it, and exits 0 after --duration; the key is in no log and on no command line of either", async () => {
    const dir = await tempDir("test-source-cli");
    try {
      const [rtmpPort, httpPort] = [await freePort(), await freePort()];
      // As the operator mounts a LiveEvent's key Secret into both pods.
      const secret = "pattern-key-8f3a9c41d2e7b605";
      const keysFile = path.join(dir, "keys");
      await writeFile(keysFile, `pattern=${secret}\n`, { mode: 0o600 });
      const origin = runCli([
        "origin", "--rtmp-port", String(rtmpPort), "--http-port", String(httpPort), "--bind", "127.0.0.1",
        "--data-dir", path.join(dir, "data"), "--ladder", "source", "--allow-stream", "pattern", "--publish-keys-file", keysFile,
      ]);
      const http = `http://127.0.0.1:${httpPort}`;
      await waitFor("origin ready", async () => (await getText(`${http}/readyz`)).status === 200, { timeoutMs: 30_000 });

      const startedAt = Date.now();
      const source = runCli([
        "test-source", "--url", `rtmp://127.0.0.1:${rtmpPort}/live/pattern`, "--size", "320x160", "--fps", "15",
        "--bitrate", "300k", "--keyframe-interval", "1", "--duration", "5", "--publish-keys-file", keysFile,
      ]);
      for (const pid of [origin.child.pid, source.child.pid]) {
        expect(await readFile(`/proc/${pid}/cmdline`, "utf8")).not.toContain(secret);
      }
      await waitFor(
        "a segment of the test pattern",
        async () => (await getText(`${http}/hls/pattern/source/index.m3u8`)).body.includes(".ts"),
        { timeoutMs: 60_000 },
      );
      expect((await source.exited).code).toBe(0);
      expect(Date.now() - startedAt).toBeGreaterThan(4500);
      expect(source.output()).toMatch(/"msg":"test source stopped","reason":"duration"/);

      origin.child.kill("SIGTERM");
      expect((await origin.exited).code).toBe(0);
      expect(source.output()).not.toContain(secret);
      expect(origin.output()).not.toContain(secret);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 180_000);
});

const STREAM = "pattern";
const VARIANT = `/hls/${STREAM}/source/index.m3u8`;
const logger = createLogger("test-source-origins", { level: "warn" });

type Ports = { httpPort: number; rtmpPort: number };

async function freePorts(): Promise<Ports> {
  return { httpPort: await freePort(), rtmpPort: await freePort() };
}

function ingestUrl(ports: Ports): string {
  return `rtmp://127.0.0.1:${ports.rtmpPort}/live/${STREAM}`;
}

interface Poll {
  at: number;
  status: number;
  playlist: MediaPlaylist | undefined;
}

async function pollPlaylist(origin: OriginProcess): Promise<Poll> {
  const res = await getText(`${origin.http}${VARIANT}`).catch(() => undefined);
  const status = res?.status ?? 0;
  return { at: Date.now(), status, playlist: status === 200 ? parseMediaPlaylist(res!.body) : undefined };
}

interface StreamStat {
  state: string;
  publisher: { sessionId: string };
  video: { codec: string; width: number; height: number } | undefined;
}

async function streamStat(origin: OriginProcess): Promise<StreamStat | undefined> {
  const stat = JSON.parse((await getText(`${origin.http}/stat`)).body) as { streams: (StreamStat & { stream: string })[] };
  return stat.streams.find((s) => s.stream === STREAM);
}

/** Polls the origin's playlist every 250 ms until stop() is called. */
function watchPlaylist(origin: OriginProcess): { polls: Poll[]; stop: () => Promise<void> } {
  const polls: Poll[] = [];
  let watching = true;
  const loop = (async () => {
    while (watching) {
      polls.push(await pollPlaylist(origin));
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  })();
  return {
    polls,
    stop: () => {
      watching = false;
      return loop;
    },
  };
}

/** Until the origin's playlist lists a segment that began after `sinceMs` (by its program date-time). */
function waitForSegmentAfter(origin: OriginProcess, sinceMs: number): Promise<Poll> {
  return waitFor(
    `a segment on the ${origin.name} begun after ${new Date(sinceMs).toISOString()}`,
    async () => {
      const poll = await pollPlaylist(origin);
      return (poll.playlist?.programDateTimes.at(-1) ?? 0) > sinceMs && poll;
    },
    { timeoutMs: 90_000, intervalMs: 250 },
  );
}

/** The origin has the stream as the test source sends it: from the FLV sequence header on, and in its segments. */
async function expectTestPattern(origin: OriginProcess): Promise<void> {
  // The origin reads the video's codec and size from the FLV sequence header: an output that
  // connected late or reconnected carries one only because the codecs' headers are global.
  expect(await streamStat(origin)).toMatchObject({ state: "live", video: { codec: "h264", width: 320, height: 160 } });
  const { playlist } = await pollPlaylist(origin);
  const info = await probe(`${origin.http}/hls/${STREAM}/source/${playlist!.segments.at(-1)!}`);
  expect(info.streams.find((s) => s.codec_type === "video")).toMatchObject({ codec_name: "h264", width: 320, height: 160 });
  expect(info.streams.find((s) => s.codec_type === "audio")).toMatchObject({ codec_name: "aac" });
}

/** How often the test source logged that FFmpeg runs, and that it had to restart FFmpeg. */
function ffmpegRuns(source: ManagedProcess): { publishing: number; restarts: number } {
  const count = (pattern: RegExp): number => source.output().match(pattern)?.length ?? 0;
  return { publishing: count(/"msg":"publishing to each url while it is reachable"/g), restarts: count(/"msg":"(ffmpeg died|ffmpeg failed to start|restarting ffmpeg)"/g) };
}

describe("live360 test-source feeding a primary and a backup origin", () => {
  const cleanup = new Cleanup();
  let dir: string;
  let ports: { primary: Ports; backup: Ports };
  let primary: OriginProcess;
  let backup: OriginProcess;
  let source: ManagedProcess;

  /** As the operator runs them: each names the other as its peer, the backup waits for the primary. */
  async function startOrigin(name: "primary" | "backup"): Promise<OriginProcess> {
    const peer = name === "primary" ? ports.backup : ports.primary;
    const origin = await startOriginProcess({
      name,
      ...ports[name],
      dataDir: path.join(dir, name),
      stream: STREAM,
      args: ["--peer", `http://127.0.0.1:${peer.httpPort}`, ...(name === "backup" ? ["--wait-for-peers"] : [])],
    });
    cleanup.process(origin.process);
    return origin;
  }

  beforeAll(async () => {
    dir = await tempDir("test-source-origins");
    ports = { primary: await freePorts(), backup: await freePorts() };
    primary = await startOrigin("primary");
  }, 90_000);

  afterAll(async () => {
    await cleanup.run();
    await rm(dir, { recursive: true, force: true });
  }, 90_000);

  test("both origins get the stream, the backup although it started only after the test source", async () => {
    source = cleanup.process(
      startProcess(process.execPath, [
        LIVE360_CLI, "test-source", "--url", ingestUrl(ports.primary), "--url", ingestUrl(ports.backup),
        // One keyframe per segment, as the operator runs it: origins then cut on the same pictures.
        "--size", "320x160", "--fps", "15", "--bitrate", "300k", "--keyframe-interval", "2",
      ]),
    );
    await waitForSegmentAfter(primary, 0);
    const backupStartedAt = Date.now();
    backup = await startOrigin("backup");
    await waitForSegmentAfter(backup, backupStartedAt);
    await expectTestPattern(primary);
    await expectTestPattern(backup);
    // The unreachable backup was retried inside FFmpeg, without disturbing the primary's connection.
    expect(ffmpegRuns(source)).toEqual({ publishing: 1, restarts: 0 });
  }, 180_000);

  test("an origin SIGKILLed and started again gets the stream back by itself, while the other's playlist keeps advancing on the same connection", async () => {
    const sessionBefore = (await streamStat(backup))?.publisher.sessionId;
    expect(sessionBefore).toBeDefined();
    const watch = watchPlaylist(backup);
    try {
      primary.process.signal("SIGKILL");
      await primary.process.exited;
      // A couple of segments' time with the primary gone, as while a replacement pod is scheduled.
      await waitForSegmentAfter(backup, Date.now() + 2000);
      const restartingAt = Date.now();
      primary = await startOrigin("primary");
      await waitForSegmentAfter(primary, restartingAt);
      logger.warn("restarted origin got the stream back", { afterMs: Date.now() - restartingAt });
      await waitForSegmentAfter(backup, Date.now());
    } finally {
      await watch.stop();
    }

    await expectTestPattern(primary);
    const { polls } = watch;
    // The backup served its live playlist all along, each poll at least as far as the one before...
    expect(polls.filter((p) => p.status !== 200 || p.playlist!.ended)).toEqual([]);
    const sequences = polls.map((p) => p.playlist!.mediaSequence + p.playlist!.segments.length);
    expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
    // ...with a new segment every couple of seconds: never a stall of several segments.
    const advancedAt = polls.filter((_, i) => i > 0 && sequences[i]! > sequences[i - 1]!).map((p) => p.at);
    expect(advancedAt.length).toBeGreaterThanOrEqual(3);
    const times = [polls[0]!.at, ...advancedAt];
    expect(Math.max(...times.slice(1).map((at, i) => at - times[i]!))).toBeLessThan(12_000);
    // On the connection it had before: the backup's output was not touched, nor was FFmpeg restarted.
    expect((await streamStat(backup))?.publisher.sessionId).toBe(sessionBefore);
    expect(ffmpegRuns(source)).toEqual({ publishing: 1, restarts: 0 });
  }, 240_000);

  test("after the restart a segment both origins list carries the same timestamps on both: a player can switch between them", async () => {
    const [onPrimary, onBackup] = [(await pollPlaylist(primary)).playlist!, (await pollPlaylist(backup)).playlist!];
    const common = onPrimary.segments.filter((segment) => onBackup.segments.includes(segment));
    expect(common.length).toBeGreaterThanOrEqual(1);
    const segment = common.at(-1)!;
    const videoStart = async (origin: OriginProcess) =>
      Number((await probe(`${origin.http}/hls/${STREAM}/source/${segment}`)).streams.find((s) => s.codec_type === "video")?.start_time);
    const [primaryStart, backupStart] = [await videoStart(primary), await videoStart(backup)];
    expect(primaryStart).toBeGreaterThan(0);
    // The same instants, to a frame: the restarted primary did not start a timeline of its own
    // (before -copyts the two were apart by the time the primary was away, 24 s in one run).
    expect(Math.abs(primaryStart - backupStart)).toBeLessThanOrEqual(1 / 15 + 0.001);
  }, 60_000);
});
