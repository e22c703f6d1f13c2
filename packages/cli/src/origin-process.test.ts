/**
 * `live360 origin` as a real process: what Kubernetes does to it (SIGTERM), what an operator
 * types wrong (flags, busy ports), and the low-latency preset.
 */
import { afterEach, describe, expect, test } from "@jest/globals";
import { createServer } from "node:net";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { probe } from "@live360/core";
import { freePort, getText, makeTestClip, publishFile, tempDir, waitFor } from "@live360/testkit";
import { killRunningClis, runCli } from "./test-cli.js";

afterEach(killRunningClis);

async function originProcess(dir: string, extra: string[] = []) {
  const [rtmpPort, httpPort] = [await freePort(), await freePort()];
  const proc = runCli([
    "origin", "--rtmp-port", String(rtmpPort), "--http-port", String(httpPort), "--bind", "127.0.0.1",
    "--data-dir", path.join(dir, "data"), "--ladder", "source,320x160:300k", ...extra,
  ]);
  const http = `http://127.0.0.1:${httpPort}`;
  await waitFor("origin ready", async () => (await getText(`${http}/readyz`)).status === 200, { timeoutMs: 20_000 });
  return { ...proc, http, rtmp: `rtmp://127.0.0.1:${rtmpPort}/live` };
}

describe("live360 origin process", () => {
  test("SIGTERM mid-stream: playlists end, the recording is finalized, exit 0 well within the grace", async () => {
    const dir = await tempDir("sigterm");
    const clip = await makeTestClip(dir, { seconds: 4 });
    const origin = await originProcess(dir, ["--shutdown-grace", "20"]);
    const publisher = await publishFile(clip, `${origin.rtmp}/event`, { loop: true });
    await waitFor("segments", async () => 
     
      (await getText(`${origin.http}/hls/event/160p/index.m3u8`)).body.includes(".ts"), { timeoutMs: 30_000 });
    await new Promise((r) => setTimeout(r, 3000));
    const signalledAt = Date.now();
    origin.child.kill("SIGTERM");
    const { code } = await origin.exited;
    expect(code).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(20_000);
    await publisher.stop();
    for (const variant of ["source", "160p"]) {
      const playlist = await readFile(path.join(dir, "data", "hls", "event", variant, "index.m3u8"), "utf8");
      expect(playlist).toContain("#EXT-X-ENDLIST");
    }
    const mp4 = (await readdir(path.join(dir, "data", "recordings"))).filter((f) => /^event-.*\.mp4$/.test(f));
    expect(mp4).toHaveLength(1);
    const info = await probe(path.join(dir, "data", "recordings", mp4[0]!));
    expect(Number(info.format.duration)).toBeGreaterThan(3);
    expect(origin.output()).toContain('"msg":"shutting down"');
  }, 90_000);

  test("the low-latency preset writes 1 s segments on every variant", async () => {
    const dir = await tempDir("lowlat");
    const clip = await makeTestClip(dir, { seconds: 4, gopSeconds: 1 });
    const origin = await originProcess(dir, ["--low-latency"]);
    const publisher = await publishFile(clip, `${origin.rtmp}/ll`, { loop: true });
    try {
      for (const variant of ["source", "160p"]) {
        const playlist = await waitFor(`${variant}: three segments`, async () => {
          const body = (await getText(`${origin.http}/hls/ll/${variant}/index.m3u8`)).body;
          return (body.match(/#EXTINF/g) ?? []).length >= 3 ? body : undefined;
        }, { timeoutMs: 30_000 });
        expect(playlist).toContain("#EXT-X-TARGETDURATION:1");
        const durations = [...playlist.matchAll(/#EXTINF:([\d.]+)/g)].slice(1).map((m) => Number(m[1]));
        for (const d of durations) expect(Math.abs(d - 1)).toBeLessThan(0.05);
      }
      const res = await getText(`${origin.http}/hls/ll/source/index.m3u8`);
      expect(res.headers.get("cache-control")).toBe("public, max-age=0");
    } finally {
      await publisher.stop();
      origin.child.kill("SIGTERM");
      await origin.exited;
    }
  }, 90_000);

  test("an encoder that reconnects within the grace continues the same playlists", async () => {
    const dir = await tempDir("reconnect");
    const clip = await makeTestClip(dir, { seconds: 3 });
    const origin = await originProcess(dir, ["--reconnect-grace", "15"]);
    try {
      const first = await publishFile(clip, `${origin.rtmp}/re`);
      expect(await first.exited).toBe(0);
      await waitFor("end list", async () => (await getText(`${origin.http}/hls/re/source/index.m3u8`)).body.includes("#EXT-X-ENDLIST"));
      const before = (await getText(`${origin.http}/hls/re/source/index.m3u8`)).body;
      const second = await publishFile(clip, `${origin.rtmp}/re`, { loop: true });
      const after = await waitFor("continued playlist", async () => {
        const body = (await getText(`${origin.http}/hls/re/source/index.m3u8`)).body;
        return !body.includes("#EXT-X-ENDLIST") && body.includes("#EXT-X-DISCONTINUITY") ? body : undefined;
      }, { timeoutMs: 30_000 });
      // The first publish's segments are still listed before the discontinuity.
      const firstSegment = before.split("\n").find((l) => l.endsWith(".ts"))!;
      expect(after.indexOf(firstSegment)).toBeLessThan(after.indexOf("#EXT-X-DISCONTINUITY"));
      await second.stop();
    } finally {
      origin.child.kill("SIGTERM");
      await origin.exited;
    }
  }, 90_000);

  test("a busy port is a clear error and exit code 2, not a crash", async () => {
    const blocker = createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => blocker.listen(port, "127.0.0.1", resolve));
    try {
      const dir = await tempDir("busy");
      const proc = runCli(["origin", "--rtmp-port", String(port), "--http-port", String(await freePort()), "--bind", "127.0.0.1", "--data-dir", dir]);
      const { code } = await proc.exited;
      expect(code).toBe(2);
      expect(proc.output()).toContain(`cannot listen on port ${port}`);
    } finally {
      blocker.close();
    }
  }, 30_000);

  test("a bad flag value names the flag, the value and the fix", async () => {
    const proc = runCli(["origin", "--ladder", "source,1280x:2500k"]);
    const { code } = await proc.exited;
    expect(code).toBe(2);
    expect(proc.output()).toContain('live360: invalid configuration: --ladder="1280x:2500k": write each rung as "source" or WIDTHxHEIGHT:KBPSk');
  }, 30_000);

  test("RTMPS needs the certificate and its key: one without the other names the missing flag", async () => {
    const proc = runCli(["origin", "--tls-cert-file", "/etc/live360/tls/tls.crt"]);
    expect((await proc.exited).code).toBe(2);
    expect(proc.output()).toContain('--tls-cert-file="/etc/live360/tls/tls.crt": RTMPS needs a certificate and its key: add --tls-key-file');
  }, 30_000);

  test("a secret on the command line is refused (every user of the machine can read it), and not echoed", async () => {
    const proc = runCli(["origin", "--admin-token", "visible-to-ps-0123456789"]);
    const { code } = await proc.exited;
    expect(code).toBe(2);
    expect(proc.output()).toContain('--admin-token="<hidden>": a secret on the command line is readable by every user of the machine');
    expect(proc.output()).toContain("--admin-token-file");
    expect(proc.output()).not.toContain("visible-to-ps-0123456789");
  }, 30_000);
});
