import { fileURLToPath } from "node:url";
import { existsSync } from "node:fs";
import path from "node:path";
import { Option, type Command } from "commander";
import { PROJECTIONS, parseLadder, parseNumberFlag } from "@live360/core";
import { loadPublishKeys, resolveOriginConfig, DEFAULT_ORIGIN_CONFIG, type OriginConfig } from "@live360/origin";

/** Raw flag values as commander hands them over (strings until validated). */
export interface OriginFlags {
  rtmpPort: string;
  httpPort: string;
  bind: string;
  dataDir: string;
  ladder?: string;
  lowLatency?: boolean;
  window: string;
  reconnectGrace: string;
  shutdownGrace: string;
  publishKeysFile?: string;
  adminToken?: string;
  playerDir?: string;
  projection: string;
}

/** The flags shared by `live360 origin` and `live360 local`. */
export function addOriginOptions(command: Command): Command {
  const d = DEFAULT_ORIGIN_CONFIG;
  return command
    .option("--rtmp-port <port>", "RTMP ingest port (publish to rtmp://host:<port>/live/<stream>)", String(d.rtmpPort))
    .option("--http-port <port>", "HTTP port for HLS, /stat, /metrics, /healthz, /readyz and /player/", String(d.httpPort))
    .option("--bind <address>", "address to listen on", d.bindAddress)
    .option("--data-dir <dir>", "directory for HLS output, recordings and ingest state", d.dataDir)
    .option("--ladder <rungs>", 'ABR ladder: "source" (pass-through) and WIDTHxHEIGHT:KBPSk rungs, e.g. source,1920x960:5000k,960x480:1600k (default: source,1920x960,1080x540,960x480; only rungs smaller than the source are used)')
    .option("--low-latency", "1 s segments and zero-latency x264 tuning (set the encoder's keyframe interval to 1 s)")
    .option("--window <segments>", "segments kept in each live playlist", String(d.windowSegments))
    .option("--reconnect-grace <seconds>", "how long an ended stream stays (with an end list) so its encoder can reconnect", String(d.reconnectGraceSeconds))
    .option("--shutdown-grace <seconds>", "upper bound for a clean shutdown on SIGTERM", String(d.shutdownGraceSeconds))
    .option("--publish-keys-file <file>", "require publish keys: lines of stream=secret; publishers add ?key=<secret> (also: env LIVE360_PUBLISH_KEYS)")
    .addOption(new Option("--admin-token <token>", "bearer token for POST /control/drop/<stream>; the control API is off without it").env("LIVE360_ADMIN_TOKEN"))
    .option("--player-dir <dir>", "static player files served at /player/ (default: the built player)")
    .addOption(new Option("--projection <kind>", "projection of the source, recorded with recordings").choices(PROJECTIONS).default(d.projection));
}

/** The player built in this checkout (player/dist), when there is one. */
function defaultPlayerDir(): string | undefined {
  const candidate = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../../player/dist");
  return existsSync(path.join(candidate, "index.html")) ? candidate : undefined;
}

export function originConfigFromFlags(flags: OriginFlags): OriginConfig {
  return resolveOriginConfig({
    rtmpPort: parseNumberFlag("--rtmp-port", flags.rtmpPort),
    httpPort: parseNumberFlag("--http-port", flags.httpPort),
    bindAddress: flags.bind,
    dataDir: flags.dataDir,
    ladder: flags.ladder ? parseLadder("--ladder", flags.ladder) : undefined,
    lowLatency: flags.lowLatency ?? false,
    windowSegments: parseNumberFlag("--window", flags.window),
    reconnectGraceSeconds: parseNumberFlag("--reconnect-grace", flags.reconnectGrace),
    shutdownGraceSeconds: parseNumberFlag("--shutdown-grace", flags.shutdownGrace),
    publishKeys: loadPublishKeys(flags.publishKeysFile, process.env.LIVE360_PUBLISH_KEYS),
    adminToken: flags.adminToken,
    playerDir: flags.playerDir ? path.resolve(flags.playerDir) : defaultPlayerDir(),
    projection: flags.projection as OriginConfig["projection"],
  });
}
