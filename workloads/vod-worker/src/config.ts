import os from "node:os";
import path from "node:path";
import {
  ConfigError,
  DEFAULT_LADDER,
  DEFAULT_TRANSCODE_DEADLINE,
  HLS_ENCRYPTION_FLAGS,
  MAX_VISIBILITY_TIMEOUT_SECONDS,
  MAX_WAIT_TIME_SECONDS,
  integerInRange,
  nonEmptyString,
  numberInRange,
  oneOf,
  port,
  validateBucketName,
  validateLadder,
  InvalidObjectNameError,
  resolveHlsEncryption,
  type HlsEncryptionConfig,
  type Rendition,
  type TranscodeDeadline,
} from "@live360/core";

/** What the lower rungs look like: the source's own projection, or re-projected to an equi-angular cubemap. */
export const OUTPUT_PROJECTIONS = ["equirect", "cubemap"] as const;
export type OutputProjection = (typeof OUTPUT_PROJECTIONS)[number];

/** Everything a VOD worker needs, fully resolved; build it with resolveVodWorkerConfig. */
export interface VodWorkerConfig {
  /** Assets go to `s3://<egressBucket>/vod/<stream>/<UTC timestamp>/`. */
  egressBucket: string;
  /** When set, jobs naming any other bucket are refused ("unknown-bucket"). */
  ingestBucket: string | undefined;
  /** Jobs worked on at the same time (each runs its own FFmpeg). */
  concurrency: number;
  /** Long poll: how long one receive waits for a message (SQS allows up to 20 s). */
  waitTimeSeconds: number;
  /**
   * How long a received message stays hidden. The heartbeat keeps extending it while the job
   * runs, so it only bounds how soon a job whose worker died is handed to another worker.
   */
  visibilityTimeoutSeconds: number;
  /** How often the heartbeat extends the visibility timeout (at most half of it). */
  heartbeatSeconds: number;
  /** A failed or refused job is retried after this, doubled per receive (capped at 15 min). */
  retryDelaySeconds: number;
  ladder: Rendition[];
  segmentSeconds: number;
  x264Preset: string;
  audioBitrateKbps: number;
  projection: OutputProjection;
  /** Downloads and FFmpeg output; one temporary directory per job below it. */
  workDir: string;
  /** HTTP port for /metrics, /healthz and /status; 0 runs no server (local mode serves its own). */
  httpPort: number;
  bindAddress: string;
  /** SIGTERM must end within Kubernetes' budget; the worker gives up waiting after this. */
  shutdownTimeoutSeconds: number;
  /**
   * A transcode reporting no progress for this long is killed and the job released for a retry.
   * FFmpeg reports twice a second; the margin is for a CPU-throttled node.
   */
  transcodeStallTimeoutSeconds: number;
  /**
   * A transcode still running after max(transcodeDeadlineMinSeconds, recording's duration ×
   * transcodeDeadlineFactor) is killed and its job released for a retry (the dead-letter queue
   * after maxReceiveCount). The stall watchdog catches an FFmpeg that stops reporting; this one
   * catches one that crawls, and bounds how long a heartbeat keeps a message from anyone else.
   */
  transcodeDeadlineFactor: number;
  /** The least time any transcode gets, however short the recording (see transcodeDeadlineFactor). */
  transcodeDeadlineMinSeconds: number;
  /**
   * AES-128 of the assets it writes (keys per period of an asset, derived from the secret: whoever
   * serves the keys needs the same secret); undefined: clear.
   */
  hlsEncryption: HlsEncryptionConfig | undefined;
}

export const DEFAULT_VOD_WORKER_CONFIG: Omit<VodWorkerConfig, "egressBucket"> = {
  ingestBucket: undefined,
  concurrency: 1,
  waitTimeSeconds: MAX_WAIT_TIME_SECONDS,
  visibilityTimeoutSeconds: 60,
  heartbeatSeconds: 20,
  retryDelaySeconds: 10,
  ladder: [...DEFAULT_LADDER],
  segmentSeconds: 6,
  x264Preset: "veryfast",
  audioBitrateKbps: 128,
  projection: "equirect",
  workDir: path.join(os.tmpdir(), "live360-vod"),
  httpPort: 9090,
  bindAddress: "0.0.0.0",
  shutdownTimeoutSeconds: 15,
  transcodeStallTimeoutSeconds: 60,
  transcodeDeadlineFactor: DEFAULT_TRANSCODE_DEADLINE.factor,
  transcodeDeadlineMinSeconds: DEFAULT_TRANSCODE_DEADLINE.minSeconds,
  hlsEncryption: undefined,
};

const X264_PRESETS = ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow"] as const;

export function resolveVodWorkerConfig(input: Partial<VodWorkerConfig>): VodWorkerConfig {
  const merged = { ...DEFAULT_VOD_WORKER_CONFIG, ...stripUndefined(input) };
  const config: VodWorkerConfig = {
    ...merged,
    egressBucket: bucket("egressBucket (--egress-bucket)", merged.egressBucket),
    ingestBucket: merged.ingestBucket === undefined ? undefined : bucket("ingestBucket (--ingest-bucket)", merged.ingestBucket),
    concurrency: integerInRange("concurrency (--concurrency)", merged.concurrency, 1, 16),
    waitTimeSeconds: integerInRange("waitTimeSeconds", merged.waitTimeSeconds, 0, MAX_WAIT_TIME_SECONDS),
    visibilityTimeoutSeconds: integerInRange("visibilityTimeoutSeconds (--visibility-timeout)", merged.visibilityTimeoutSeconds, 2, MAX_VISIBILITY_TIMEOUT_SECONDS),
    heartbeatSeconds: numberInRange("heartbeatSeconds (--heartbeat)", merged.heartbeatSeconds, 0.5, MAX_VISIBILITY_TIMEOUT_SECONDS),
    retryDelaySeconds: integerInRange("retryDelaySeconds (--retry-delay)", merged.retryDelaySeconds, 0, 900),
    ladder: validateLadder("ladder (--ladder)", [...merged.ladder]),
    segmentSeconds: numberInRange("segmentSeconds (--segment-seconds)", merged.segmentSeconds, 1, 30),
    x264Preset: oneOf("x264Preset (--preset)", merged.x264Preset, X264_PRESETS),
    audioBitrateKbps: integerInRange("audioBitrateKbps", merged.audioBitrateKbps, 32, 512),
    projection: oneOf("projection (--projection)", merged.projection, OUTPUT_PROJECTIONS),
    workDir: path.resolve(nonEmptyString("workDir (--work-dir)", merged.workDir, "give a writable directory")),
    httpPort: merged.httpPort === 0 ? 0 : port("httpPort (--http-port)", merged.httpPort),
    bindAddress: nonEmptyString("bindAddress (--bind)", merged.bindAddress, "give an IP address such as 0.0.0.0"),
    shutdownTimeoutSeconds: numberInRange("shutdownTimeoutSeconds", merged.shutdownTimeoutSeconds, 1, 20),
    transcodeStallTimeoutSeconds: numberInRange("transcodeStallTimeoutSeconds (--transcode-stall-timeout)", merged.transcodeStallTimeoutSeconds, 1, 3600),
    // Below 1 demands faster than real time: for fast nodes (and tests), never below the minimum.
    transcodeDeadlineFactor: numberInRange("transcodeDeadlineFactor (--transcode-deadline-factor)", merged.transcodeDeadlineFactor, 0.01, 100),
    transcodeDeadlineMinSeconds: numberInRange("transcodeDeadlineMinSeconds (--transcode-deadline-min)", merged.transcodeDeadlineMinSeconds, 1, 86_400),
    hlsEncryption: merged.hlsEncryption && resolveHlsEncryption(merged.hlsEncryption, HLS_ENCRYPTION_FLAGS),
  };
  // A heartbeat must land well before the visibility runs out, or a slow API call would let a
  // second worker take the job while the first still works on it.
  if (config.heartbeatSeconds > config.visibilityTimeoutSeconds / 2) {
    throw new ConfigError(
      "heartbeatSeconds (--heartbeat)",
      config.heartbeatSeconds,
      `use at most half the visibility timeout (${config.visibilityTimeoutSeconds / 2} s), e.g. a third of it`,
    );
  }
  return config;
}

/** How long the transcode of a recording lasting `durationSeconds` may run (see transcodeDeadlineFactor). */
/** The worker's transcode deadline as @live360/core computes it (transcodeDeadlineSeconds). */
export function transcodeDeadline(config: Pick<VodWorkerConfig, "transcodeDeadlineFactor" | "transcodeDeadlineMinSeconds">): TranscodeDeadline {
  return { factor: config.transcodeDeadlineFactor, minSeconds: config.transcodeDeadlineMinSeconds };
}

function bucket(field: string, value: unknown): string {
  const name = nonEmptyString(field, value, "give the bucket's name");
  try {
    validateBucketName(name);
  } catch (error) {
    if (error instanceof InvalidObjectNameError) throw new ConfigError(field, value, error.reason);
    throw error;
  }
  return name;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
