import { afterEach, describe, expect, test } from "@jest/globals";
import { access, readFile, readdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { FileQueue, LocalDirectoryStorage, S3Storage, periodKey, resolveBinary, runOnce } from "@live360/core";
import {
  freePort,
  getText,
  httpGet,
  inspectVodAsset,
  listKeys,
  makeTestClip,
  publishFile,
  startS3Server,
  startSqsServer,
  tempDir,
  waitFor,
} from "@live360/testkit";
import { killRunningClis, runCli } from "./test-cli.js";

afterEach(killRunningClis);

async function localPorts(): Promise<{ rtmpPort: number; httpPort: number }> {
  return { rtmpPort: await freePort(), httpPort: await freePort() };
}

/**
 * Publishes a file at ten times real time: a minute of recording in six seconds, so a
 * transcode long enough to interrupt costs the test no minute of waiting.
 */
async function publishFast(file: string, url: string): Promise<void> {
  const ffmpeg = await resolveBinary("ffmpeg");
  await runOnce(ffmpeg, ["-hide_banner", "-loglevel", "error", "-readrate", "10", "-i", file, "-c", "copy", "-f", "flv", url], { timeoutMs: 60_000 });
}

interface LogRecord {
  time: string;
  msg: string;
  [field: string]: unknown;
}

/** The JSON log records local mode wrote to <data-dir>/live360.log, from line `from` on. */
async function localLog(dataDir: string, from = 0): Promise<LogRecord[]> {
  const text = await readFile(path.join(dataDir, "live360.log"), "utf8").catch(() => "");
  return text
    .split("\n")
    .slice(from)
    .filter((line) => line.startsWith("{") && line.endsWith("}"))
    .map((line) => JSON.parse(line) as LogRecord);
}

function logged(records: LogRecord[], msg: string): LogRecord | undefined {
  return records.find((r) => r.msg === msg);
}

describe("live360 local", () => {
  test("starts origin and test source, prints the URLs, plays, and Ctrl-C finalizes the recording into the ingest bucket", async () => {
    const dir = await tempDir("local");
    const { rtmpPort, httpPort } = await localPorts();
    const local = runCli([
      "local", "--rtmp-port", String(rtmpPort), "--http-port", String(httpPort), "--bind", "127.0.0.1",
      "--data-dir", path.join(dir, "data"), "--test-source-size", "640x320", "--ladder", "source,320x160:300k",
    ]);
    const base = `http://127.0.0.1:${httpPort}`;
    const master = await waitFor("master playlist from the test source", async () => {
      const res = await getText(`${base}/hls/test/master.m3u8`);
      return res.status === 200 ? res.body : undefined;
    }, { timeoutMs: 60_000 });
    expect(master).toContain("RESOLUTION=640x320");
    expect(master).toContain("RESOLUTION=320x160");
    expect(local.output()).toContain(`rtmp://127.0.0.1:${rtmpPort}/live`);
    expect(local.output()).toContain(`${base}/player/?url=/hls/test/master.m3u8`);
    const stat = JSON.parse((await getText(`${base}/stat`)).body) as { streams: Array<{ stream: string; inputFps: number }> };
    expect(stat.streams[0]?.stream).toBe("test");
    local.child.kill("SIGINT");
    const { code } = await local.exited;
    expect(code).toBe(0);
    // The recording is the master copy: it stays in the ingest bucket whatever the VOD worker did.
    const recordings = await readdir(path.join(dir, "data", "buckets", "ingest", "recordings", "test"));
    expect(recordings.filter((f) => f.endsWith(".mp4"))).toEqual([expect.stringMatching(/^\d{8}T\d{6}Z\.mp4$/)]);
  }, 120_000);

  test("a stream that ends becomes an on-demand asset listed at /vod/ and playable from the local egress bucket", async () => {
    const dir = await tempDir("local-vod");
    const clip = await makeTestClip(dir, { seconds: 4, width: 640, height: 320 });
    const { rtmpPort, httpPort } = await localPorts();
    const local = runCli([
      "local", "--no-test-source", "--rtmp-port", String(rtmpPort), "--http-port", String(httpPort), "--bind", "127.0.0.1",
      "--data-dir", path.join(dir, "data"), "--ladder", "source,320x160:300k", "--reconnect-grace", "1",
    ]);
    const base = `http://127.0.0.1:${httpPort}`;
    await waitFor("origin listening", async () => (await getText(`${base}/healthz`).catch(() => undefined))?.status === 200 || undefined);
    const publisher = await publishFile(clip, `rtmp://127.0.0.1:${rtmpPort}/live/demo`);
    expect(await publisher.exited).toBe(0);
    const assets = await waitFor("the VOD asset in /vod/", async () => {
      const list = JSON.parse((await getText(`${base}/vod/`)).body) as Array<{ stream: string; master: string; durationSeconds: number; player: string }>;
      return list.length > 0 ? list : undefined;
    }, { timeoutMs: 90_000 });
    expect(assets).toHaveLength(1);
    expect(assets[0]!.stream).toBe("demo");
    expect(assets[0]!.durationSeconds).toBeGreaterThan(3);
    const master = await getText(`${base}${assets[0]!.master}`);
    expect(master.status).toBe(200);
    expect(master.body).toContain("RESOLUTION=320x160");
    const firstVariant = master.body.split("\n").find((line) => line.endsWith(".m3u8"))!;
    const variant = await getText(new URL(firstVariant, `${base}${assets[0]!.master}`).toString());
    expect(variant.body).toContain("#EXT-X-PLAYLIST-TYPE:VOD");
    expect(variant.body).toContain("#EXT-X-ENDLIST");
    expect(local.output()).toContain(`VOD ready: ${base}${assets[0]!.player}`);
    local.child.kill("SIGINT");
    expect((await local.exited).code).toBe(0);
  }, 150_000);

  test("with an HLS secret the ended stream's recording says it was encrypted, its asset is encrypted with the same secret, and local mode serves the asset's keys", async () => {
    const dir = await tempDir("local-vod-encrypted");
    const clip = await makeTestClip(dir, { seconds: 4, width: 640, height: 320 });
    const secret = "local-vod-hls-secret-0123456789abcdef0123";
    const secretFile = path.join(dir, "hls-secret");
    await writeFile(secretFile, `${secret}\n`);
    const { rtmpPort, httpPort } = await localPorts();
    const data = path.join(dir, "data");
    const local = runCli([
      "local", "--no-test-source", "--rtmp-port", String(rtmpPort), "--http-port", String(httpPort), "--bind", "127.0.0.1",
      "--data-dir", data, "--ladder", "source", "--reconnect-grace", "1", "--hls-encryption-secret-file", secretFile, "--hls-key-rotation", "1",
    ]);
    const base = `http://127.0.0.1:${httpPort}`;
    await waitFor("origin listening", async () => (await getText(`${base}/healthz`).catch(() => undefined))?.status === 200 || undefined);
    const publisher = await publishFile(clip, `rtmp://127.0.0.1:${rtmpPort}/live/locked`);
    expect(await publisher.exited).toBe(0);
    const [asset] = await waitFor("the VOD asset in /vod/", async () => {
      const list = JSON.parse((await getText(`${base}/vod/`)).body) as Array<{ master: string }>;
      return list.length > 0 ? list : undefined;
    }, { timeoutMs: 90_000 });
    const storage = new LocalDirectoryStorage(path.join(data, "buckets"));
    const [recording] = await listKeys(storage, "ingest", "recordings/locked/");
    expect((await storage.head("ingest", recording!)).metadata).toMatchObject({ encrypted: "true" });
    const prefix = asset!.master.replace(/^\//, "").replace(/master\.m3u8$/, "");
    const inspected = await inspectVodAsset(storage, "egress", prefix, { secret });
    expect(inspected.manifest.encryption).toMatchObject({ method: "AES-128", rotationSegments: 1 });
    const key = await httpGet(`${base}/${prefix}keys/0.key`);
    expect(key.status).toBe(200);
    expect(key.body.equals(periodKey(secret, prefix.replace(/\/$/, ""), 0))).toBe(true);
    local.child.kill("SIGINT");
    expect((await local.exited).code).toBe(0);
  }, 150_000);

  test("with --s3-endpoint, --sqs-endpoint, the bucket flags and --queue-url it uses those services instead of local directories", async () => {
    const [s3, sqs] = await Promise.all([
      startS3Server({ buckets: ["recordings", "assets"] }),
      startSqsServer({ queues: [{ name: "jobs", deadLetter: { name: "jobs-dead", maxReceiveCount: 3 } }] }),
    ]);
    try {
      const dir = await tempDir("local-s3");
      const clip = await makeTestClip(dir, { seconds: 4, width: 640, height: 320 });
      const { rtmpPort, httpPort } = await localPorts();
      const local = runCli(
        [
          "local", "--no-test-source", "--rtmp-port", String(rtmpPort), "--http-port", String(httpPort), "--bind", "127.0.0.1",
          "--data-dir", path.join(dir, "data"), "--ladder", "source,320x160:300k", "--reconnect-grace", "1",
          "--s3-endpoint", s3.endpoint, "--sqs-endpoint", sqs.endpoint, "--region", s3.region,
          "--ingest-bucket", "recordings", "--egress-bucket", "assets", "--queue-url", sqs.queueUrls.jobs!,
        ],
        { env: { ...process.env, AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey } },
      );
      const base = `http://127.0.0.1:${httpPort}`;
      await waitFor("origin listening", async () => (await getText(`${base}/healthz`).catch(() => undefined))?.status === 200 || undefined);
      const publisher = await publishFile(clip, `rtmp://127.0.0.1:${rtmpPort}/live/cloud`);
      expect(await publisher.exited).toBe(0);
      const assets = await waitFor("the VOD asset in /vod/", async () => {
        const list = JSON.parse((await getText(`${base}/vod/`)).body) as Array<{ stream: string; master: string }>;
        return list.length > 0 ? list : undefined;
      }, { timeoutMs: 90_000 });
      expect(assets.map((a) => a.stream)).toEqual(["cloud"]);
      expect((await getText(`${base}${assets[0]!.master}`)).body).toContain("RESOLUTION=320x160");

      const storage = new S3Storage({ endpoint: s3.endpoint, region: s3.region, credentials: s3.credentials });
      expect(await listKeys(storage, "recordings", "recordings/cloud/")).toEqual([expect.stringMatching(/^recordings\/cloud\/\d{8}T\d{6}Z\.mp4$/)]);
      expect(await listKeys(storage, "assets", assets[0]!.master.slice(1))).toEqual([assets[0]!.master.slice(1)]);
      await expect(access(path.join(dir, "data", "buckets"))).rejects.toThrow(/ENOENT/);
      local.child.kill("SIGINT");
      expect((await local.exited).code).toBe(0);
    } finally {
      await Promise.all([s3.stop(), sqs.stop()]);
    }
  }, 180_000);

  test("Ctrl-C in the middle of a VOD transcode loses nothing: the job stays queued and the next start finishes the asset", async () => {
    const dir = await tempDir("local-durable");
    const dataDir = path.join(dir, "data");
    // A minute of 640x320 into two transcoded rungs keeps the worker busy for seconds, long
    // enough to stop it mid-transcode on a loaded machine too.
    const clip = await makeTestClip(dir, { seconds: 60, width: 640, height: 320 });
    const start = async (): Promise<{ base: string; rtmpPort: number; local: ReturnType<typeof runCli> }> => {
      const { rtmpPort, httpPort } = await localPorts();
      const local = runCli([
        "local", "--no-test-source", "--rtmp-port", String(rtmpPort), "--http-port", String(httpPort), "--bind", "127.0.0.1",
        "--data-dir", dataDir, "--ladder", "source,480x240:600k,320x160:300k", "--reconnect-grace", "1",
      ]);
      const base = `http://127.0.0.1:${httpPort}`;
      await waitFor("origin listening", async () => (await getText(`${base}/healthz`).catch(() => undefined))?.status === 200 || undefined);
      return { base, rtmpPort, local };
    };

    const first = await start();
    await publishFast(clip, `rtmp://127.0.0.1:${first.rtmpPort}/live/durable`);
    const midway = await waitFor("the VOD worker in the middle of transcoding", async () => {
      const progress = (await localLog(dataDir)).filter((r) => r.msg === "transcode progress");
      return progress.find((r) => (r.percent as number) > 0 && (r.percent as number) < 100);
    }, { timeoutMs: 60_000, intervalMs: 50 });
    const interruptedAt = Date.now();
    first.local.child.kill("SIGINT");
    expect((await first.local.exited).code).toBe(0);
    // Ctrl-C stays prompt: the running FFmpeg is killed, not waited for.
    expect(Date.now() - interruptedAt).toBeLessThan(10_000);

    const firstRun = await localLog(dataDir);
    // The stop really caught the job mid-way: interrupted, not completed.
    expect(logged(firstRun, "job interrupted by shutdown; message visible again for another worker")).toBeDefined();
    expect(logged(firstRun, "asset complete; message deleted")).toBeUndefined();
    // The job went back to the file queue, visible at once (not hidden for a visibility timeout).
    const queueDir = path.join(dataDir, "queue");
    expect(await (await FileQueue.open({ dir: queueDir })).counts()).toEqual({ visible: 1, inFlight: 0, delayed: 0 });
    // The recording is still in the ingest bucket; nothing half-made in the egress bucket or the work directory.
    const storage = new LocalDirectoryStorage(path.join(dataDir, "buckets"));
    expect(await listKeys(storage, "ingest", "recordings/durable/")).toEqual([expect.stringMatching(/^recordings\/durable\/\d{8}T\d{6}Z\.mp4$/)]);
    expect(await listKeys(storage, "egress")).toEqual([]);
    expect(await readdir(path.join(dataDir, "vod-work"))).toEqual([]);

    const second = await start();
    const assets = await waitFor("the VOD asset in /vod/ after the restart", async () => {
      const list = JSON.parse((await getText(`${second.base}/vod/`)).body) as Array<{ stream: string; master: string; durationSeconds: number; player: string }>;
      return list.length > 0 ? list : undefined;
    }, { timeoutMs: 60_000 });
    const secondRun = await localLog(dataDir, firstRun.length);
    const ready = logged(secondRun, "vod worker ready")!;
    const received = logged(secondRun, "job received")!;
    // The same message (its second receive), taken as soon as the worker is up.
    expect(received.messageId).toBe(midway.messageId);
    expect(received.receiveCount).toBe(2);
    const pickupSeconds = (Date.parse(received.time) - Date.parse(ready.time)) / 1000;
    expect(pickupSeconds).toBeLessThan(5);

    expect(assets).toHaveLength(1);
    expect(assets[0]!.stream).toBe("durable");
    expect(assets[0]!.durationSeconds).toBeGreaterThan(59);
    const prefix = assets[0]!.master.slice(1).replace(/master\.m3u8$/, "");
    const asset = await inspectVodAsset(storage, "egress", prefix);
    expect(asset.master).toContain("RESOLUTION=480x240");
    expect(asset.master).toContain("RESOLUTION=320x160");
    for (const variant of asset.variants) {
      expect(variant.ended).toBe(true);
      expect(variant.totalSeconds).toBeGreaterThan(59);
    }
    expect(second.local.output()).toContain(`VOD ready: ${second.base}${assets[0]!.player}`);
    // Done exactly once: the message is gone, nothing was dead-lettered, the recording stays.
    expect(await (await FileQueue.open({ dir: queueDir })).counts()).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    expect(await (await FileQueue.open({ dir: path.join(queueDir, "dead-letter") })).counts()).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    expect(await listKeys(storage, "ingest", "recordings/durable/")).toHaveLength(1);
    second.local.child.kill("SIGINT");
    expect((await second.local.exited).code).toBe(0);
  }, 120_000);
});
