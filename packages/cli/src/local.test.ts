import { afterEach, describe, expect, test } from "@jest/globals";
import { readdir } from "node:fs/promises";
import path from "node:path";
import { freePort, getText, tempDir, waitFor } from "@live360/testkit";
import { killRunningClis, runCli } from "./test-cli.js";

afterEach(killRunningClis);

describe("live360 local", () => {
  test("starts origin and test source, prints the URLs, plays, and Ctrl-C finalizes the recording", async () => {
    const dir = await tempDir("local");
    const [rtmpPort, httpPort] = [await freePort(), await freePort()];
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
    const recordings = (await readdir(path.join(dir, "data", "recordings"))).filter((f) => f.endsWith(".mp4"));
    expect(recordings).toHaveLength(1);
    expect(recordings[0]).toMatch(/^test-\d{8}T\d{6}Z\.mp4$/);
  }, 120_000);
});
