import path from "node:path";
import { Command, Option } from "commander";
import { ConfigError, createLogger, parseNumberFlag, secretText } from "@live360/core";
import {
  ACCESS_LOG_TARGETS,
  DEFAULT_EDGE_CONFIG,
  ACCESS_SCRIPT_FILE,
  ORIGIN_VERIFY_ENV,
  ORIGIN_VERIFY_HEADER,
  SIGNING_KEYS_ENV,
  parseOriginVerifyValues,
  parsePeerSource,
  parseSigningKeys,
  STUB_STATUS_PATH,
  renderEdgeFiles,
  resolveEdgeConfig,
  runEdge,
  startEdgeMetrics,
  startEdgeInsight,
  type AccessLogTarget,
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
    resolver: flags.resolver ? { addresses: flags.resolver.split(",").map((a) => a.trim()), validSeconds: 10 } : undefined,
    accessLog: flags.accessLog,
    user: flags.user,
    drainDelaySeconds: parseNumberFlag("--drain-delay", flags.drainDelay),
    shutdownGraceSeconds: parseNumberFlag("--shutdown-grace", flags.shutdownGrace),
    // From a file (a mounted Secret) or the environment: a flag would show the keys in `ps` and shell history.
    signingKeys: signingKeysFrom(flags.signingKeysFile, process.env[SIGNING_KEYS_ENV]),
    signingMaxLifetimeSeconds: parseNumberFlag("--signing-max-lifetime", flags.signingMaxLifetime),
    ...originVerifyFrom(flags.originVerifyFile, process.env[ORIGIN_VERIFY_ENV]),
  });
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
    .option("--insight-port <port>", "viewer insight on this loopback port (UDP and TCP): CMCD and player beacons become per-stream viewer metrics on /metrics and /hls/<stream>/heatmap.json; off without it")
    .option("--insight-peers <peers>", INSIGHT_PEERS_HELP)
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

/** The metrics sidecar on its own, for a pod running the official nginx image. */
export function edgeMetricsCommand(): Command {
  const d = DEFAULT_EDGE_CONFIG;
  return new Command("edge-metrics")
    .description("Prometheus /metrics from an nginx stub_status page (the edge pod's metrics sidecar)")
    .option("--status-url <url>", "stub_status URL", `http://127.0.0.1:${d.statusPort}${STUB_STATUS_PATH}`)
    .option("--port <port>", "port for /metrics", String(d.metricsPort))
    .option("--bind <address>", "address to listen on", "0.0.0.0")
    .option("--insight-port <port>", "viewer insight: the loopback port nginx.conf sends CMCD lines (UDP) and beacons (TCP) to, as rendered with the same insightPort")
    .option("--insight-peers <peers>", INSIGHT_PEERS_HELP)
    .action(async (flags: { statusUrl: string; port: string; bind: string; insightPort?: string; insightPeers?: string }) => {
      const logger = createLogger("edge-metrics");
      const insight = flags.insightPort === undefined ? undefined : await startEdgeInsight(
              parseNumberFlag("--insight-port", flags.insightPort),
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
      });
    });
}
