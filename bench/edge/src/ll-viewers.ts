/**
 * Simulated LL-HLS viewers, loading a live CMAF variant the way hls.js's low-latency mode does:
 * one plain playlist load, then a blocking reload for the hinted part (`_HLS_msn`/`_HLS_part`,
 * with `_HLS_skip=YES` for a delta update where the playlist offers one), and each new part
 * fetched once as it appears. One keep-alive connection per viewer.
 */
import { Agent } from "node:http";
import { percentile } from "@live360/bench/dist/analysis.js";
import { viewerGet } from "./viewer-http.js";

export interface LlPart {
  uri: string;
  msn: number;
  index: number;
}

export interface LlPlaylist {
  initUri: string | undefined;
  parts: LlPart[];
  /** The part the playlist hints at: what a blocking reload waits for next. */
  hint: { msn: number; part: number } | undefined;
  /** CAN-SKIP-UNTIL is offered: reloads may ask for a delta update. */
  canSkip: boolean;
}

/**
 * The parts of an LL-HLS media playlist, numbered by counting (media sequence, skipped
 * segments, then each segment's parts in order) as RFC 8216bis defines them. A hint is taken as
 * the part after the last one listed; where that is past the end of its segment, a server treats
 * it as the next segment's first part (6.2.5.2).
 */
export function parseLlPlaylist(text: string): LlPlaylist {
  const attribute = (line: string, name: string): string | undefined => new RegExp(`(?:^|[:,])${name}=(?:"([^"]*)"|([^,]*))`).exec(line)?.slice(1).find((v) => v !== undefined);
  let msn = 0;
  let index = 0;
  let initUri: string | undefined;
  let hintUri: string | undefined;
  let canSkip = false;
  const parts: LlPart[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("#EXT-X-MEDIA-SEQUENCE:")) msn = Number(line.slice("#EXT-X-MEDIA-SEQUENCE:".length));
    else if (line.startsWith("#EXT-X-SKIP:")) msn += Number(attribute(line, "SKIPPED-SEGMENTS") ?? 0);
    else if (line.startsWith("#EXT-X-SERVER-CONTROL:")) canSkip = attribute(line, "CAN-SKIP-UNTIL") !== undefined;
    else if (line.startsWith("#EXT-X-MAP:")) initUri = attribute(line, "URI");
    else if (line.startsWith("#EXT-X-PART:")) {
      const uri = attribute(line, "URI");
      if (uri) parts.push({ uri, msn, index: index++ });
    } else if (line.startsWith("#EXT-X-PRELOAD-HINT:") && attribute(line, "TYPE") === "PART") hintUri = attribute(line, "URI");
    else if (line !== "" && !line.startsWith("#")) {
      msn += 1;
      index = 0;
    }
  }
  return { initUri, parts, hint: hintUri === undefined ? undefined : { msn, part: index }, canSkip };
}

export interface LlViewerLoadOptions {
  /** One media playlist URL per variant; viewers are spread over them in turn. */
  playlistUrls: readonly string[];
  viewers: number;
  durationMs: number;
  /** Viewers join spread over this long, as an audience does. */
  joinSpreadMs?: number;
}

export interface LlViewerLoadResult {
  viewers: number;
  playlistRequests: number;
  partRequests: number;
  /** Non-200 answers and connection errors (a request cut by the run's end is not one). */
  errors: number;
  /** Parts fetched with a 200, summed over viewers. */
  partsPlayed: number;
  /** Distinct parts any viewer fetched, per variant URL: the parts the stream produced meanwhile. */
  partsPerVariant: number[];
  /** Distinct blocking reloads (directives) the viewers sent, per variant URL: what a cache keys them by. */
  distinctReloadsPerVariant: number[];
  /**
   * How long after the first viewer each viewer had a part (ms, p50 and p95 over the parts each
   * fetched after its first CATCH_UP_MS, when it follows the live edge): what sharing one origin
   * answer costs the others.
   */
  partLagP50Ms: number;
  partLagP95Ms: number;
  startedAt: number;
  endedAt: number;
}

interface Counts {
  playlistRequests: number;
  partRequests: number;
  errors: number;
  partsPlayed: number;
}

/** Parts a player holds back from the live edge when it starts (PART-HOLD-BACK is three part targets). */
const START_PARTS_BACK = 3;
/** A joining viewer catches up from a playlist up to a second old (a cached one) meanwhile. */
const CATCH_UP_MS = 2000;

async function watch(playlistUrl: string, until: number, counts: Counts, arrivals: Map<string, number[]>, reloads: Set<string>): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const fetchOk = (url: string): Promise<Buffer | undefined> => viewerGet(agent, url, until, () => (counts.errors += 1));
  const followingFrom = Date.now() + CATCH_UP_MS;
  let fetched = new Set<string>();
  let next: { msn: number; part: number } | undefined;
  let canSkip = false;
  try {
    while (Date.now() < until) {
      const query = next ? `?_HLS_msn=${next.msn}&_HLS_part=${next.part}${canSkip ? "&_HLS_skip=YES" : ""}` : "";
      counts.playlistRequests += 1;
      if (query) reloads.add(query);
      const body = await fetchOk(`${playlistUrl}${query}`);
      if (!body) {
        // As hls.js after a failed reload: a moment later, a plain load to find the live edge again.
        await new Promise((r) => setTimeout(r, 500));
        next = undefined;
        continue;
      }
      const playlist = parseLlPlaylist(body.toString());
      canSkip = playlist.canSkip;
      if (!next) {
        for (const part of playlist.parts.slice(0, -START_PARTS_BACK)) fetched.add(part.uri);
        if (playlist.initUri && !fetched.has(playlist.initUri)) {
          counts.partRequests += 1;
          if (await fetchOk(new URL(playlist.initUri, playlistUrl).href)) fetched.add(playlist.initUri);
        }
      }
      for (const part of playlist.parts) {
        if (fetched.has(part.uri) || Date.now() >= until) continue;
        counts.partRequests += 1;
        if (!(await fetchOk(new URL(part.uri, playlistUrl).href))) break;
        fetched.add(part.uri);
        const at = arrivals.get(part.uri) ?? [];
        at.push(Date.now() >= followingFrom ? Date.now() : Number.NaN);
        arrivals.set(part.uri, at);
        counts.partsPlayed += 1;
      }
      // Only what the playlist still lists can come again: the set stays bounded.
      const listed = new Set([...playlist.parts.map((p) => p.uri), ...(playlist.initUri ? [playlist.initUri] : [])]);
      fetched = new Set([...fetched].filter((uri) => listed.has(uri)));
      const last = playlist.parts.at(-1);
      next = playlist.hint ?? (last ? { msn: last.msn, part: last.index + 1 } : undefined);
      if (!next) await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    agent.destroy();
  }
}

/** Runs simulated LL-HLS viewers for a fixed time. */
export async function runLlViewerLoad(options: LlViewerLoadOptions): Promise<LlViewerLoadResult> {
  const counts: Counts = { playlistRequests: 0, partRequests: 0, errors: 0, partsPlayed: 0 };
  /** Per variant, per part: when each viewer had it. */
  const arrivals = options.playlistUrls.map(() => new Map<string, number[]>());
  const reloads = options.playlistUrls.map(() => new Set<string>());
  const startedAt = Date.now();
  const until = startedAt + options.durationMs;
  const spread = options.joinSpreadMs ?? 0;
  await Promise.all(
    Array.from({ length: options.viewers }, async (_, i) => {
      await new Promise((r) => setTimeout(r, (spread * i) / Math.max(1, options.viewers)));
      const variant = i % options.playlistUrls.length;
      await watch(options.playlistUrls[variant]!, until, counts, arrivals[variant]!, reloads[variant]!);
    }),
  );
  // The first viewer to have a part may have been catching up; the lags count only followers.
  const lags = arrivals.flatMap((parts) =>
    [...parts.values()].flatMap((times) => {
      const first = Math.min(...times.filter((t) => !Number.isNaN(t)));
      return times.filter((t) => !Number.isNaN(t)).map((t) => t - first);
    }),
  );
  return {
    viewers: options.viewers,
    ...counts,
    partsPerVariant: arrivals.map((parts) => parts.size),
    distinctReloadsPerVariant: reloads.map((r) => r.size),
    partLagP50Ms: percentile(lags, 50),
    partLagP95Ms: percentile(lags, 95),
    startedAt,
    endedAt: Date.now(),
  };
}
