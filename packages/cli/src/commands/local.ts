import { createWriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { Command } from "commander";
import { createLogger, type Logger } from "@live360/core";
import { startOrigin, type Origin } from "@live360/origin";
import { parseSize, startTestSource, type TestSource } from "@live360/test-source";
import { addOriginOptions, originConfigFromFlags, type OriginFlags } from "./origin-options.js";
import { closeOnSignal } from "./lifecycle.js";

interface LocalFlags extends OriginFlags {
  testSource: boolean;
  testSourceSize: string;
}

const TEST_STREAM = "test";

/**
 * Everything on one machine: origin, test source, player. Full JSON logs go to a file so the
 * terminal shows the URLs and one live status line; warnings and errors still reach it.
 */
function localLogger(dataDir: string): Logger {
  const file = createWriteStream(path.join(dataDir, "live360.log"), { flags: "a" });
  return createLogger("local", {
    sink: (line) => {
      file.write(line + "\n");
      if (/"level":"(warn|error)"/.test(line)) process.stderr.write(`\n${line}\n`);
    },
  });
}

function statusLine(origin: Origin): string {
  const { streams } = origin.stat();
  if (streams.length === 0) return "waiting for a publisher…";
  return streams
    .map((s) => {
      const kbps = Math.round(s.inputBitrateBps / 1000);
      const size = s.video ? `${s.video.width}x${s.video.height}` : "?";
      return `${s.stream}: ${s.state} ${size} ${kbps} kbit/s ${s.inputFps} fps, ffmpeg ${s.ffmpeg.speed.toFixed(2)}x, ${s.variants.length} variants, ${s.ffmpeg.restarts} restarts`;
    })
    .join(" | ");
}

export function localCommand(): Command {
  return addOriginOptions(
    new Command("local").description(
      "Run live360 on this machine with no cloud and no cluster: origin, a 360 test source publishing stream \"test\", and the player",
    ),
  )
    .option("--no-test-source", "do not start the built-in test source (publish your own, e.g. from OBS)")
    .option("--test-source-size <WxH>", "test pattern size (2:1 equirectangular)", "1280x640")
    .action(async (flags: LocalFlags) => {
      const config = originConfigFromFlags(flags);
      await mkdir(config.dataDir, { recursive: true });
      const logger = localLogger(config.dataDir);
      const size = parseSize("--test-source-size", flags.testSourceSize);
      const origin = await startOrigin(config, { logger });
      const host = config.bindAddress === "0.0.0.0" ? "localhost" : config.bindAddress;
      const base = `http://${host}:${config.httpPort}`;
      process.stdout.write(
        [
          "live360 local is running",
          `  ingest (OBS: server, stream key = stream name): rtmp://${host}:${config.rtmpPort}/live  key: ${TEST_STREAM}`,
          `  playback (HLS):  ${base}/hls/${TEST_STREAM}/master.m3u8`,
          `  player:          ${base}/player/?url=/hls/${TEST_STREAM}/master.m3u8${config.lowLatency ? "&latency=low" : ""}`,
          `  stats:           ${base}/stat   metrics: ${base}/metrics`,
          `  recordings:      ${path.join(config.dataDir, "recordings")}   logs: ${path.join(config.dataDir, "live360.log")}`,
          "  Ctrl-C stops everything and finalizes recordings.",
          "",
        ].join("\n"),
      );
      let testSource: TestSource | undefined;
      if (flags.testSource) {
        testSource = await startTestSource(
          {
            url: `rtmp://127.0.0.1:${config.rtmpPort}/live/${TEST_STREAM}`,
            width: size.width,
            height: size.height,
            // The encoder's keyframe interval sets the segment length: match the preset.
            keyframeIntervalSeconds: config.segmentSeconds,
          },
          { logger: logger.child("test-source") },
        );
      }
      const interactive = process.stdout.isTTY === true;
      const ticker = setInterval(
        () => process.stdout.write(interactive ? `\r\x1b[2K${statusLine(origin)}` : `${statusLine(origin)}\n`),
        interactive ? 1000 : 10_000,
      );
      await closeOnSignal(async () => {
        clearInterval(ticker);
        process.stdout.write("\nstopping: ending streams and finalizing recordings…\n");
        await testSource?.close();
        await origin.close();
      });
    });
}
