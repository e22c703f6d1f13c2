/**
 * MediaMTX (the LL-HLS reference of issue #15) as the latency benches run it: built from the Go
 * module proxy by bench/latency/build-mediamtx.sh, LL-HLS as its documentation sets it up.
 */
import { execFile, spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { freePort, getText, waitFor, type Cleanup } from "@live360/testkit";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

async function mediaMtxBinary(): Promise<string> {
  const { stdout } = await promisify(execFile)("bash", [path.join(ROOT, "bench/latency/build-mediamtx.sh")], { maxBuffer: 16 * 1024 * 1024 });
  return stdout.trim().split("\n").at(-1)!;
}

export async function startMediaMtx(cleanup: Cleanup, dir: string, stream: string): Promise<{ rtmp: string; url: string; version: string }> {
  const binary = await mediaMtxBinary();
  const [rtmpPort, hlsPort] = [await freePort(), await freePort()];
  const config = path.join(dir, "mediamtx.yml");
  // MediaMTX's LL-HLS as its documentation sets it up: segments of 1 s, parts of 200 ms.
  await writeFile(
    config,
    [
      "logLevel: warn",
      "rtsp: no",
      "webrtc: no",
      "srt: no",
      "api: no",
      "metrics: no",
      "playback: no",
      "rtmp: yes",
      `rtmpAddress: 127.0.0.1:${rtmpPort}`,
      "hls: yes",
      `hlsAddress: 127.0.0.1:${hlsPort}`,
      "hlsVariant: lowLatency",
      "hlsSegmentCount: 7",
      "hlsSegmentDuration: 1s",
      "hlsPartDuration: 200ms",
      "hlsAllowOrigin: '*'",
      "paths:",
      "  all_others:",
      "",
    ].join("\n"),
  );
  const child = spawn(binary, [config], { stdio: ["ignore", "inherit", "inherit"] });
  cleanup.add(null, async () => {
    child.kill("SIGTERM");
    await new Promise((resolve) => child.once("close", resolve));
  });
  await waitFor("MediaMTX listening", async () => (await getText(`http://127.0.0.1:${hlsPort}/`).catch(() => undefined)) !== undefined, { timeoutMs: 10_000, intervalMs: 100 });
  return { rtmp: `rtmp://127.0.0.1:${rtmpPort}/live/${stream}`, url: `http://127.0.0.1:${hlsPort}/live/${stream}/index.m3u8`, version: path.basename(binary).replace("mediamtx-", "") };
}
