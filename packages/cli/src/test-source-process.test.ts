/**
 * `live360 test-source` as a real process: its help, its answers to wrong flags, and a real
 * publish into a real `live360 origin` that ends by itself after --duration.
 */
import { afterEach, describe, expect, test } from "@jest/globals";
import { rm } from "node:fs/promises";
import path from "node:path";
import { freePort, getText, tempDir, waitFor } from "@live360/testkit";
import { killRunningClis, runCli } from "./test-cli.js";

afterEach(killRunningClis);

describe("live360 test-source process", () => {
  test("--help documents every flag", async () => {
    const help = runCli(["test-source", "--help"]);
    expect((await help.exited).code).toBe(0);
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

  test("publishes into a live360 origin, which makes HLS of it, and exits 0 after --duration", async () => {
    const dir = await tempDir("test-source-cli");
    try {
      const [rtmpPort, httpPort] = [await freePort(), await freePort()];
      const origin = runCli([
        "origin", "--rtmp-port", String(rtmpPort), "--http-port", String(httpPort), "--bind", "127.0.0.1",
        "--data-dir", path.join(dir, "data"), "--ladder", "source",
      ]);
      const http = `http://127.0.0.1:${httpPort}`;
      await waitFor("origin ready", async () => (await getText(`${http}/readyz`)).status === 200, { timeoutMs: 30_000 });

      const startedAt = Date.now();
      const source = runCli([
        "test-source", "--url", `rtmp://127.0.0.1:${rtmpPort}/live/pattern`, "--size", "320x160", "--fps", "15",
        "--bitrate", "300k", "--keyframe-interval", "1", "--duration", "5",
      ]);
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
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
