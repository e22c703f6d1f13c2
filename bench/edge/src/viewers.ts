import { Agent, request } from "node:http";
import { parseMediaPlaylist } from "@live360/testkit";

export interface ViewerLoadOptions {
  /** e.g. http://127.0.0.1:8088/hls/test/source/index.m3u8; segments resolve relative to it. */
  playlistUrl: string;
  viewers: number;
  durationMs: number;
  /** Viewers join spread over this long, as an audience does. */
  joinSpreadMs?: number;
}

export interface ViewerLoadResult {
  viewers: number;
  playlistRequests: number;
  segmentRequests: number;
  /** Non-200 answers and connection errors. */
  errors: number;
  /** Segments each viewer fetched, summed: what played. */
  segmentsPlayed: number;
}

interface Counts {
  playlistRequests: number;
  segmentRequests: number;
  errors: number;
  segmentsPlayed: number;
}

function get(agent: Agent, url: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.setTimeout(30_000, () => req.destroy(new Error(`no answer for ${url}`)));
    req.on("error", reject);
    req.end();
  });
}

/**
 * One viewer as hls.js behaves on a live stream: starts three segments from the live edge,
 * fetches each new segment once, reloads the playlist after a target duration when it changed
 * and after half of one when it did not. Keep-alive connection per viewer, like a browser.
 */
async function watch(options: ViewerLoadOptions, until: number, counts: Counts): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  let nextSequence: number | undefined;
  let lastText = "";
  try {
    while (Date.now() < until) {
      counts.playlistRequests += 1;
      const res = await get(agent, options.playlistUrl).catch(() => undefined);
      if (!res || res.status !== 200) {
        counts.errors += 1;
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      const text = res.body.toString();
      const playlist = parseMediaPlaylist(text);
      nextSequence ??= playlist.mediaSequence + Math.max(0, playlist.segments.length - 3);
      for (const [i, uri] of playlist.segments.entries()) {
        if (playlist.mediaSequence + i < nextSequence || Date.now() >= until) continue;
        counts.segmentRequests += 1;
        const seg = await get(agent, new URL(uri, options.playlistUrl).href).catch(() => undefined);
        if (seg?.status === 200) counts.segmentsPlayed += 1;
        else counts.errors += 1;
        nextSequence = playlist.mediaSequence + i + 1;
      }
      const changed = text !== lastText;
      lastText = text;
      const target = (Number.isFinite(playlist.targetDuration) ? playlist.targetDuration : 2) * 1000;
      await new Promise((r) => setTimeout(r, changed ? target : target / 2));
    }
  } finally {
    agent.destroy();
  }
}

/** Runs simulated live viewers against one playlist URL for a fixed time. */
export async function runViewerLoad(options: ViewerLoadOptions): Promise<ViewerLoadResult> {
  const counts: Counts = { playlistRequests: 0, segmentRequests: 0, errors: 0, segmentsPlayed: 0 };
  const start = Date.now();
  const until = start + options.durationMs;
  const spread = options.joinSpreadMs ?? 0;
  await Promise.all(
    Array.from({ length: options.viewers }, async (_, i) => {
      await new Promise((r) => setTimeout(r, (spread * i) / Math.max(1, options.viewers)));
      await watch(options, until, counts);
    }),
  );
  return { viewers: options.viewers, ...counts };
}
