import { Command } from "commander";
import { loadPublishKeys, parseNumberFlag } from "@live360/core";
import {
  DEFAULT_TEST_SOURCE_CONFIG as D,
  MAX_TEST_SOURCE_URLS,
  parseBitrateKbps,
  parseSize,
  startTestSource,
  type TestSourceInput,
} from "@live360/test-source";
import { collect } from "./flags.js";
import { closeOnSignal } from "./lifecycle.js";

/** Raw flag values as commander hands them over (strings until validated). */
interface TestSourceFlags {
  url: string[];
  size: string;
  fps: string;
  bitrate: string;
  keyframeInterval: string;
  duration?: string;
  font: string;
  publishKeysFile?: string;
}

export function testSourceConfigFromFlags(flags: TestSourceFlags): TestSourceInput {
  return {
    urls: flags.url,
    publishKeys: loadPublishKeys(flags.publishKeysFile, process.env.LIVE360_PUBLISH_KEYS),
    ...parseSize("size (--size)", flags.size),
    fps: parseNumberFlag("fps (--fps)", flags.fps),
    videoBitrateKbps: parseBitrateKbps("videoBitrateKbps (--bitrate)", flags.bitrate),
    keyframeIntervalSeconds: parseNumberFlag("keyframeIntervalSeconds (--keyframe-interval)", flags.keyframeInterval),
    durationSeconds: flags.duration === undefined ? undefined : parseNumberFlag("durationSeconds (--duration)", flags.duration),
    fontFile: flags.font,
  };
}

export function testSourceCommand(): Command {
  return new Command("test-source")
    .description(
      "publish a 360 test pattern over RTMP: 2:1 equirectangular grid with FRONT/RIGHT/BACK/LEFT labels, burned-in UTC timecode (ms) and frame counter, 1 kHz tone; H.264 + AAC in real time, reconnecting if the receiver goes away",
    )
    .requiredOption(
      "--url <rtmp-url>",
      `where to publish, e.g. rtmp://127.0.0.1:1935/live/test; repeatable (up to ${MAX_TEST_SOURCE_URLS}) for a primary and a backup origin: each gets the same encoded stream and reconnects on its own`,
      collect,
    )
    .option("--size <WxH>", "frame size, 2:1 equirectangular", `${D.width}x${D.height}`)
    .option("--fps <n>", "frames per second", String(D.fps))
    .option("--bitrate <rate>", "H.264 bitrate in kbit/s (5000, 5000k) or Mbit/s (5M)", `${D.videoBitrateKbps}k`)
    .option(
      "--keyframe-interval <seconds>",
      "seconds between keyframes; origins cut segments on them (use 1 for an origin's low-latency preset)",
      String(D.keyframeIntervalSeconds),
    )
    .option("--duration <seconds>", "stop after this many seconds (default: publish until Ctrl-C or SIGTERM)")
    .option(
      "--publish-keys-file <file>",
      "publish keys as the origin takes them (lines of stream=secret; also: env LIVE360_PUBLISH_KEYS): a URL whose stream has a key is published with ?key=<secret>, which never appears in the log",
    )
    .option("--font <file>", "TrueType font for the timecode and labels (without it the pattern is published without text)", D.fontFile)
    .action(async (flags: TestSourceFlags) => {
      const source = await startTestSource(testSourceConfigFromFlags(flags));
      void closeOnSignal(() => source.close());
      const outcome = await source.done;
      if (outcome.reason === "failed") throw outcome.error;
    });
}
