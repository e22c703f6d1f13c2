import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import type { ResolvedBinary } from "@live360/core";

/**
 * The encoder stand-in: `ffmpeg -re -i <file> -c copy -f flv <target>`, sending in real time.
 * Its progress reports give the send clock: `-re` never sends a packet before its time, so
 * the smallest (wall clock − media time sent) over the run is the instant media time 0 was
 * sent, and frame n went out at that instant + n / fps.
 */
export class Publisher {
  readonly exited: Promise<number | null>;
  private sendStartMs = Number.POSITIVE_INFINITY;
  private stderrTail: string[] = [];

  private constructor(readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => child.once("close", (code) => resolve(code)));
    let block: string[] = [];
    createInterface({ input: child.stderr! }).on("line", (line) => {
      if (!/^[a-z_0-9]+=/.test(line)) {
        this.stderrTail = [...this.stderrTail.slice(-7), line];
        return;
      }
      block.push(line);
      if (!line.startsWith("progress=")) return;
      const outTime = block.find((l) => l.startsWith("out_time_us="));
      block = [];
      const outTimeUs = Number(outTime?.slice("out_time_us=".length));
      if (Number.isFinite(outTimeUs) && outTimeUs > 0) this.sendStartMs = Math.min(this.sendStartMs, Date.now() - outTimeUs / 1000);
    });
  }

  /** `target` is an RTMP URL, or `pipe:1` to read the stream from `child.stdout`. */
  static start(ffmpeg: ResolvedBinary, file: string, target: string): Publisher {
    const args = ["-hide_banner", "-loglevel", "error", "-nostats", "-progress", "pipe:2", "-stats_period", "0.1"];
    args.push("-re", "-i", file, "-map", "0", "-c", "copy", "-f", "flv", target);
    const child = spawn(ffmpeg.path, args, { stdio: ["ignore", target === "pipe:1" ? "pipe" : "ignore", "pipe"] });
    return new Publisher(child);
  }

  /** Wall-clock milliseconds at which media time 0 was sent (NaN before any progress). */
  get sendStartEpochMs(): number {
    return Number.isFinite(this.sendStartMs) ? this.sendStartMs : Number.NaN;
  }

  get errors(): string {
    return this.stderrTail.join(" | ");
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGTERM");
    await this.exited;
  }
}
