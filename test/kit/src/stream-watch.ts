import { getText } from "./net.js";

/** What a player polling one live playlist saw while a watch ran. */
export interface StreamWatchResult {
  seconds: number;
  /** Segments that appeared while watched. */
  newSegments: number;
  /**
   * Segment numbers after the newest one listed at the start, up to the newest one listed at
   * the end, that no poll ever listed: media that never reached a player. The origin numbers one
   * segment per segment duration, so a healthy stream skips none.
   */
  skippedSegments: number;
  /**
   * Media time missing between the segments seen, from their program date-times: where a
   * segment starts later than the one before it ended (an FFmpeg restarted on live input after
   * the media in between was dropped), skipped segments included. A slow FFmpeg that catches up
   * loses none, however long its playlist stood still.
   */
  missingMediaSeconds: number;
  /** Media time of every segment any poll listed, those of the first poll included. */
  listedMediaSeconds: number;
  /** The longest time without a new segment, the watch's start and end included. */
  longestGapSeconds: number;
  /** Discontinuities among the new segments (an FFmpeg restart, a reconnect). */
  discontinuities: number;
  /** Polls that got no playlist: an error status, or no answer within the poll's timeout. */
  failedPolls: number;
  polls: number;
}

export interface StreamWatch {
  /** Ends the polling (after the poll under way) and says what it saw. */
  stop(): Promise<StreamWatchResult>;
}

interface ListedSegment {
  number: number;
  durationSeconds: number;
  discontinuity: boolean;
  /** EXT-X-PROGRAM-DATE-TIME in ms since the epoch; NaN without one. */
  startsAtMs: number;
}

/** The numbered segments (`…<digits>.ts`) of a media playlist, with what the watch measures. */
function listedSegments(playlist: string): ListedSegment[] {
  const segments: ListedSegment[] = [];
  let durationSeconds = Number.NaN;
  let discontinuity = false;
  let startsAtMs = Number.NaN;
  for (const raw of playlist.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("#EXTINF:")) durationSeconds = Number.parseFloat(line.slice("#EXTINF:".length));
    else if (line === "#EXT-X-DISCONTINUITY") discontinuity = true;
    else if (line.startsWith("#EXT-X-PROGRAM-DATE-TIME:")) startsAtMs = Date.parse(line.slice("#EXT-X-PROGRAM-DATE-TIME:".length));
    else if (line !== "" && !line.startsWith("#")) {
      const digits = /(\d+)\.ts$/.exec(line)?.[1];
      if (digits !== undefined) segments.push({ number: Number(digits), durationSeconds, discontinuity, startsAtMs });
      durationSeconds = Number.NaN;
      discontinuity = false;
      startsAtMs = Number.NaN;
    }
  }
  return segments;
}

/** Start-time gaps below this are rounding (date-times in ms, durations in µs), not missing media. */
const MISSING_TOLERANCE_MS = 250;

/**
 * Polls a live media playlist as a player does (every `intervalMs`, 250 by default: several
 * polls per 1 s segment, so a 6-segment window never slides past unseen) until stopped.
 * Measures, does not assert: the fault tests report it, their own assertions decide.
 */
export function watchPlaylist(url: string, options: { intervalMs?: number; timeoutMs?: number } = {}): StreamWatch {
  const intervalMs = options.intervalMs ?? 250;
  const timeoutMs = options.timeoutMs ?? 2000;
  const startedAt = Date.now();
  const listed = new Map<number, ListedSegment>();
  let firstNewest: number | undefined;
  let newest: number | undefined;
  let lastChangeAt = startedAt;
  let longestGapMs = 0;
  let failedPolls = 0;
  let polls = 0;
  let running = true;

  const poll = async (): Promise<void> => {
    polls += 1;
    let body: string;
    try {
      const res = await getText(url, { signal: AbortSignal.timeout(timeoutMs) });
      if (res.status !== 200) {
        failedPolls += 1;
        return;
      }
      body = res.body;
    } catch {
      failedPolls += 1;
      return;
    }
    for (const segment of listedSegments(body)) {
      const n = segment.number;
      // A discontinuity tag goes once its segment is first in the window: keep what was seen.
      const before = listed.get(n);
      listed.set(n, before ? { ...segment, discontinuity: before.discontinuity || segment.discontinuity } : segment);
      if (firstNewest === undefined || newest === undefined) {
        // The first poll's window is what existed before the watch: none of it is new.
        continue;
      }
      if (n > newest) {
        const now = Date.now();
        longestGapMs = Math.max(longestGapMs, now - lastChangeAt);
        lastChangeAt = now;
        newest = n;
      }
    }
    if (firstNewest === undefined) {
      const numbers = [...listed.keys()];
      if (numbers.length > 0) firstNewest = newest = Math.max(...numbers);
    }
  };

  const loop = (async () => {
    while (running) {
      await poll();
      if (running) await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();

  return {
    async stop() {
      running = false;
      await loop;
      // One more look: what the caller just saw (its own check of the stream) counts too.
      await poll();
      const now = Date.now();
      longestGapMs = Math.max(longestGapMs, now - lastChangeAt);
      let newSegments = 0;
      let skippedSegments = 0;
      let discontinuities = 0;
      let missingMs = 0;
      if (firstNewest !== undefined && newest !== undefined) {
        let previous = listed.get(firstNewest)!;
        for (let n = firstNewest + 1; n <= newest; n++) {
          const segment = listed.get(n);
          if (!segment) {
            skippedSegments += 1;
            continue;
          }
          newSegments += 1;
          if (segment.discontinuity) discontinuities += 1;
          const gapMs = segment.startsAtMs - (previous.startsAtMs + previous.durationSeconds * 1000);
          if (gapMs > MISSING_TOLERANCE_MS) missingMs += gapMs;
          previous = segment;
        }
      }
      return {
        seconds: (now - startedAt) / 1000,
        newSegments,
        skippedSegments,
        missingMediaSeconds: missingMs / 1000,
        listedMediaSeconds: Math.round([...listed.values()].reduce((sum, segment) => sum + (Number.isFinite(segment.durationSeconds) ? segment.durationSeconds : 0), 0) * 1000) / 1000,
        longestGapSeconds: longestGapMs / 1000,
        discontinuities,
        failedPolls,
        polls,
      };
    },
  };
}
