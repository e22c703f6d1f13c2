import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { access, chmod, constants, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { MissingDependencyError, type Rendition, type ResolvedBinary } from "@live360/core";
import { freePort, waitFor } from "@live360/testkit";
import { floorArgs, referenceExecArgs, referenceSuffix } from "./ladder-args.js";
import { fileReader, type HlsReader } from "./playlists.js";

/** A stack ready for a publisher: where its process tree starts, where to send, where to read. */
export interface RunningStack {
  rootPid: number;
  /** An RTMP URL, or "stdin" for the floor (the publisher's FLV is piped into it). */
  ingest: string;
  stdin: NodeJS.WritableStream | undefined;
  hls: HlsReader;
  masterPath: string;
  stop(): Promise<void>;
}

export interface StackDefinition {
  id: string;
  label: string;
  /** The segment (fragment) length the stack is configured for. */
  segmentSeconds: number;
  /** Why the stack cannot run here, if it cannot. */
  unavailable(): Promise<string | undefined>;
  start(workDir: string): Promise<RunningStack>;
}

export interface StackContext {
  ffmpeg: ResolvedBinary;
  ladder: readonly Rendition[];
}

const STREAM = "bench";
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const LIVE360_CLI = path.join(REPO_ROOT, "packages/cli/dist/main.js");

function exitOf(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("close", () => resolve()));
}

/** SIGTERM (or the given signal), then SIGKILL if the process outlives `graceMs`. */
async function terminate(child: ChildProcess, graceMs: number, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  const exited = exitOf(child);
  child.kill(signal);
  const killer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(killer);
}

function collectStderr(child: ChildProcess): () => string {
  let tail = "";
  child.stderr?.on("data", (d: Buffer) => (tail = (tail + d.toString()).slice(-4000)));
  return () => tail;
}

export function floorStack(ctx: StackContext): StackDefinition {
  return {
    id: "floor",
    label: "floor: one FFmpeg, ladder → HLS",
    segmentSeconds: 2,
    unavailable: async () => undefined,
    async start(workDir) {
      const outDir = path.join(workDir, "hls");
      await mkdir(outDir, { recursive: true });
      const child = spawn(ctx.ffmpeg.path, floorArgs("pipe:0", ctx.ladder, outDir, 2), { stdio: ["pipe", "ignore", "pipe"] });
      const stderr = collectStderr(child);
      child.stdin!.on("error", () => undefined);
      child.once("close", (code) => {
        if (code !== 0) process.stderr.write(`floor ffmpeg exited with ${code}: ${stderr()}\n`);
      });
      return {
        rootPid: child.pid!,
        ingest: "stdin",
        stdin: child.stdin!,
        hls: fileReader(outDir),
        masterPath: "master.m3u8",
        stop: () => terminate(child, 10_000),
      };
    },
  };
}

export function live360Stack(ctx: StackContext, lowLatency: boolean): StackDefinition {
  return {
    id: lowLatency ? "live360-low-latency" : "live360",
    label: lowLatency ? "live360 origin, low latency (1 s)" : "live360 origin (2 s)",
    segmentSeconds: lowLatency ? 1 : 2,
    unavailable: async () => (existsSync(LIVE360_CLI) ? undefined : "live360 origin not built yet"),
    async start(workDir) {
      const [rtmpPort, httpPort] = [await freePort(), await freePort()];
      const args = [LIVE360_CLI, "origin", "--rtmp-port", String(rtmpPort), "--http-port", String(httpPort)];
      args.push("--bind", "127.0.0.1", "--data-dir", path.join(workDir, "data"), "--shutdown-grace", "15");
      if (lowLatency) args.push("--low-latency");
      const child = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, LIVE360_LOG_LEVEL: "warn" } });
      const stderr = collectStderr(child);
      const base = `http://127.0.0.1:${httpPort}`;
      await waitFor(
        "the live360 origin to be ready",
        async () => {
          if (child.exitCode !== null) throw new Error(`live360 origin exited with ${child.exitCode}: ${stderr()}`);
          return (await fetch(`${base}/readyz`).catch(() => undefined))?.ok;
        },
        { timeoutMs: 30_000 },
      );
      return {
        rootPid: child.pid!,
        ingest: `rtmp://127.0.0.1:${rtmpPort}/live/${STREAM}`,
        stdin: undefined,
        hls: fileReader(path.join(workDir, "data", "hls")),
        masterPath: `${STREAM}/master.m3u8`,
        stop: () => terminate(child, 20_000),
      };
    },
  };
}

export async function resolveNginx(): Promise<string> {
  const candidates = [process.env.NGINX_PATH, ...(process.env.PATH ?? "").split(path.delimiter).map((d) => path.join(d, "nginx")), "/usr/sbin/nginx"];
  for (const candidate of candidates) {
    if (candidate && (await access(candidate, constants.X_OK).then(() => true, () => false))) return candidate;
  }
  throw new MissingDependencyError("nginx not found: apt-get install nginx libnginx-mod-rtmp, or set NGINX_PATH");
}

const RTMP_MODULE = "/usr/lib/nginx/modules/ngx_rtmp_module.so";

/** nginx's config syntax ends a directive at `;` and splits on spaces: quote such arguments. */
function nginxToken(arg: string): string {
  return /[\s;{}#'"]/.test(arg) ? `'${arg.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'` : arg;
}

/**
 * The reference architecture's origin (reference-architecture.md), with the bench's ladder
 * and x264 settings in its `exec ffmpeg`: application `live` records and republishes each
 * rendition to application `show`, which writes HLS with `hls_variant` making the master.
 */
export function nginxRtmpConfig(opts: {
  prefix: string;
  rtmpPort: number;
  httpPort: number;
  fragmentSeconds: number;
  execArgs: readonly string[];
  ladder: readonly Rendition[];
}): string {
  const variants = opts.ladder.map((r) => {
    const bandwidth = (r.passthrough ? 5000 : r.videoBitrateKbps) * 1000 + 128_000;
    return `      hls_variant ${referenceSuffix(r)} BANDWIDTH=${bandwidth};`;
  });
  return [
    `load_module ${RTMP_MODULE};`,
    "daemon off;",
    "worker_processes 1;",
    "error_log logs/error.log warn;",
    "pid logs/nginx.pid;",
    "events { worker_connections 1024; }",
    "rtmp {",
    "  server {",
    `    listen 127.0.0.1:${opts.rtmpPort};`,
    "    chunk_size 4000;",
    "    application live {",
    "      live on;",
    "      record all;",
    `      record_path ${opts.prefix}/recordings;`,
    "      record_unique on;",
    "      record_max_size 128000K;",
    `      exec ${opts.execArgs.map(nginxToken).join(" ")};`,
    "    }",
    "    application show {",
    "      live on;",
    "      hls on;",
    `      hls_path ${opts.prefix}/hls;`,
    "      hls_nested on;",
    "      hls_cleanup on;",
    "      hls_type live;",
    `      hls_fragment ${opts.fragmentSeconds}s;`,
    "      hls_playlist_length 60s;",
    ...variants,
    "    }",
    "  }",
    "}",
    "http {",
    "  access_log off;",
    `  client_body_temp_path ${opts.prefix}/tmp;`,
    `  proxy_temp_path ${opts.prefix}/tmp;`,
    `  fastcgi_temp_path ${opts.prefix}/tmp;`,
    `  uwsgi_temp_path ${opts.prefix}/tmp;`,
    `  scgi_temp_path ${opts.prefix}/tmp;`,
    "  types { application/vnd.apple.mpegurl m3u8; video/mp2t ts; }",
    "  server {",
    `    listen 127.0.0.1:${opts.httpPort};`,
    `    location /hls/ { root ${opts.prefix}; add_header Cache-Control max-age=3; }`,
    "  }",
    "}",
    "",
  ].join("\n");
}

export function nginxRtmpStack(ctx: StackContext, fragmentSeconds: number): StackDefinition {
  return {
    id: `nginx-rtmp-${fragmentSeconds}s`,
    label: `reference: nginx-rtmp + exec ffmpeg, ${fragmentSeconds} s fragments`,
    segmentSeconds: fragmentSeconds,
    async unavailable() {
      try {
        await resolveNginx();
      } catch (err) {
        return (err as Error).message;
      }
      return existsSync(RTMP_MODULE) ? undefined : `${RTMP_MODULE} missing: apt-get install libnginx-mod-rtmp`;
    },
    async start(workDir) {
      const nginx = await resolveNginx();
      const [rtmpPort, httpPort] = [await freePort(), await freePort()];
      for (const dir of ["logs", "tmp", "hls", "recordings"]) await mkdir(path.join(workDir, dir), { recursive: true });
      // Run as root, nginx's workers drop to `nobody`: they must reach the prefix (mkdtemp
      // makes it 0700) and write HLS and recordings.
      await chmod(workDir, 0o755);
      for (const dir of ["hls", "recordings"]) await chmod(path.join(workDir, dir), 0o777);
      const conf = path.join(workDir, "nginx.conf");
      const execArgs = referenceExecArgs(ctx.ffmpeg.path, rtmpPort, ctx.ladder);
      await writeFile(conf, nginxRtmpConfig({ prefix: workDir, rtmpPort, httpPort, fragmentSeconds, execArgs, ladder: ctx.ladder }));
      const child = spawn(nginx, ["-p", workDir, "-c", conf], { stdio: ["ignore", "ignore", "pipe"] });
      const stderr = collectStderr(child);
      const base = `http://127.0.0.1:${httpPort}`;
      await waitFor(
        "nginx to listen",
        async () => {
          if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}: ${stderr()}`);
          return (await fetch(`${base}/hls/`).catch(() => undefined)) !== undefined;
        },
        { timeoutMs: 30_000 },
      );
      return {
        rootPid: child.pid!,
        ingest: `rtmp://127.0.0.1:${rtmpPort}/live/${STREAM}`,
        stdin: undefined,
        hls: fileReader(path.join(workDir, "hls")),
        masterPath: `${STREAM}.m3u8`,
        // SIGQUIT: nginx's graceful shutdown.
        stop: () => terminate(child, 10_000, "SIGQUIT"),
      };
    },
  };
}
