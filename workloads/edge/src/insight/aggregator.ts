/**
 * Viewer insight at the edge: CMCD from every request and the player's beacons, folded per
 * stream into Prometheus metrics and a 360° attention heatmap. Memory is bounded whatever
 * viewers send: sessions live in one LRU map with a cap, streams and rungs are capped label
 * sets (the rest counted as rejected), a session's beacons pass a token bucket, and the heatmap
 * is a fixed grid per time slot. No label ever carries a session.
 */
import { Counter, Gauge, Histogram, type Registry } from "@live360/core";
import type { Beacon } from "./beacon.js";
import type { Cmcd } from "./cmcd.js";

export interface InsightLimits {
  /** A session counts as watching while it was seen (a request or a beacon) this recently. */
  viewerWindowSeconds: number;
  /** Sessions tracked at once; the least recently seen is forgotten first. */
  maxSessions: number;
  /** Streams with their own labels; requests for more are counted as rejected. */
  maxStreams: number;
  /** Rung labels per stream (the variant directory); more fall under rung="other". */
  maxRungsPerStream: number;
  /** The heatmap covers this much time, in `heatmapSlots` slots that expire one by one. */
  heatmapWindowSeconds: number;
  heatmapSlots: number;
  /** Grid cell size; 180 must be a multiple of it. */
  heatmapCellDegrees: number;
  /** Beacons a session may send in a burst, and how many more per minute. */
  beaconBurst: number;
  beaconsPerMinute: number;
}

export const DEFAULT_INSIGHT_LIMITS: InsightLimits = {
  viewerWindowSeconds: 30,
  maxSessions: 100_000,
  maxStreams: 100,
  maxRungsPerStream: 8,
  heatmapWindowSeconds: 300,
  heatmapSlots: 10,
  heatmapCellDegrees: 10,
  beaconBurst: 3,
  // The player sends one every 10 s; twice that leaves room for unload and retries.
  beaconsPerMinute: 12,
};

export type InsightRejection =
  | "too-many-streams"
  | "not-a-stream"
  | "rate-limited"
  | "cmcd-too-long"
  | "cmcd-too-many-keys"
  | "cmcd-bad-pair"
  | "cmcd-bad-value"
  | "cmcd-duplicate-key"
  | "beacon-too-large"
  | "beacon-not-json"
  | "beacon-bad-field"
  | "spool-stale"
  | "spool-too-large";

/** A request the edge answered, as its access log tells it. */
export interface ServedRequest {
  /** The URI path without the query: `/hls/<stream>/<rung>/<file>`. */
  path: string;
  status: number;
  bytes: number;
  cmcd: Cmcd;
}

/** The attention heatmap of one stream: sample counts on an equirectangular grid. */
export interface Heatmap {
  stream: string;
  cellDegrees: number;
  /** 360 / cellDegrees columns, yaw -180 → 180. */
  columns: number;
  /** 180 / cellDegrees rows, pitch +90 (top) → -90. */
  rows: number;
  windowSeconds: number;
  samples: number;
  /** rows × columns counts, row-major from the top. */
  cells: number[];
}

const STREAM = /^[a-z0-9][a-z0-9-]{0,62}$/;
const RUNG = /^[a-z0-9][a-z0-9_-]{0,31}$/;
const STARTUP_BUCKETS = [0.25, 0.5, 1, 1.5, 2, 3, 5, 8, 13, 20];
const REBUFFER_RATIO_BUCKETS = [0, 0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1];

interface Session {
  stream: string;
  lastSeenMs: number;
  tokens: number;
  tokensAtMs: number;
}

interface StreamState {
  viewers: number;
  rungs: Set<string>;
  /** One grid per slot; `slotStarts[i]` is the slot's start (ms), -1 while empty. */
  grids: Uint32Array[];
  slotStarts: number[];
}

/** Error codes counted under their own label; the rest fall under `4xx` / `5xx`, which bounds the label whatever clients cause. */
const COUNTED_ERROR_CODES = new Set([400, 403, 404, 405, 408, 413, 414, 416, 429, 499, 500, 502, 503, 504]);

export const isStreamName = (name: string): boolean => STREAM.test(name);

/** The stream a content id or a path names, if it is a valid stream name. */
export function streamOfContentId(cid: string): string | undefined {
  const stream = cid.split("/")[0]!;
  return STREAM.test(stream) ? stream : undefined;
}

export class InsightAggregator {
  private readonly sessions = new Map<string, Session>();
  private readonly streams = new Map<string, StreamState>();
  private readonly columns: number;
  private readonly rows: number;
  private readonly slotMs: number;
  private readonly metrics;

  constructor(
    registry: Registry,
    private readonly limits: InsightLimits = DEFAULT_INSIGHT_LIMITS,
    private readonly now: () => number = Date.now,
  ) {
    if (180 % limits.heatmapCellDegrees !== 0) throw new RangeError(`heatmapCellDegrees ${limits.heatmapCellDegrees} must divide 180`);
    this.columns = 360 / limits.heatmapCellDegrees;
    this.rows = 180 / limits.heatmapCellDegrees;
    this.slotMs = (limits.heatmapWindowSeconds * 1000) / limits.heatmapSlots;
    const registers = [registry];
    this.metrics = {
      viewers: new Gauge({
        name: "live360_edge_viewers",
        help: `Distinct player sessions seen in the last ${limits.viewerWindowSeconds} s`,
        labelNames: ["stream"],
        registers,
        collect: () => this.updateViewers(),
      }),
      sessions: new Gauge({ name: "live360_edge_insight_sessions", help: "Player sessions tracked (capped by maxSessions)", registers }),
      startup: new Histogram({ name: "live360_edge_viewer_startup_seconds", help: "Time from loading the playlist to the first frame", labelNames: ["stream"], buckets: STARTUP_BUCKETS, registers }),
      rebufferRatio: new Histogram({
        name: "live360_edge_viewer_rebuffer_ratio",
        help: "Share of each beacon interval spent stalled",
        labelNames: ["stream"],
        buckets: REBUFFER_RATIO_BUCKETS,
        registers,
      }),
      rebuffers: new Counter({ name: "live360_edge_viewer_rebuffers_total", help: "Stalls players reported", labelNames: ["stream"], registers }),
      rebufferSeconds: new Counter({ name: "live360_edge_viewer_rebuffer_seconds_total", help: "Time players stood stalled", labelNames: ["stream"], registers }),
      playedSeconds: new Counter({ name: "live360_edge_viewer_played_seconds_total", help: "Time players played", labelNames: ["stream"], registers }),
      droppedFrames: new Counter({ name: "live360_edge_viewer_dropped_frames_total", help: "Frames players dropped", labelNames: ["stream"], registers }),
      rungSwitches: new Counter({ name: "live360_edge_viewer_rung_switches_total", help: "Rung switches players made", labelNames: ["stream"], registers }),
      errors: new Counter({ name: "live360_edge_viewer_errors_total", help: "Errors players reported, by kind", labelNames: ["stream", "kind", "fatal"], registers }),
      starvations: new Counter({ name: "live360_edge_viewer_buffer_starvations_total", help: "Requests whose CMCD said the buffer ran dry", labelNames: ["stream"], registers }),
      deliveredBytes: new Counter({ name: "live360_edge_viewer_delivered_bytes_total", help: "Media bytes served to players, per rung", labelNames: ["stream", "rung"], registers }),
      encodedBitrate: new Histogram({
        name: "live360_edge_viewer_encoded_bitrate_kbps",
        help: "Encoded bitrate of the video segments players requested (CMCD br)",
        labelNames: ["stream"],
        buckets: [250, 500, 1000, 2000, 3000, 4500, 6000, 8000, 12000, 20000],
        registers,
      }),
      errorResponses: new Counter({
        name: "live360_edge_error_responses_total",
        help: "Requests the edge answered with a 4xx or 5xx status, by code (less common codes as 4xx / 5xx)",
        labelNames: ["code"],
        registers,
      }),
      rejected: new Counter({ name: "live360_edge_insight_rejected_total", help: "CMCD and beacons dropped, by reason", labelNames: ["reason"], registers }),
    };
  }

  reject(reason: InsightRejection): void {
    this.metrics.rejected.inc({ reason });
  }

  /** The status of a spooled line: error answers are counted by code (stub_status has no codes). */
  recordResponseStatus(status: number): void {
    if (status < 400 || status > 599) return;
    this.metrics.errorResponses.inc({ code: COUNTED_ERROR_CODES.has(status) ? String(status) : `${Math.floor(status / 100)}xx` });
  }

  /** A request the edge served, with the CMCD it carried. */
  recordRequest(request: ServedRequest): void {
    const match = /^\/hls\/([^/]+)\/(?:([^/]+)\/)?[^/]+$/.exec(request.path);
    const name = match?.[1];
    if (!name || !STREAM.test(name)) return this.reject("not-a-stream");
    const stream = this.stream(name);
    if (!stream) return this.reject("too-many-streams");
    const { cmcd } = request;
    if (cmcd.sid !== undefined) this.touch(cmcd.sid, name);
    if (cmcd.bs) this.metrics.starvations.inc({ stream: name });
    const isMedia = cmcd.ot === "v" || cmcd.ot === "av" || cmcd.ot === "a";
    if (isMedia && request.status >= 200 && request.status < 300) {
      const rungName = match[2];
      const rung = rungName && RUNG.test(rungName) ? this.rung(stream, rungName) : "other";
      this.metrics.deliveredBytes.inc({ stream: name, rung }, request.bytes);
      if (cmcd.br !== undefined && cmcd.ot !== "a") this.metrics.encodedBitrate.observe({ stream: name }, cmcd.br);
    }
  }

  /** A beacon that parsed; false (and counted) when its session is over its rate or its stream unknown. */
  recordBeacon(beacon: Beacon): boolean {
    const name = streamOfContentId(beacon.cid);
    if (!name) {
      this.reject("not-a-stream");
      return false;
    }
    const stream = this.stream(name);
    if (!stream) {
      this.reject("too-many-streams");
      return false;
    }
    const session = this.touch(beacon.sid, name);
    if (!this.takeToken(session)) {
      this.reject("rate-limited");
      return false;
    }
    const labels = { stream: name };
    if (beacon.startupMs !== undefined) this.metrics.startup.observe(labels, beacon.startupMs / 1000);
    const watched = beacon.playedMs + beacon.rebufferMs;
    if (watched > 0) this.metrics.rebufferRatio.observe(labels, beacon.rebufferMs / watched);
    this.metrics.rebuffers.inc(labels, beacon.rebuffers);
    this.metrics.rebufferSeconds.inc(labels, beacon.rebufferMs / 1000);
    this.metrics.playedSeconds.inc(labels, beacon.playedMs / 1000);
    this.metrics.droppedFrames.inc(labels, beacon.droppedFrames);
    this.metrics.rungSwitches.inc(labels, beacon.rungSwitches);
    for (const error of beacon.errors) this.metrics.errors.inc({ stream: name, kind: error.kind, fatal: String(error.fatal) });
    if (beacon.views.length > 0) {
      const grid = this.currentGrid(stream);
      for (const [yaw, pitch] of beacon.views) grid[this.cellOf(yaw, pitch)]! += 1;
    }
    return true;
  }

  /** Sessions seen within the window, per stream. */
  viewers(): Map<string, number> {
    this.expireSessions();
    return new Map([...this.streams].map(([name, state]) => [name, state.viewers]));
  }

  /** The stream's heatmap over the window; empty (no samples) for a stream this edge never saw. */
  heatmap(name: string): Heatmap {
    const state = this.streams.get(name);
    const cells = new Array<number>(this.columns * this.rows).fill(0);
    const oldest = this.now() - this.limits.heatmapWindowSeconds * 1000;
    for (let slot = 0; state && slot < state.grids.length; slot += 1) {
      if (state.slotStarts[slot]! < oldest) continue;
      const grid = state.grids[slot]!;
      for (let i = 0; i < grid.length; i += 1) cells[i]! += grid[i]!;
    }
    return {
      stream: name,
      cellDegrees: this.limits.heatmapCellDegrees,
      columns: this.columns,
      rows: this.rows,
      windowSeconds: this.limits.heatmapWindowSeconds,
      samples: cells.reduce((sum, count) => sum + count, 0),
      cells,
    };
  }

  /** Row-major index from the top-left (yaw -180, pitch +90); the edges fall into the last cell. */
  private cellOf(yaw: number, pitch: number): number {
    const size = this.limits.heatmapCellDegrees;
    const column = Math.min(this.columns - 1, Math.floor((yaw + 180) / size));
    const row = Math.min(this.rows - 1, Math.floor((90 - pitch) / size));
    return row * this.columns + column;
  }

  private currentGrid(state: StreamState): Uint32Array {
    const start = Math.floor(this.now() / this.slotMs) * this.slotMs;
    const slot = Math.floor(start / this.slotMs) % this.limits.heatmapSlots;
    if (state.slotStarts[slot] !== start) {
      state.grids[slot]!.fill(0);
      state.slotStarts[slot] = start;
    }
    return state.grids[slot]!;
  }

  private stream(name: string): StreamState | undefined {
    const known = this.streams.get(name);
    if (known) return known;
    if (this.streams.size >= this.limits.maxStreams) return undefined;
    const cells = this.columns * this.rows;
    const state: StreamState = {
      viewers: 0,
      rungs: new Set(),
      grids: Array.from({ length: this.limits.heatmapSlots }, () => new Uint32Array(cells)),
      slotStarts: new Array<number>(this.limits.heatmapSlots).fill(-1),
    };
    this.streams.set(name, state);
    return state;
  }

  private rung(state: StreamState, name: string): string {
    if (state.rungs.has(name)) return name;
    if (state.rungs.size >= this.limits.maxRungsPerStream) return "other";
    state.rungs.add(name);
    return name;
  }

  /** The session, moved to the most recent end of the LRU order (a Map keeps insertion order). */
  private touch(sid: string, stream: string): Session {
    const now = this.now();
    let session = this.sessions.get(sid);
    if (session) {
      this.sessions.delete(sid);
      if (session.stream !== stream) {
        this.streams.get(session.stream)!.viewers -= 1;
        this.streams.get(stream)!.viewers += 1;
        session.stream = stream;
      }
    } else {
      session = { stream, lastSeenMs: now, tokens: this.limits.beaconBurst, tokensAtMs: now };
      this.streams.get(stream)!.viewers += 1;
      if (this.sessions.size >= this.limits.maxSessions) this.forget(this.sessions.keys().next().value!);
    }
    session.lastSeenMs = now;
    this.sessions.set(sid, session);
    return session;
  }

  private takeToken(session: Session): boolean {
    const now = this.now();
    const refill = ((now - session.tokensAtMs) / 60_000) * this.limits.beaconsPerMinute;
    session.tokens = Math.min(this.limits.beaconBurst, session.tokens + refill);
    session.tokensAtMs = now;
    if (session.tokens < 1) return false;
    session.tokens -= 1;
    return true;
  }

  private forget(sid: string): void {
    const session = this.sessions.get(sid);
    if (!session) return;
    this.sessions.delete(sid);
    this.streams.get(session.stream)!.viewers -= 1;
  }

  /** The oldest sessions are at the front of the map: drop them until one is recent enough. */
  private expireSessions(): void {
    const oldest = this.now() - this.limits.viewerWindowSeconds * 1000;
    for (const [sid, session] of this.sessions) {
      if (session.lastSeenMs >= oldest) break;
      this.forget(sid);
    }
  }

  private updateViewers(): void {
    for (const [stream, count] of this.viewers()) this.metrics.viewers.set({ stream }, count);
    this.metrics.sessions.set(this.sessions.size);
  }
}
