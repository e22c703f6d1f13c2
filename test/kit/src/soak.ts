import { readFile, readdir } from "node:fs/promises";
import path from "node:path";
import { freePort, getText } from "./net.js";
import { publishFile, type Publisher } from "./media.js";
import { startOriginProcess } from "./origin-process.js";

export interface SoakOptions {
  /** Working directory: the origin's data lives below it. */
  dir: string;
  /** The clip an FFmpeg publisher loops (an encoder's stream). */
  clip: string;
  seconds: number;
  /** The encoder disconnects and comes back (within the reconnect grace) this often. */
  reconnectEverySeconds: number;
  sampleEverySeconds: number;
  /** Samples before this are warm-up: caches fill, the first FFmpeg starts. */
  warmupSeconds: number;
  ladder?: string;
  /** Progress lines while it runs (the long soak prints one per sample). */
  onSample?: (sample: SoakSample) => void;
}

export interface SoakSample {
  atSeconds: number;
  /** Resident memory of the origin process (FFmpeg children not included). */
  rssBytes: number;
  /** Open file descriptors of the origin process. */
  descriptors: number;
  /** The newest segment number the source playlist lists. */
  newestSegment: number | undefined;
}

export interface SoakReport {
  options: Omit<SoakOptions, "onSample">;
  samples: SoakSample[];
  reconnects: number;
  /** Segment numbers between the first and the last seen that no playlist ever listed. */
  missingSegments: number[];
  segmentsSeen: number;
  /** Highest RSS after warm-up minus the RSS at the end of warm-up. */
  rssGrowthAfterWarmupBytes: number;
  /** Highest minus lowest descriptor count after warm-up. */
  descriptorSpreadAfterWarmup: number;
}

async function rssOf(pid: number): Promise<number> {
  return Number(/VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) * 1024;
}

const segmentNumbers = (playlist: string): number[] =>
  playlist
    .split("\n")
    .map((line) => /^seg_(\d+)\.ts$/.exec(line.trim())?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number);

/**
 * A long-running publish into a real origin process, with the encoder reconnecting now and then,
 * sampling the origin's memory, descriptors and segment numbering: what grows over hours shows
 * here, and a numbering gap shows as segments no playlist listed.
 */
export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const origin = await startOriginProcess({
    name: "soak",
    rtmpPort: await freePort(),
    httpPort: await freePort(),
    dataDir: path.join(options.dir, "data"),
    stream: "soak",
    ladder: options.ladder ?? "source,320x160:300k",
  });
  const pid = origin.process.child.pid!;
  const samples: SoakSample[] = [];
  const seen = new Set<number>();
  let publisher: Publisher = await publishFile(options.clip, origin.rtmp, { loop: true });
  let reconnects = 0;
  const started = Date.now();
  let nextReconnect = started + options.reconnectEverySeconds * 1000;
  try {
    while (Date.now() - started < options.seconds * 1000) {
      await new Promise((resolve) => setTimeout(resolve, options.sampleEverySeconds * 1000));
      if (Date.now() >= nextReconnect) {
        await publisher.stop();
        publisher = await publishFile(options.clip, origin.rtmp, { loop: true });
        reconnects += 1;
        nextReconnect += options.reconnectEverySeconds * 1000;
      }
      const { status, body } = await getText(`${origin.http}/hls/soak/source/index.m3u8`);
      const numbers = status === 200 ? segmentNumbers(body) : [];
      for (const n of numbers) seen.add(n);
      const sample: SoakSample = {
        atSeconds: Math.round((Date.now() - started) / 100) / 10,
        rssBytes: await rssOf(pid),
        descriptors: (await readdir(`/proc/${pid}/fd`)).length,
        newestSegment: numbers.at(-1),
      };
      samples.push(sample);
      options.onSample?.(sample);
    }
  } finally {
    await publisher.stop();
    await origin.process.stop();
  }
  const numbers = [...seen].sort((a, b) => a - b);
  const missingSegments: number[] = [];
  for (let n = numbers[0] ?? 0; n <= (numbers.at(-1) ?? -1); n++) if (!seen.has(n)) missingSegments.push(n);
  const afterWarmup = samples.filter((s) => s.atSeconds >= options.warmupSeconds);
  const atWarmupEnd = afterWarmup[0]?.rssBytes ?? 0;
  return {
    options: { dir: options.dir, clip: options.clip, seconds: options.seconds, reconnectEverySeconds: options.reconnectEverySeconds, sampleEverySeconds: options.sampleEverySeconds, warmupSeconds: options.warmupSeconds, ladder: options.ladder },
    samples,
    reconnects,
    missingSegments,
    segmentsSeen: seen.size,
    rssGrowthAfterWarmupBytes: Math.max(0, ...afterWarmup.map((s) => s.rssBytes - atWarmupEnd)),
    descriptorSpreadAfterWarmup: afterWarmup.length ? Math.max(...afterWarmup.map((s) => s.descriptors)) - Math.min(...afterWarmup.map((s) => s.descriptors)) : 0,
  };
}
