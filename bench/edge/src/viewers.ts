import { Agent } from "node:http";
import { parseMediaPlaylist } from "@live360/testkit";
import { viewerGet } from "./viewer-http.js";

export interface ViewerLoadOptions {
  /** e.g. http://127.0.0.1:8088/hls/test/source/index.m3u8; segments resolve relative to it. */
  playlistUrl: string;
  viewers: number;
  durationMs: number;
  /** Viewers join spread over this long, as an audience does. */
  joinSpreadMs?: number;
  /** Called once, this long after the start (all viewers are watching by then), e.g. to kill an origin. */
  event?: { atMs: number; run: () => Promise<void> | void };
  /** Viewers that report as the project's player does: CMCD on every request, a beacon per interval. */
  insight?: ViewerInsight;
}

export interface ViewerInsight {
  stream: string;
  beaconUrl: string;
  beaconIntervalMs: number;
  /** Where viewer `i` looks (yaw, pitch), sampled once a second into its beacons. */
  lookOf: (viewer: number) => readonly [yaw: number, pitch: number];
}

/** What one viewer saw, in Date.now() milliseconds. */
export interface ViewerTimeline {
  /** When each segment finished downloading with a 200. */
  segmentsAt: number[];
  /** When a request failed (non-200 or connection error); a request cut by the run's end is not one. */
  errorsAt: number[];
}

export interface ViewerLoadResult {
  viewers: number;
  playlistRequests: number;
  segmentRequests: number;
  /** Non-200 answers and connection errors. */
  errors: number;
  /** Segments each viewer fetched, summed: what played. */
  segmentsPlayed: number;
  /** The playlist's target duration, seconds (the live cadence). */
  targetDurationSeconds: number;
  /** With `insight`: beacons answered 204, and the played time and view samples they carried. */
  beaconsAccepted: number;
  beaconPlayedMs: number;
  viewSamples: number;
  startedAt: number;
  endedAt: number;
  /** When `event` ran (Date.now()), if it did. */
  eventAt?: number;
  timelines: ViewerTimeline[];
}

interface Counts {
  playlistRequests: number;
  segmentRequests: number;
  errors: number;
  segmentsPlayed: number;
  targetDurationSeconds: number;
  /** Beacons the edge answered 204, and the played milliseconds and view samples they carried. */
  beaconsAccepted: number;
  beaconPlayedMs: number;
  viewSamples: number;
}

/**
 * One viewer as hls.js behaves on a live stream: starts three segments from the live edge,
 * fetches each new segment once, reloads the playlist after a target duration when it changed
 * and after half of one when it did not. Keep-alive connection per viewer, like a browser.
 */
async function watch(options: ViewerLoadOptions, until: number, counts: Counts, timeline: ViewerTimeline, viewer: number): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const sid = `viewer-${viewer}`;
  /** CMCD as hls.js puts it on the URL (query mode). */
  const withCmcd = (url: string, objectType: "m" | "av"): string =>
    options.insight
      ? `${url}?CMCD=${encodeURIComponent(`bl=3000,br=450,cid="${options.insight.stream}",mtp=20000,ot=${objectType},sf=h,sid="${sid}",st=l`)}`
      : url;
  const beacons = options.insight ? sendBeacons(options.insight, viewer, sid, until, counts) : Promise.resolve();
  let nextSequence: number | undefined;
  let lastText = "";
  /** Resolves with undefined for a failure, which it records (unless the run simply ended). */
  const fetchOk = (url: string): Promise<Buffer | undefined> =>
    viewerGet(agent, url, until, () => {
      counts.errors += 1;
      timeline.errorsAt.push(Date.now());
    });
  try {
    while (Date.now() < until) {
      counts.playlistRequests += 1;
      const body = await fetchOk(withCmcd(options.playlistUrl, "m"));
      if (!body) {
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      const text = body.toString();
      const playlist = parseMediaPlaylist(text);
      if (Number.isFinite(playlist.targetDuration)) counts.targetDurationSeconds = playlist.targetDuration;
      nextSequence ??= playlist.mediaSequence + Math.max(0, playlist.segments.length - 3);
      for (const [i, uri] of playlist.segments.entries()) {
        if (playlist.mediaSequence + i < nextSequence || Date.now() >= until) continue;
        counts.segmentRequests += 1;
        if (await fetchOk(withCmcd(new URL(uri, options.playlistUrl).href, "av"))) {
          counts.segmentsPlayed += 1;
          timeline.segmentsAt.push(Date.now());
          nextSequence = playlist.mediaSequence + i + 1;
        } else {
          // hls.js retries a failed segment at the next playlist reload rather than skipping it.
          break;
        }
      }
      const changed = text !== lastText;
      lastText = text;
      const target = (Number.isFinite(playlist.targetDuration) ? playlist.targetDuration : 2) * 1000;
      await new Promise((r) => setTimeout(r, changed ? target : target / 2));
    }
  } finally {
    agent.destroy();
  }
  await beacons;
}

/** The player's beacon every interval until the end: startup in the first, a view sample a second. */
async function sendBeacons(insight: ViewerInsight, viewer: number, sid: string, until: number, counts: Counts): Promise<void> {
  const [yaw, pitch] = insight.lookOf(viewer);
  const samples = Math.round(insight.beaconIntervalMs / 1000);
  let first = true;
  while (Date.now() + insight.beaconIntervalMs < until) {
    await new Promise((r) => setTimeout(r, insight.beaconIntervalMs));
    const body = {
      v: 1,
      sid,
      cid: insight.stream,
      ...(first ? { startupMs: 800 } : {}),
      playedMs: insight.beaconIntervalMs,
      rebufferMs: 0,
      rebuffers: 0,
      droppedFrames: 0,
      rungSwitches: 0,
      errors: [],
      views: Array.from({ length: samples }, () => [yaw, pitch, 80]),
    };
    first = false;
    const status = await fetch(insight.beaconUrl, { method: "POST", body: JSON.stringify(body), headers: { "Content-Type": "text/plain" } })
      .then(async (res) => (await res.arrayBuffer(), res.status))
      .catch(() => 0);
    if (status === 204) {
      counts.beaconsAccepted += 1;
      counts.beaconPlayedMs += body.playedMs;
      counts.viewSamples += samples;
    }
  }
}

/** Runs simulated live viewers against one playlist URL for a fixed time. */
export async function runViewerLoad(options: ViewerLoadOptions): Promise<ViewerLoadResult> {
  const counts: Counts = { playlistRequests: 0, segmentRequests: 0, errors: 0, segmentsPlayed: 0, targetDurationSeconds: 2, beaconsAccepted: 0, beaconPlayedMs: 0, viewSamples: 0 };
  const timelines: ViewerTimeline[] = Array.from({ length: options.viewers }, () => ({ segmentsAt: [], errorsAt: [] }));
  const startedAt = Date.now();
  const until = startedAt + options.durationMs;
  const spread = options.joinSpreadMs ?? 0;
  let eventAt: number | undefined;
  const event = options.event;
  const eventDone = event
    ? new Promise<void>((resolve, reject) =>
        setTimeout(() => {
          eventAt = Date.now();
          Promise.resolve(event.run()).then(resolve, reject);
        }, event.atMs),
      )
    : Promise.resolve();
  await Promise.all([
    eventDone,
    ...timelines.map(async (timeline, i) => {
      await new Promise((r) => setTimeout(r, (spread * i) / Math.max(1, options.viewers)));
      await watch(options, until, counts, timeline, i);
    }),
  ]);
  return { viewers: options.viewers, ...counts, startedAt, endedAt: Date.now(), eventAt, timelines };
}
