import path from "node:path";
import { Command, Option } from "commander";
import { ConfigError, DEFAULT_KEY_ROTATION_SEGMENTS, HLS_ENCRYPTION_FLAGS, createLogger, type Logger, parseNumberFlag, readSecretFile, resolveHlsEncryption, secretText } from "@live360/core";
import {
  ACCESS_LOG_TARGETS,
  DEFAULT_EDGE_CONFIG,
  ACCESS_SCRIPT_FILE,
  ORIGIN_VERIFY_ENV,
  ORIGIN_VERIFY_HEADER,
  SIGNING_KEYS_ENV,
  parseOriginVerifyValues,
  insightSpoolDir,
  parsePeerSource,
  parseSigningKeys,
  STUB_STATUS_PATH,
  renderEdgeFiles,
  resolveEdgeConfig,
  runEdge,
  startEdgeMetrics,
  startEdgeInsight,
  startLlHlsRelay,
  type AccessLogTarget,
  type LlHlsRelay,
  type EdgeConfig,
  type EdgeConfigInput,
} from "@live360/edge";
import { collect } from "./flags.js";
import { closeOnSignal } from "./lifecycle.js";

const INSIGHT_PEERS_HELP = "other edges whose heatmaps this one adds to its own: dns:<name>:<port> (a headless Service of the edge pods, their metrics port) or their metrics URLs, comma-separated";

/** Raw flag values as commander hands them over (strings until validated). */
interface EdgeFlags {
  origin: string[];
  listen: string;
  bind: string;
  cacheDir: string;
  cacheMaxSize: string;
  workDir: string;
  statusPort: string;
  metricsPort: string;
  insightPort?: string;
  llHlsRelayPort?: string;
  insightPeers?: string;
  resolver?: string;
  accessLog: AccessLogTarget;
  user?: string;
  drainDelay: string;
  shutdownGrace: string;
  printConfig?: string | true;
  signingKeysFile?: string;
  signingMaxLifetime: string;
  originVerifyFile?: string;
  vodOrigin?: string;
  hlsEncryptionSecretFile?: string;
}

function edgeConfigFromFlags(flags: EdgeFlags): EdgeConfig {
  return resolveEdgeConfig({
    origins: flags.origin,
    listenPort: parseNumberFlag("--listen", flags.listen),
    listenAddress: flags.bind,
    cache: { dir: flags.cacheDir, maxSizeMegabytes: parseNumberFlag("--cache-max-size", flags.cacheMaxSize) },
    workDir: flags.workDir,
    statusPort: parseNumberFlag("--status-port", flags.statusPort),
    metricsPort: parseNumberFlag("--metrics-port", flags.metricsPort),
    insightPort: flags.insightPort === undefined ? undefined : parseNumberFlag("--insight-port", flags.insightPort),
    llHlsRelayPort: flags.llHlsRelayPort === undefined ? undefined : parseNumberFlag("--ll-hls-relay-port", flags.llHlsRelayPort),
    resolver: flags.resolver ? { addresses: flags.resolver.split(",").map((a) => a.trim()), validSeconds: 10 } : undefined,
    accessLog: flags.accessLog,
    user: flags.user,
    drainDelaySeconds: parseNumberFlag("--drain-delay", flags.drainDelay),
    shutdownGraceSeconds: parseNumberFlag("--shutdown-grace", flags.shutdownGrace),
    // From a file (a mounted Secret) or the environment: a flag would show the keys in `ps` and shell history.
    signingKeys: signingKeysFrom(flags.signingKeysFile, process.env[SIGNING_KEYS_ENV]),
    signingMaxLifetimeSeconds: parseNumberFlag("--signing-max-lifetime", flags.signingMaxLifetime),
    ...originVerifyFrom(flags.originVerifyFile, process.env[ORIGIN_VERIFY_ENV]),
    vodOrigin: flags.vodOrigin,
    // Checked here as the worker reads it; nginx reads the file itself on every key request.
    ...(flags.hlsEncryptionSecretFile === undefined ? {} : { hlsEncryptionSecretFile: checkedHlsSecretFile(flags.hlsEncryptionSecretFile) }),
  });
}

/** The VOD keys' secret file, readable and long enough now, as an absolute path for nginx. */
function checkedHlsSecretFile(file: string): string {
  const field = `hlsEncryptionSecretFile (${HLS_ENCRYPTION_FLAGS.secret})`;
  resolveHlsEncryption({ secret: readSecretFile(field, file).trim(), rotationSegments: DEFAULT_KEY_ROTATION_SEGMENTS }, HLS_ENCRYPTION_FLAGS);
  return path.resolve(file);
}

/**
 * CDN-only from `--origin-verify-file` (checked now, read by nginx on every request, so the file
 * can be rotated under a running edge), else from LIVE360_EDGE_ORIGIN_VERIFY; neither: open edge.
 */
function originVerifyFrom(file: string | undefined, env: string | undefined): Pick<EdgeConfigInput, "originVerifyFile" | "originVerifyValues"> {
  const text = secretText("originVerifyValues (--origin-verify-file)", file, env);
  if (text === undefined) return {};
  const values = parseOriginVerifyValues(file || ORIGIN_VERIFY_ENV, text);
  return file ? { originVerifyFile: path.resolve(file) } : { originVerifyValues: values };
}

/** Signing keys from `--signing-keys-file`, else LIVE360_EDGE_SIGNING_KEYS; undefined: no signed URLs. */
export function signingKeysFrom(file: string | undefined, env: string | undefined): Map<string, string> | undefined {
  const text = secretText("signingKeys (--signing-keys-file)", file, env);
  return text === undefined ? undefined : parseSigningKeys(file || SIGNING_KEYS_ENV, text);
}

function printConfig(config: EdgeConfig, which: string): void {
  const files = renderEdgeFiles(config);
  const text = files[which];
  if (text === undefined) {
    throw new ConfigError("--print-config", which, `choose one of ${Object.keys(files).join(", ")} (${ACCESS_SCRIPT_FILE} exists only with signed URLs or a CDN-only edge)`);
  }
  process.stdout.write(text);
}

export function edgeCommand(): Command {
  const d = DEFAULT_EDGE_CONFIG;
  return new Command("edge")
    .description(
      "Edge cache: nginx generated from typed config — request collapsing, primary → backup failover (also on 404), drain on SIGTERM, stub_status metrics",
    )
    .option("--origin <url>", "origin base URL, repeatable, in priority order: primary first, then backups", collect, [])
    .option("--listen <port>", "port viewers connect to", String(d.listenPort))
    .option("--bind <address>", "address to listen on", d.listenAddress)
    .option("--cache-dir <dir>", "cache directory (a tmpfs such as /dev/shm is fastest)", d.cache.dir)
    .option("--cache-max-size <megabytes>", "cache size limit", String(d.cache.maxSizeMegabytes))
    .option("--work-dir <dir>", "nginx.conf, pid file, temp files, access log and the drain flag", d.workDir)
    .option("--status-port <port>", "loopback port serving nginx stub_status", String(d.statusPort))
    .option("--metrics-port <port>", "Prometheus /metrics (stub_status under nginx-prometheus-exporter names)", String(d.metricsPort))
    .option("--insight-port <port>", "viewer insight, its server on this loopback port: CMCD and player beacons (spooled by nginx to <work-dir>/insight) become per-stream viewer metrics on /metrics and /hls/<stream>/heatmap.json; off without it")
    .option("--insight-peers <peers>", INSIGHT_PEERS_HELP)
    .option("--ll-hls-relay-port <port>", "LL-HLS: blocking reloads and held parts wait in a relay on this loopback port (one origin request each, every waiter answered at once) instead of on nginx's cache lock, which looks again only every 500 ms; off without it")
    .option("--resolver <addresses>", "DNS servers to re-resolve origin names with, comma-separated (nginx ≥ 1.27.3)")
    .addOption(new Option("--access-log <target>", "where the access log goes").choices(ACCESS_LOG_TARGETS).default(d.accessLog))
    .option("--user <name>", "user for nginx workers when started as root")
    .option("--drain-delay <seconds>", "after SIGTERM, how long readiness fails before nginx stops accepting", String(d.drainDelaySeconds))
    .option("--shutdown-grace <seconds>", "upper bound from SIGTERM to exit", String(d.shutdownGraceSeconds))
    .option("--print-config [file]", `print a generated file (nginx.conf, or ${ACCESS_SCRIPT_FILE}) and exit instead of running nginx`)
    .option("--signing-keys-file <file>", `signed URLs: keys as lines keyId=secret (≥ 32 characters each; two during a rotation; also: env ${SIGNING_KEYS_ENV}); media and keys are then served only under /s/<keyId>/<expires>/<signature>/hls/<stream>/`)
    .option("--signing-max-lifetime <seconds>", "a signed link expiring further ahead than this is refused", String(d.signingMaxLifetimeSeconds))
    .option(
      "--origin-verify-file <file>",
      `CDN-only: answer only requests whose ${ORIGIN_VERIFY_HEADER} header is one of the file's values (one per line, ≥ 32 characters; two during a rotation; also: env ${ORIGIN_VERIFY_ENV}); health checks stay open`,
    )
    .option("--vod-origin <url>", "serve on-demand assets under /vod/<stream>/<stamp>/ from the egress bucket at this URL (read without credentials), through the cache: https://<bucket>.s3.<region>.amazonaws.com or http://s3:7070/<bucket>")
    .option(`${HLS_ENCRYPTION_FLAGS.secret} <file>`, "encrypted VOD assets: the secret the VOD worker encrypted with; the edge derives each asset's keys from it and hands them to signed requests only")
    .action(async (flags: EdgeFlags) => {
      const config = edgeConfigFromFlags(flags);
      if (flags.printConfig !== undefined) {
        printConfig(config, flags.printConfig === true ? "nginx.conf" : flags.printConfig);
        return;
      }
      const runner = await runEdge(config, flags.insightPeers === undefined ? {} : { insightPeers: parsePeerSource("--insight-peers", flags.insightPeers) });
      runner.on("failed", () => process.exit(1));
      await closeOnSignal(() => runner.close());
    });
}

interface EdgeMetricsFlags {
  statusUrl: string;
  port: string;
  bind: string;
  insightPort?: string;
  insightDir: string;
  insightPeers?: string;
  llHlsRelayPort?: string;
  origin: string[];
  blockingReadTimeout: string;
}

/**
 * The LL-HLS relay in the metrics sidecar (the operator's edge pods, whose nginx container has no
 * Node): its origins and timeouts validated as the edge's own configuration would be.
 */
function startRelayFromFlags(flags: EdgeMetricsFlags, logger: Logger): Promise<LlHlsRelay> {
  const config = resolveEdgeConfig({
    origins: flags.origin,
    llHlsRelayPort: parseNumberFlag("--ll-hls-relay-port", flags.llHlsRelayPort!),
    blockingPlaylistReadTimeoutMs: parseNumberFlag("--blocking-read-timeout", flags.blockingReadTimeout),
  });
  return startLlHlsRelay(config, config.llHlsRelayPort!, logger.child("ll-hls-relay"));
}

/** The metrics sidecar on its own, for a pod running the official nginx image. */
export function edgeMetricsCommand(): Command {
  const d = DEFAULT_EDGE_CONFIG;
  return new Command("edge-metrics")
    .description("Prometheus /metrics from an nginx stub_status page (the edge pod's metrics sidecar)")
    .option("--status-url <url>", "stub_status URL", `http://127.0.0.1:${d.statusPort}${STUB_STATUS_PATH}`)
    .option("--port <port>", "port for /metrics", String(d.metricsPort))
    .option("--bind <address>", "address to listen on", "0.0.0.0")
    .option("--insight-port <port>", "viewer insight: the loopback port nginx.conf proxies heatmap requests to, as rendered with the same insightPort")
    .option("--insight-dir <dir>", "viewer insight: the directory nginx spools CMCD lines and beacons to (<nginx work dir>/insight)", insightSpoolDir(d))
    .option("--insight-peers <peers>", INSIGHT_PEERS_HELP)
    .option("--ll-hls-relay-port <port>", "LL-HLS: run the edge's relay (see `live360 edge --ll-hls-relay-port`) on this loopback port, as rendered into nginx.conf with the same llHlsRelayPort")
    .option("--origin <url>", "LL-HLS relay: origin base URL, repeatable, in the order of the edge's --origin", collect, [])
    .option("--blocking-read-timeout <ms>", "LL-HLS relay: how long an origin may take over a blocking reload or a held part, as in nginx.conf", String(d.blockingPlaylistReadTimeoutMs))
    .action(async (flags: EdgeMetricsFlags) => {
      const logger = createLogger("edge-metrics");
      const relay = flags.llHlsRelayPort === undefined ? undefined : await startRelayFromFlags(flags, logger);
      const insight = flags.insightPort === undefined ? undefined : await startEdgeInsight(
              parseNumberFlag("--insight-port", flags.insightPort),
              flags.insightDir,
              logger.child("insight"),
              flags.insightPeers === undefined ? undefined : parsePeerSource("--insight-peers", flags.insightPeers),
            );
      const server = await startEdgeMetrics({
        statusUrl: flags.statusUrl,
        port: parseNumberFlag("--port", flags.port),
        bindAddress: flags.bind,
        logger,
        ...(insight ? { extraRegistry: insight.registry, extraRoute: insight.localHeatmapRoute } : {}),
      });
      await closeOnSignal(async () => {
        await server.close();
        await insight?.server.close();
        await relay?.close();
      });
    });
}
