import { readFile } from "node:fs/promises";
import path from "node:path";
import { FfmpegSupervisor, baseArgs, createLogger, resolveBinary } from "@live360/core";
import { waitFor } from "./wait.js";

export interface LiveHlsWriterOptions {
  /** Receives the playlist and the segments. */
  dir: string;
  segmentSeconds?: number;
  /** Segments kept in the sliding-window playlist. */
  listSize?: number;
  width?: number;
  height?: number;
  fps?: number;
  videoKbps?: number;
  audio?: boolean;
  playlistName?: string;
  /** printf pattern, the origin's by default. */
  segmentPattern?: string;
}

export interface LiveHlsWriter {
  readonly dir: string;
  readonly playlistPath: string;
  /** Resolves with the playlist's segment names once it lists at least `count`. */
  waitForSegments(count: number, timeoutMs?: number): Promise<string[]>;
  stop(): Promise<void>;
}

/**
 * A real FFmpeg writing a live HLS stream in real time (`-re`, test pattern + tone), the way
 * an origin's packager does: sliding window, deleted old segments, atomic playlist updates,
 * program date-times. For tests that need live-looking HLS without a whole origin.
 */
export async function startLiveHlsWriter(options: LiveHlsWriterOptions): Promise<LiveHlsWriter> {
  const {
    dir,
    segmentSeconds = 1,
    listSize = 6,
    width = 640,
    height = 320,
    fps = 25,
    videoKbps = 400,
    audio = true,
    playlistName = "index.m3u8",
    segmentPattern = "seg_%05d.ts",
  } = options;
  const ffmpeg = await resolveBinary("ffmpeg");
  const playlistPath = path.join(dir, playlistName);
  const args = baseArgs().opt("-re").opt("-f", "lavfi").input(`testsrc2=size=${width}x${height}:rate=${fps}`);
  if (audio) args.opt("-re").opt("-f", "lavfi").input("sine=frequency=440:sample_rate=48000");
  args
    .opt("-c:v", "libx264")
    .opt("-preset", "ultrafast")
    .opt("-tune", "zerolatency")
    .opt("-pix_fmt", "yuv420p")
    .opt("-b:v", `${videoKbps}k`)
    .opt("-g", fps * segmentSeconds)
    .opt("-sc_threshold", 0)
    .opt("-force_key_frames", `expr:gte(t,n_forced*${segmentSeconds})`);
  if (audio) args.opt("-c:a", "aac").opt("-b:a", "64k");
  args
    .opt("-f", "hls")
    .opt("-hls_time", segmentSeconds)
    .opt("-hls_list_size", listSize)
    .opt("-hls_flags", "delete_segments+temp_file+program_date_time+independent_segments")
    .opt("-hls_segment_filename", path.join(dir, segmentPattern))
    .output(playlistPath);
  const supervisor = new FfmpegSupervisor({
    name: `live-hls ${dir}`,
    binary: ffmpeg,
    args: () => args.build(),
    logger: createLogger("testkit.live-hls", { level: "warn" }),
    restart: false,
  });
  let failure: Error | undefined;
  supervisor.on("failed", (err) => (failure = err));
  supervisor.start();
  return {
    dir,
    playlistPath,
    waitForSegments(count, timeoutMs = 60_000) {
      return waitFor(
        `${count} segments in ${playlistPath}`,
        async () => {
          if (failure) throw failure;
          const segments = segmentNames(await readFile(playlistPath, "utf8"));
          return segments.length >= count ? segments : undefined;
        },
        { timeoutMs, intervalMs: 100 },
      );
    },
    stop: () => supervisor.close(),
  };
}

function segmentNames(playlist: string): string[] {
  return playlist.split("\n").filter((line) => line !== "" && !line.startsWith("#"));
}

export interface MediaPlaylist {
  mediaSequence: number;
  targetDuration: number;
  /** Segment URIs in order. */
  segments: string[];
  /** EXT-X-PROGRAM-DATE-TIME of each segment, in ms since the epoch (NaN when absent). */
  programDateTimes: number[];
  ended: boolean;
}

/** Parses the parts of a media playlist that tests assert on. */
export function parseMediaPlaylist(text: string): MediaPlaylist {
  const lines = text.split("\n").map((l) => l.trim());
  const tag = (name: string): string | undefined => lines.find((l) => l.startsWith(`${name}:`))?.slice(name.length + 1);
  const segments: string[] = [];
  const programDateTimes: number[] = [];
  let pendingDate = Number.NaN;
  for (const line of lines) {
    if (line.startsWith("#EXT-X-PROGRAM-DATE-TIME:")) pendingDate = Date.parse(line.slice("#EXT-X-PROGRAM-DATE-TIME:".length));
    else if (line !== "" && !line.startsWith("#")) {
      segments.push(line);
      programDateTimes.push(pendingDate);
      pendingDate = Number.NaN;
    }
  }
  return {
    mediaSequence: Number(tag("#EXT-X-MEDIA-SEQUENCE") ?? 0),
    targetDuration: Number(tag("#EXT-X-TARGETDURATION") ?? Number.NaN),
    segments,
    programDateTimes,
    ended: lines.includes("#EXT-X-ENDLIST"),
  };
}
