import { fileURLToPath } from "node:url";
import { existsSync } from "node:fs";
import path from "node:path";
import { Option, type Command } from "commander";
import { ConfigError, PROJECTIONS, S3Storage, SqsQueue, loadPublishKeys, parseLadder, parseNumberFlag, type Logger } from "@live360/core";
import {
  DEFAULT_ORIGIN_CONFIG,
  HLS_FORMATS,
  DEFAULT_RTMPS_PORT,
  UploadingRecordingSink,
  createOriginMetrics,
  loadAdminToken,
  resolveOriginConfig,
  type OriginConfig,
  type OriginOptions,
  type OriginConfigInput,
} from "@live360/origin";
import { collect } from "./flags.js";
import { addHlsEncryptionOptions, hlsEncryptionFromFlags, type HlsEncryptionFlags } from "./hls-encryption-options.js";

/** Raw flag values as commander hands them over (strings until validated). */
export interface OriginFlags extends ServiceEndpointFlags, HlsEncryptionFlags {
  rtmpPort: string;
  rtmpsPort: string;
  tlsCertFile?: string;
  tlsKeyFile?: string;
  httpPort: string;
  bind: string;
  dataDir: string;
  ladder?: string;
  lowLatency?: boolean;
  hlsFormat: string;
  partTarget: string;
  partHoldBack: string;
  window: string;
  reconnectGrace: string;
  shutdownGrace: string;
  allowStream?: string[];
  publishKeysFile?: string;
  adminTokenFile?: string;
  /** Only to refuse it with a better message than "unknown option" (see originConfigFromFlags). */
  adminToken?: string;
  playerDir?: string;
  projection: string;
  ingestBucket?: string;
  queueUrl?: string;
  peer: string[];
  waitForPeers?: boolean;
  maxConnections: string;
  maxConnectionsPerAddress: string;
  maxStreams: string;
  rtmpPublishTimeout: string;
  rtmpIdleTimeout: string;
  maxRtmpMessageBytes: string;
  maxChunkStreams: string;
  httpMaxConnections: string;
  httpKeepaliveTimeout: string;
  httpHeadersTimeout: string;
  httpRequestTimeout: string;
  httpSendTimeout: string;
}

/** The flags shared by `live360 origin` and `live360 local`. */
export function addOriginOptions(command: Command): Command {
  const d = DEFAULT_ORIGIN_CONFIG;
  command
    .option("--rtmp-port <port>", "RTMP ingest port (publish to rtmp://host:<port>/live/<stream>)", String(d.rtmpPort))
    .option("--rtmps-port <port>", "RTMPS ingest port, with --tls-cert-file and --tls-key-file (publish to rtmps://host:<port>/live/<stream>)", String(DEFAULT_RTMPS_PORT))
    .option("--tls-cert-file <file>", "PEM certificate (chain) for RTMPS, e.g. a kubernetes.io/tls Secret's tls.crt; read again when it changes")
    .option("--tls-key-file <file>", "PEM private key for RTMPS (tls.key)");
  addHlsEncryptionOptions(command, "the HLS it serves (the same secret on both origins)")
    .option("--http-port <port>", "HTTP port for HLS, /stat, /metrics, /healthz, /readyz and /player/", String(d.httpPort))
    .option("--bind <address>", "address to listen on", d.bindAddress)
    .option("--data-dir <dir>", "directory for HLS output, recordings and ingest state", d.dataDir)
    .option("--ladder <rungs>", 'ABR ladder: "source" (pass-through) and WIDTHxHEIGHT:KBPSk rungs, e.g. source,1920x960:5000k,960x480:1600k (default: source,1920x960,1080x540,960x480; only rungs smaller than the source are used)')
    .option("--low-latency", "1 s segments and zero-latency x264 tuning (set the encoder's keyframe interval to 1 s)")
    .addOption(
      new Option("--hls-format <format>", "ts: MPEG-TS segments (every player); cmaf: fragmented-MP4 segments with Low-Latency HLS parts, blocking playlist reload and preload hints")
        .choices(HLS_FORMATS)
        .default(d.hlsFormat),
    )
    .option("--part-target <seconds>", "LL-HLS part duration with --hls-format cmaf (at most half a segment)", String(d.partTargetSeconds))
    .option("--part-hold-back <parts>", "PART-HOLD-BACK in part targets with --hls-format cmaf: how far behind the live edge LL-HLS players aim (at least 2; 3 recommended)", String(d.partHoldBackParts))
    .option("--window <segments>", "segments kept in each live playlist", String(d.windowSegments))
    .option("--reconnect-grace <seconds>", "how long an ended stream stays (with an end list) so its encoder can reconnect", String(d.reconnectGraceSeconds))
    .option("--shutdown-grace <seconds>", "upper bound for a clean shutdown on SIGTERM", String(d.shutdownGraceSeconds))
    .option("--allow-stream <name>", "take only this stream (repeatable): any other name is refused (unknown-stream); without it any valid name", collect)
    .option("--publish-keys-file <file>", "require publish keys: lines of stream=secret; publishers add ?key=<secret> (also: env LIVE360_PUBLISH_KEYS)")
    .option("--admin-token-file <file>", "file holding the bearer token for POST /control/drop/<stream> and the full /stat (also: env LIVE360_ADMIN_TOKEN); the control API is off without it")
    .addOption(new Option("--admin-token <token>").hideHelp())
    .option("--player-dir <dir>", "static player files served at /player/ (default: the built player)")
    .addOption(new Option("--projection <kind>", "projection of the source, recorded with recordings").choices(PROJECTIONS).default(d.projection))
    .option(
      "--peer <url>",
      "another origin of the same event (repeatable): a starting stream takes its segment numbers from a peer that has it, so an edge failing over finds the same names",
      collect,
      [] as string[],
    )
    .option("--wait-for-peers", "wait up to one segment for a peer that has the stream but has not numbered it yet (the backup origin)")
    .option("--max-connections <n>", "RTMP connections open at once, in all", String(d.limits.maxConnections))
    .option("--max-connections-per-address <n>", "RTMP connections open at once from one address (encoders behind one NAT or a load balancer share one)", String(d.limits.maxConnectionsPerAddress))
    .option("--max-streams <n>", "streams live on this origin at once; a publish beyond it is refused (too-many-streams)", String(d.limits.maxStreams))
    .option("--rtmp-publish-timeout <seconds>", "time from connect to the publish command before the connection is closed", String(d.limits.publishTimeoutSeconds))
    .option("--rtmp-idle-timeout <seconds>", "time without a byte from a client before its connection is closed", String(d.limits.idleTimeoutSeconds))
    .option("--max-rtmp-message-bytes <bytes>", "largest RTMP message (one video frame) accepted", String(d.limits.maxMessageBytes))
    .option("--max-chunk-streams <n>", "RTMP chunk stream ids one connection may use", String(d.limits.maxChunkStreams))
    .option("--http-max-connections <n>", "HTTP connections open at once (edges, players, scrapers)", String(d.httpLimits.maxConnections))
    .option("--http-keepalive-timeout <seconds>", "how long an idle HTTP connection stays open; more than the edge's upstream keep-alive", String(d.httpLimits.keepAliveTimeoutSeconds))
    .option("--http-headers-timeout <seconds>", "time to receive a request's headers before answering 408", String(d.httpLimits.headersTimeoutSeconds))
    .option("--http-request-timeout <seconds>", "time to receive a whole request (not to answer it) before answering 408", String(d.httpLimits.requestTimeoutSeconds))
    .option("--http-send-timeout <seconds>", "time a response may make no progress (a client that stops reading) before its connection is closed", String(d.httpLimits.sendTimeoutSeconds))
    .option("--ingest-bucket <bucket>", "upload finished recordings to s3://<bucket>/recordings/<stream>/<UTC time>.mp4 (with --queue-url)")
    .option("--queue-url <url>", "SQS queue that gets a VOD job for every uploaded recording (with --ingest-bucket)");
  return addServiceEndpointOptions(command);
}

/** Where S3 and SQS are: shared by every command that talks to them. */
export interface ServiceEndpointFlags {
  s3Endpoint?: string;
  sqsEndpoint?: string;
  region?: string;
}

export function addServiceEndpointOptions(command: Command): Command {
  return command
    .option("--s3-endpoint <url>", "S3-compatible endpoint instead of AWS S3 (path-style addressing)")
    .option("--sqs-endpoint <url>", "SQS-compatible endpoint instead of AWS SQS")
    .option("--region <region>", "AWS region (default: AWS_REGION, else us-east-1)");
}

/** Credentials come from the SDK's chain (environment, IRSA / pod identity, instance profile). */
export function s3StorageFromFlags(flags: ServiceEndpointFlags): S3Storage {
  return new S3Storage({ endpoint: flags.s3Endpoint, region: flags.region });
}

export function sqsQueueFromFlags(flags: ServiceEndpointFlags, queueUrl: string): SqsQueue {
  return new SqsQueue({ queueUrl, endpoint: flags.sqsEndpoint, region: flags.region });
}

/** The player built in this checkout (player/dist), when there is one. */
function defaultPlayerDir(): string | undefined {
  const candidate = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../../player/dist");
  return existsSync(path.join(candidate, "index.html")) ? candidate : undefined;
}

/** RTMPS needs both files; one without the other is a mistake named at start-up. */
function rtmpsFromFlags(flags: OriginFlags): OriginConfigInput["rtmps"] {
  if (flags.tlsCertFile === undefined && flags.tlsKeyFile === undefined) return undefined;
  if (flags.tlsCertFile === undefined || flags.tlsKeyFile === undefined) {
    const [given, missing] = flags.tlsCertFile === undefined ? ["--tls-key-file", "--tls-cert-file"] : ["--tls-cert-file", "--tls-key-file"];
    throw new ConfigError(given, flags.tlsCertFile ?? flags.tlsKeyFile, `RTMPS needs a certificate and its key: add ${missing}`);
  }
  return { port: parseNumberFlag("--rtmps-port", flags.rtmpsPort), certFile: flags.tlsCertFile, keyFile: flags.tlsKeyFile };
}

export function originConfigFromFlags(flags: OriginFlags): OriginConfig {
  // Anyone on the machine can read a process's command line (ps, /proc/<pid>/cmdline).
  if (flags.adminToken !== undefined) {
    throw new ConfigError("--admin-token", "<hidden>", "a secret on the command line is readable by every user of the machine: put it in a file and pass --admin-token-file <file>, or set LIVE360_ADMIN_TOKEN");
  }
  return resolveOriginConfig({
    rtmpPort: parseNumberFlag("--rtmp-port", flags.rtmpPort),
    rtmps: rtmpsFromFlags(flags),
    hlsEncryption: hlsEncryptionFromFlags(flags),
    httpPort: parseNumberFlag("--http-port", flags.httpPort),
    bindAddress: flags.bind,
    dataDir: flags.dataDir,
    ladder: flags.ladder ? parseLadder("--ladder", flags.ladder) : undefined,
    lowLatency: flags.lowLatency ?? false,
    hlsFormat: flags.hlsFormat as OriginConfig["hlsFormat"],
    partTargetSeconds: parseNumberFlag("--part-target", flags.partTarget),
    partHoldBackParts: parseNumberFlag("--part-hold-back", flags.partHoldBack),
    windowSegments: parseNumberFlag("--window", flags.window),
    reconnectGraceSeconds: parseNumberFlag("--reconnect-grace", flags.reconnectGrace),
    shutdownGraceSeconds: parseNumberFlag("--shutdown-grace", flags.shutdownGrace),
    allowedStreams: flags.allowStream,
    publishKeys: loadPublishKeys(flags.publishKeysFile, process.env.LIVE360_PUBLISH_KEYS),
    adminToken: loadAdminToken(flags.adminTokenFile, process.env.LIVE360_ADMIN_TOKEN),
    playerDir: flags.playerDir ? path.resolve(flags.playerDir) : defaultPlayerDir(),
    projection: flags.projection as OriginConfig["projection"],
    peers: flags.peer,
    waitForPeers: flags.waitForPeers ?? false,
    limits: {
      maxConnections: parseNumberFlag("--max-connections", flags.maxConnections),
      maxConnectionsPerAddress: parseNumberFlag("--max-connections-per-address", flags.maxConnectionsPerAddress),
      maxStreams: parseNumberFlag("--max-streams", flags.maxStreams),
      publishTimeoutSeconds: parseNumberFlag("--rtmp-publish-timeout", flags.rtmpPublishTimeout),
      idleTimeoutSeconds: parseNumberFlag("--rtmp-idle-timeout", flags.rtmpIdleTimeout),
      maxMessageBytes: parseNumberFlag("--max-rtmp-message-bytes", flags.maxRtmpMessageBytes),
      maxChunkStreams: parseNumberFlag("--max-chunk-streams", flags.maxChunkStreams),
    },
    httpLimits: {
      maxConnections: parseNumberFlag("--http-max-connections", flags.httpMaxConnections),
      keepAliveTimeoutSeconds: parseNumberFlag("--http-keepalive-timeout", flags.httpKeepaliveTimeout),
      headersTimeoutSeconds: parseNumberFlag("--http-headers-timeout", flags.httpHeadersTimeout),
      requestTimeoutSeconds: parseNumberFlag("--http-request-timeout", flags.httpRequestTimeout),
      sendTimeoutSeconds: parseNumberFlag("--http-send-timeout", flags.httpSendTimeout),
    },
  });
}

/**
 * With --ingest-bucket and --queue-url recordings go to S3 and a VOD job to SQS; without
 * both they stay in <data-dir>/recordings. One without the other is a mistake, not a mode.
 */
export function recordingOptionsFromFlags(flags: OriginFlags, logger: Logger): OriginOptions {
  if (!flags.ingestBucket && !flags.queueUrl) return { logger };
  if (!flags.ingestBucket) throw new ConfigError("--ingest-bucket", flags.ingestBucket, "give the bucket recordings go to, together with --queue-url");
  if (!flags.queueUrl) throw new ConfigError("--queue-url", flags.queueUrl, "give the SQS queue URL for VOD jobs, together with --ingest-bucket");
  const metrics = createOriginMetrics();
  const recordingSink = new UploadingRecordingSink({
    storage: s3StorageFromFlags(flags),
    queue: sqsQueueFromFlags(flags, flags.queueUrl),
    bucket: flags.ingestBucket,
    logger,
    metrics,
  });
  return { logger, metrics, recordingSink };
}
