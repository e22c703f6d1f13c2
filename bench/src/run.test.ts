import { execFile } from "node:child_process";
import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { parseLadder, resolveBinary, type ResolvedBinary } from "@live360/core";
import { tempDir } from "@live360/testkit";
import { ensureBenchInput, type BenchInput } from "./input.js";
import { referenceExecArgs } from "./ladder-args.js";
import { runStack } from "./run.js";
import { floorStack, nginxRtmpConfig, nginxRtmpStack, resolveNginx } from "./stacks.js";

const execFileAsync = promisify(execFile);

/** The measuring machinery end to end on a tiny input: real FFmpeg, real nginx-rtmp. */
describe("origin benchmark runs", () => {
  let dir: string;
  let ffmpeg: ResolvedBinary;
  let input: BenchInput;
  const ladder = parseLadder("ladder", "source,320x160:300k");

  beforeAll(async () => {
    dir = await tempDir("bench-run");
    ffmpeg = await resolveBinary("ffmpeg");
    input = await ensureBenchInput(ffmpeg, dir, { width: 640, height: 320, fps: 30, seconds: 8, videoKbps: 800, gopSeconds: 1 });
  }, 120_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("the generated reference configuration passes nginx -t", async () => {
    const prefix = path.join(dir, "nginx-t");
    await mkdir(path.join(prefix, "logs"), { recursive: true });
    const conf = path.join(prefix, "nginx.conf");
    const execArgs = referenceExecArgs(ffmpeg.path, 19350, ladder);
    await writeFile(conf, nginxRtmpConfig({ prefix, rtmpPort: 19350, httpPort: 19351, fragmentSeconds: 10, execArgs, ladder }));
    const { stderr } = await execFileAsync(await resolveNginx(), ["-t", "-p", prefix, "-c", conf]);
    expect(stderr).toMatch(/test is successful/);
  });

  test("floor: CPU is counted, every variant is anchored to source frame 0, delays are positive", async () => {
    const result = await runStack(floorStack({ ffmpeg, ladder }), ffmpeg, input);
    expect(result.skipped).toBeUndefined();
    expect(result.cpuSeconds).toBeGreaterThan(0);
    expect(result.variants?.map((v) => [v.playlist, v.firstFrame])).toEqual([
      ["source/index.m3u8", 0],
      ["160p/index.m3u8", 0],
    ]);
    expect(result.measuredSegmentSeconds).toBeCloseTo(2, 1);
    // A segment cannot be listed before its last frame was sent: a negative delay means a wrong clock.
    expect(result.availability!.segments).toBeGreaterThanOrEqual(2);
    expect(result.availability!.p50).toBeGreaterThan(0);
    expect(result.availability!.p95).toBeLessThan(10);
    expect(result.liveEdge!.holdBack1).toBeCloseTo(result.availability!.p95 + result.measuredSegmentSeconds!, 6);
  }, 120_000);

  test("reference stack: nginx-rtmp with exec ffmpeg writes every variant; its exec'd FFmpeg is in the measured tree", async () => {
    const result = await runStack(nginxRtmpStack({ ffmpeg, ladder }, 2), ffmpeg, input);
    expect(result.skipped).toBeUndefined();
    // nginx master and worker, and the FFmpeg the worker exec'd.
    expect(result.processes).toBeGreaterThanOrEqual(3);
    expect(result.variants?.map((v) => v.playlist).sort()).toEqual(["bench_160/index.m3u8", "bench_src/index.m3u8"]);
    // The exec'd FFmpeg joins after the publish starts, at a source keyframe (every 30 frames).
    for (const v of result.variants!) expect((v.firstFrame ?? -1) % 30).toBe(0);
    expect(result.availability!.segments).toBeGreaterThanOrEqual(1);
    expect(result.availability!.p50).toBeGreaterThan(0);
  }, 120_000);
});
