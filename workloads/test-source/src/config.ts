import { ConfigError, integerInRange, matching, nonEmptyString, numberInRange } from "@live360/core";

/** Everything the test source needs, fully resolved; build it with resolveTestSourceConfig. */
export interface TestSourceConfig {
  /**
   * Where to publish, e.g. `rtmp://127.0.0.1:1935/live/test`; several URLs (a primary and a
   * backup origin) get the same encoder output, as from an encoder with a backup ingest.
   */
  urls: string[];
  /**
   * stream → publish key (the origin's keys format): a URL whose stream has one is published with
   * `?key=<secret>`. Kept out of `urls` so logs and errors, which show the URLs, never show a key.
   */
  publishKeys: ReadonlyMap<string, string> | undefined;
  /** Equirectangular frames are twice as wide as they are tall. */
  width: number;
  height: number;
  fps: number;
  videoBitrateKbps: number;
  /**
   * Seconds between keyframes. Origins cut segments on the source's keyframes, so this is
   * the shortest segment they can make: 2 s for the default preset, 1 s for low latency.
   */
  keyframeIntervalSeconds: number;
  /** Stop after this many seconds of wall-clock time; undefined publishes until closed. */
  durationSeconds: number | undefined;
  toneHz: number;
  audioBitrateKbps: number;
  /** Monospaced, so the timecode does not jitter sideways as digits change. */
  fontFile: string;
  /** Backoff between reconnect attempts while the receiver is away. */
  reconnectInitialDelayMs: number;
  reconnectMaxDelayMs: number;
}

export type TestSourceInput = Partial<TestSourceConfig> & Pick<TestSourceConfig, "urls">;

export const DEFAULT_TEST_SOURCE_CONFIG: Omit<TestSourceConfig, "urls"> = {
  publishKeys: undefined,
  width: 1920,
  height: 960,
  fps: 30,
  videoBitrateKbps: 5000,
  keyframeIntervalSeconds: 2,
  durationSeconds: undefined,
  toneHz: 1000,
  audioBitrateKbps: 128,
  fontFile: "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
  reconnectInitialDelayMs: 500,
  reconnectMaxDelayMs: 5000,
};

const RTMP_URL = /^rtmps?:\/\/[^/\s:]+(:\d{1,5})?\/[^/\s]+\/[^\s]+$/;
/** A primary and a backup need two; every URL is one more upload of the whole stream, so few are allowed. */
export const MAX_TEST_SOURCE_URLS = 4;
const SIZE = /^(\d{2,5})x(\d{2,5})$/;

/** Parses `--size 1920x960`; the ratio and range are checked by resolveTestSourceConfig. */
export function parseSize(field: string, raw: string): { width: number; height: number } {
  const m = SIZE.exec(raw.trim());
  if (!m) throw new ConfigError(field, raw, "write the size as WIDTHxHEIGHT, e.g. 1920x960");
  return { width: Number(m[1]), height: Number(m[2]) };
}

/** Parses `--bitrate 5000` or `--bitrate 5000k` (kbit/s) and `--bitrate 5M` (Mbit/s). */
export function parseBitrateKbps(field: string, raw: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kKmM]?)$/.exec(raw.trim());
  if (!m) throw new ConfigError(field, raw, "give kbit/s such as 5000 or 5000k, or Mbit/s such as 5M");
  const value = Number(m[1]);
  return Math.round(m[2]?.toLowerCase() === "m" ? value * 1000 : value);
}

export function resolveTestSourceConfig(input: TestSourceInput): TestSourceConfig {
  const merged = { ...DEFAULT_TEST_SOURCE_CONFIG, ...stripUndefined(input) } as TestSourceConfig;
  const config: TestSourceConfig = {
    urls: resolveUrls(merged.urls),
    publishKeys: merged.publishKeys,
    width: integerInRange("width (--size)", merged.width, 64, 7680),
    height: integerInRange("height (--size)", merged.height, 32, 3840),
    fps: numberInRange("fps (--fps)", merged.fps, 1, 120),
    videoBitrateKbps: integerInRange("videoBitrateKbps (--bitrate)", merged.videoBitrateKbps, 100, 200_000),
    keyframeIntervalSeconds: numberInRange("keyframeIntervalSeconds (--keyframe-interval)", merged.keyframeIntervalSeconds, 0.1, 20),
    durationSeconds:
      merged.durationSeconds === undefined ? undefined : numberInRange("durationSeconds (--duration)", merged.durationSeconds, 0.5, 7 * 86_400),
    toneHz: numberInRange("toneHz", merged.toneHz, 20, 20_000),
    audioBitrateKbps: integerInRange("audioBitrateKbps", merged.audioBitrateKbps, 32, 512),
    // The path goes into an FFmpeg filter graph, whose syntax reserves these characters.
    fontFile: matching("fontFile (--font)", nonEmptyString("fontFile (--font)", merged.fontFile), /^[^'\\:,;[\]]+$/, "give a TrueType font path without ' \\ : , ; [ ]"),
    reconnectInitialDelayMs: integerInRange("reconnectInitialDelayMs", merged.reconnectInitialDelayMs, 10, 60_000),
    reconnectMaxDelayMs: integerInRange("reconnectMaxDelayMs", merged.reconnectMaxDelayMs, 10, 600_000),
  };
  if (config.width !== 2 * config.height) {
    throw new ConfigError("size (--size)", `${config.width}x${config.height}`, "use a 2:1 equirectangular size such as 1920x960 or 640x320");
  }
  if (config.height % 2 !== 0) {
    // H.264 4:2:0 needs even sides; width = 2 × height is then even too.
    throw new ConfigError("size (--size)", `${config.width}x${config.height}`, "use an even height, e.g. 1920x960");
  }
  if (config.reconnectMaxDelayMs < config.reconnectInitialDelayMs) {
    throw new ConfigError("reconnectMaxDelayMs", config.reconnectMaxDelayMs, `use at least reconnectInitialDelayMs (${config.reconnectInitialDelayMs})`);
  }
  return config;
}

function resolveUrls(urls: unknown): string[] {
  if (!Array.isArray(urls) || urls.length === 0) {
    throw new ConfigError("urls (--url)", urls, "give at least one RTMP URL, e.g. rtmp://127.0.0.1:1935/live/test");
  }
  if (urls.length > MAX_TEST_SOURCE_URLS) {
    throw new ConfigError("urls (--url)", urls, `give at most ${MAX_TEST_SOURCE_URLS} URLs: the stream is uploaded once per URL`);
  }
  const checked = urls.map((url: unknown) =>
    matching("url (--url)", url, RTMP_URL, "give an RTMP URL with an application and a stream, e.g. rtmp://127.0.0.1:1935/live/test"),
  );
  // A receiver keeps one publisher per stream, so the second connection would only be refused.
  const duplicate = checked.find((url, i) => checked.indexOf(url) !== i);
  if (duplicate !== undefined) throw new ConfigError("url (--url)", duplicate, "give each URL once");
  return checked;
}

/** Frames from one keyframe to the next: the interval rounded to whole frames (29.97 fps × 2 s → 60). */
export function keyframeIntervalFrames(config: Pick<TestSourceConfig, "fps" | "keyframeIntervalSeconds">): number {
  return Math.max(1, Math.round(config.fps * config.keyframeIntervalSeconds));
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The URL FFmpeg publishes to: with `?key=` when the URL's stream (its last path segment) has a key. */
export function publishUrl(url: string, keys: ReadonlyMap<string, string> | undefined): string {
  const stream = url.slice(url.lastIndexOf("/") + 1).split("?")[0]!;
  const key = keys?.get(stream);
  if (key === undefined) return url;
  return `${url}${url.includes("?") ? "&" : "?"}key=${encodeURIComponent(key)}`;
}
