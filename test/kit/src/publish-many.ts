import { spawn } from "node:child_process";
import { resolveBinary } from "@live360/core";
import type { Publisher } from "./media.js";

/**
 * Publishes one file in real time to several RTMP URLs from a single FFmpeg (tee muxer), as
 * an encoder feeding a primary and a backup origin does: both receive identical packets with
 * identical timestamps. A destination that fails (an origin killed) is dropped and the others
 * keep receiving.
 */
export async function publishFileToAll(file: string, urls: readonly string[], options: { loop?: boolean } = {}): Promise<Publisher> {
  const ffmpeg = await resolveBinary("ffmpeg");
  const args = ["-hide_banner", "-loglevel", "error", "-re"];
  if (options.loop) args.push("-stream_loop", "-1");
  const targets = urls.map((url) => `[f=flv:onfail=ignore]${url}`).join("|");
  args.push("-i", file, "-map", "0", "-c", "copy", "-f", "tee", targets);
  const child = spawn(ffmpeg.path, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  return {
    process: child,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
    stderr: () => stderr,
  };
}
