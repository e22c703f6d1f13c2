import { readFile } from "node:fs/promises";
import path from "node:path";

/**
 * Reads HLS files by path relative to the stack's HLS root. Every stack is read from disk:
 * polling each playlist 20 times a second over HTTP is the measurement's own load, and it cost
 * the Node origin ~0.035 CPU-s per media second (nginx almost nothing) — viewers reach an
 * origin through the edge at about one request per second per variant.
 */
export interface HlsReader {
  /** The file's text, or undefined while it does not exist yet. */
  text(relative: string): Promise<string | undefined>;
  bytes(relative: string): Promise<Buffer>;
}

export function fileReader(rootDir: string): HlsReader {
  return {
    async text(relative) {
      try {
        return await readFile(path.join(rootDir, relative), "utf8");
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw err;
      }
    },
    bytes: (relative) => readFile(path.join(rootDir, relative)),
  };
}

export interface MediaPlaylist {
  segments: { uri: string; durationSeconds: number }[];
  ended: boolean;
}

export function parseMediaPlaylist(text: string): MediaPlaylist {
  const segments: MediaPlaylist["segments"] = [];
  let duration: number | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("#EXTINF:")) duration = Number.parseFloat(line.slice("#EXTINF:".length));
    else if (line !== "" && !line.startsWith("#") && duration !== undefined) {
      segments.push({ uri: line, durationSeconds: duration });
      duration = undefined;
    }
  }
  return { segments, ended: text.includes("#EXT-X-ENDLIST") };
}

/** Variant playlist URIs of a master playlist, in order. */
export function parseMasterPlaylist(text: string): string[] {
  const lines = text.split("\n").map((l) => l.trim());
  const uris: string[] = [];
  lines.forEach((line, i) => {
    if (!line.startsWith("#EXT-X-STREAM-INF")) return;
    const uri = lines.slice(i + 1).find((l) => l !== "" && !l.startsWith("#"));
    if (uri) uris.push(uri);
  });
  return uris;
}

export interface ListedSegment {
  uri: string;
  durationSeconds: number;
  /**
   * Wall-clock ms, midway between the last poll without the segment and the first with it;
   * NaN for segments already listed when the variant was first read (time unknown).
   */
  listedAtMs: number;
}

export interface VariantTimeline {
  /** The variant playlist's path relative to the HLS root. */
  playlist: string;
  segments: ListedSegment[];
  ended: boolean;
  /**
   * The first segment's bytes, fetched as soon as it is listed: a sliding window may delete
   * it before anyone asks, and its first frame anchors the variant to source frame numbers.
   */
  firstSegment: Promise<Buffer> | undefined;
}

/**
 * Polls a master playlist until it names its variants, then every variant playlist, and
 * notes when each segment first appears. A variant's listing time is only known to within
 * one poll interval; the midpoint halves that error and does not bias it.
 */
export class PlaylistWatcher {
  readonly variants = new Map<string, VariantTimeline>();
  private running = false;
  private loops: Promise<void>[] = [];

  constructor(
    private readonly reader: HlsReader,
    private readonly masterPath: string,
    private readonly intervalMs = 50,
  ) {}

  start(): void {
    this.running = true;
    this.loops = [this.watchMaster()];
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  get allEnded(): boolean {
    return this.variants.size > 0 && [...this.variants.values()].every((v) => v.ended);
  }

  /** Media seconds listed in the variant that has listed the least so far. */
  get listedSecondsEverywhere(): number {
    if (this.variants.size === 0) return 0;
    return Math.min(...[...this.variants.values()].map((v) => v.segments.reduce((sum, s) => sum + s.durationSeconds, 0)));
  }

  /** When any variant last listed a new segment. */
  get lastListingMs(): number {
    const times = [...this.variants.values()].flatMap((v) => v.segments.map((s) => s.listedAtMs));
    return Math.max(0, ...times.filter(Number.isFinite));
  }

  private async watchMaster(): Promise<void> {
    while (this.running) {
      const text = await this.reader.text(this.masterPath).catch(() => undefined);
      const uris = text ? parseMasterPlaylist(text) : [];
      const known = new Set(this.variants.keys());
      for (const uri of uris) {
        const playlist = path.posix.join(path.posix.dirname(this.masterPath), uri);
        if (known.has(playlist)) continue;
        const timeline: VariantTimeline = { playlist, segments: [], ended: false, firstSegment: undefined };
        this.variants.set(playlist, timeline);
        this.loops.push(this.watchVariant(timeline));
      }
      // Some stacks add variants as their renditions start; keep looking until they all list segments.
      await sleepMs(this.intervalMs * 4);
    }
  }

  private async watchVariant(timeline: VariantTimeline): Promise<void> {
    const seen = new Set<string>();
    let previousPollMs = Number.NaN;
    while (this.running) {
      const pollMs = Date.now();
      const text = await this.reader.text(timeline.playlist).catch(() => undefined);
      if (text !== undefined) {
        const parsed = parseMediaPlaylist(text);
        for (const segment of parsed.segments) {
          if (seen.has(segment.uri)) continue;
          seen.add(segment.uri);
          timeline.segments.push({ ...segment, listedAtMs: (previousPollMs + pollMs) / 2 });
          if (!timeline.firstSegment) {
            const fetching = this.reader.bytes(path.posix.join(path.posix.dirname(timeline.playlist), segment.uri));
            fetching.catch(() => undefined); // awaited (and reported) by whoever analyses the run
            timeline.firstSegment = fetching;
          }
        }
        timeline.ended = parsed.ended;
      }
      previousPollMs = pollMs;
      await sleepMs(Math.max(0, this.intervalMs - (Date.now() - pollMs)));
    }
  }
}

function sleepMs(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
