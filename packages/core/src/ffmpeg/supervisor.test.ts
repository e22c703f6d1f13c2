import { describe, expect, test } from "@jest/globals";
import { createLogger } from "../log.js";
import { baseArgs } from "./args.js";
import { resolveBinary } from "./resolve.js";
import { FfmpegDiedError, FfmpegStartupError, FfmpegSupervisor, type SupervisorEvents } from "./supervisor.js";

const quiet = createLogger("test", { level: "error" });

function waitFor<K extends keyof SupervisorEvents & string>(
  sup: FfmpegSupervisor,
  event: K,
  timeoutMs = 15_000,
): Promise<SupervisorEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${event}`)), timeoutMs);
    sup.once(event, (...args) => {
      clearTimeout(timer);
      resolve(args);
    });
  });
}

/** A real FFmpeg encoding a synthetic source to nowhere, paced to real time. */
const liveArgs = () =>
  baseArgs().opt("-re").opt("-f", "lavfi").input("testsrc2=size=160x80:rate=10").opt("-f", "null").output("-").build();

describe("FfmpegSupervisor with a real ffmpeg", () => {
  test("tells a start-up failure (bad input) apart, with pid and exit code", async () => {
    const ffmpeg = await resolveBinary("ffmpeg");
    const sup = new FfmpegSupervisor({
      name: "bad",
      binary: ffmpeg,
      logger: quiet,
      args: () => baseArgs().input("/nonexistent/input.mp4").opt("-f", "null").output("-").build(),
      restart: { initialDelayMs: 10, maxDelayMs: 20, maxStartupFailures: 2, stableAfterMs: 1000 },
    });
    const failures: FfmpegStartupError[] = [];
    sup.on("startupfailure", (e) => failures.push(e));
    sup.start();
    const [err] = await waitFor(sup, "failed");
    expect(failures).toHaveLength(2);
    expect(err).toBeInstanceOf(FfmpegStartupError);
    expect(err.message).toMatch(/failed to start: pid \d+ exited with code [1-9]\d*: .*nonexistent/);
    await sup.close();
  });

  test("restarts a process that dies after starting, reporting the signal", async () => {
    const ffmpeg = await resolveBinary("ffmpeg");
    const sup = new FfmpegSupervisor({ name: "live", binary: ffmpeg, logger: quiet, args: liveArgs });
    sup.start();
    const [firstPid] = await waitFor(sup, "started");
    process.kill(firstPid, "SIGKILL");
    const [died] = await waitFor(sup, "died");
    expect(died).toBeInstanceOf(FfmpegDiedError);
    expect(died.details).toMatchObject({ pid: firstPid, signal: "SIGKILL", code: null });
    const [secondPid] = await waitFor(sup, "started");
    expect(secondPid).not.toBe(firstPid);
    expect(sup.restarts).toBe(1);
    await Promise.all([sup.close(), sup.close()]);
    expect(sup.running).toBe(false);
    expect(() => process.kill(secondPid, 0)).toThrow();
  });

  test("close() stops a running child gracefully and is idempotent", async () => {
    const ffmpeg = await resolveBinary("ffmpeg");
    const sup = new FfmpegSupervisor({ name: "stop", binary: ffmpeg, logger: quiet, args: liveArgs });
    const died: unknown[] = [];
    sup.on("died", (e) => died.push(e));
    sup.start();
    const [pid] = await waitFor(sup, "started");
    const first = sup.close();
    expect(sup.close()).toBe(first);
    await first;
    expect(() => process.kill(pid, 0)).toThrow();
    expect(died).toHaveLength(0);
  });

  test("a stopped child (SIGSTOP) is killed at the stall timeout and restarted; the error says why", async () => {
    const ffmpeg = await resolveBinary("ffmpeg");
    const sup = new FfmpegSupervisor({ name: "hung", binary: ffmpeg, logger: quiet, args: liveArgs, stallTimeoutMs: 2000 });
    sup.start();
    const [firstPid] = await waitFor(sup, "started");
    // Still alive, never exits by itself: only its missing progress tells.
    process.kill(firstPid, "SIGSTOP");
    const stoppedAt = Date.now();
    const [stalledPid, reason] = await waitFor(sup, "stalled");
    expect(stalledPid).toBe(firstPid);
    expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(1500);
    expect(reason).toMatch(/no progress for \d+ s/);
    const [died] = await waitFor(sup, "died");
    expect(died.details).toMatchObject({ pid: firstPid, signal: "SIGKILL" });
    expect(died.message).toMatch(/killed: no progress for \d+ s/);
    const [secondPid] = await waitFor(sup, "started");
    expect(secondPid).not.toBe(firstPid);
    await sup.close();
  });

  describe("fed on stdin", () => {
    /** FFmpeg reading raw audio from stdin: it reports progress only while input arrives. */
    const stdinArgs = () => baseArgs().opt("-f", "s16le").opt("-ar", "8000").opt("-ac", "1").input("pipe:0").opt("-f", "null").output("-").build();
    const oneSecond = () => Buffer.alloc(16_000);

    test("a feeder that pauses is no stall; input the child does not read is", async () => {
      const ffmpeg = await resolveBinary("ffmpeg");
      const sup = new FfmpegSupervisor({ name: "fed", binary: ffmpeg, logger: quiet, args: stdinArgs, pipeStdin: true, stallTimeoutMs: 2000 });
      const stalls: string[] = [];
      sup.on("stalled", (_pid, reason) => stalls.push(reason));
      sup.start();
      const feeding = setInterval(() => sup.write(oneSecond()), 100);
      const [pid] = await waitFor(sup, "started");
      clearInterval(feeding);
      // Nothing written for twice the timeout: FFmpeg waits on its input, as it should.
      await new Promise((resolve) => setTimeout(resolve, 4000));
      expect(stalls).toEqual([]);
      process.kill(pid, "SIGSTOP");
      // Input keeps coming and is not reported on: that is a stall.
      const stillFeeding = setInterval(() => sup.write(Buffer.alloc(1600)), 100);
      const [, reason] = await waitFor(sup, "stalled").finally(() => clearInterval(stillFeeding));
      expect(reason).toMatch(/no progress/);
      await sup.close();
    });

    test("input the child does not take is reported as its backlog (what the feeder bounds)", async () => {
      const ffmpeg = await resolveBinary("ffmpeg");
      const sup = new FfmpegSupervisor({ name: "backlog", binary: ffmpeg, logger: quiet, args: stdinArgs, pipeStdin: true, stallTimeoutMs: 60_000 });
      sup.start();
      const feeding = setInterval(() => sup.write(oneSecond()), 100);
      const [pid] = await waitFor(sup, "started");
      clearInterval(feeding);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(sup.inputBacklogBytes).toBe(0);
      process.kill(pid, "SIGSTOP");
      // The pipe takes 64 KiB; the rest waits on our side.
      for (let i = 0; i < 100; i++) sup.write(oneSecond());
      expect(sup.inputBacklogBytes).toBeGreaterThan(1_000_000);
      await sup.close();
    });
  });

  test("reads output pipes as FFmpeg fills them, per child, and says when a child's outputs are complete", async () => {
    const ffmpeg = await resolveBinary("ffmpeg");
    // Two outputs on fds 3 and 4: a fragmented MP4 (what the CMAF ladder writes) and raw bytes.
    const args = () =>
      baseArgs()
        .opt("-f", "lavfi")
        .input("testsrc2=size=160x80:rate=10:duration=1")
        .opt("-map", "0:v")
        .opt("-c:v", "mpeg4")
        .opt("-f", "mp4")
        .opt("-movflags", "+empty_moov+frag_keyframe")
        .output("pipe:3")
        .opt("-map", "0:v")
        .opt("-c:v", "rawvideo")
        .opt("-f", "rawvideo")
        .output("pipe:4")
        .build();
    const sup = new FfmpegSupervisor({ name: "outputs", binary: ffmpeg, logger: quiet, args, outputPipes: 2, restart: false });
    const received: Buffer[][] = [[], []];
    const order: string[] = [];
    sup.on("output", (index, chunk, pid) => {
      expect(pid).toBe(sup.pid);
      received[index]!.push(chunk);
    });
    sup.on("outputsClosed", () => order.push("outputsClosed"));
    sup.on("exited", () => order.push("exited"));
    sup.start();
    await waitFor(sup, "exited");
    expect(order).toEqual(["outputsClosed", "exited"]);
    const mp4 = Buffer.concat(received[0]!);
    expect(mp4.subarray(4, 8).toString("latin1")).toBe("ftyp");
    expect(mp4.includes(Buffer.from("moof"))).toBe(true);
    // 10 frames of 160x80 yuv420p, every byte delivered.
    expect(Buffer.concat(received[1]!).length).toBe(10 * 160 * 80 * 1.5);
    await sup.close();
  });
});
