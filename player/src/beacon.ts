/**
 * The viewer beacon: what CMCD cannot say — startup time, stalls, dropped frames, errors, rung
 * switches and, for 360°, where the viewer looks — batched and POSTed to the edge
 * (`/insight/beacon`, workloads/edge/src/insight) every ten seconds, and handed to
 * navigator.sendBeacon when the page goes away. No personal data: the random session id CMCD
 * uses, the content id, and numbers. `analytics=0` turns it off with CMCD.
 *
 * The collector is plain state fed by the player's events and a clock, so it is tested without a
 * browser; `startBeacon` wires it to a page.
 */
import { MAX_BEACON_ERRORS, MAX_BEACON_VIEWS, type Beacon } from "@live360/core/browser";
import type { FailureKind } from "./retry.js";

/** What the collector tracks of the player's state: playing, stalled, or neither (paused, loading…). */
export type WatchState = "playing" | "stalled" | "idle";


const round1 = (value: number): number => Math.round(value * 10) / 10;

export class BeaconCollector {
  private started = false;
  /** Set by the first frame, reported in the next beacon only. */
  private startupMs: number | undefined;
  private playedMs = 0;
  private rebufferMs = 0;
  private rebuffers = 0;
  private rungSwitches = 0;
  private droppedAtLastFlush = 0;
  private droppedNow = 0;
  private errors: Beacon["errors"] = [];
  private views: Beacon["views"] = [];
  private state: WatchState = "idle";
  private stateSinceMs: number;

  constructor(
    private readonly sessionId: string,
    private readonly contentId: string,
    private readonly now: () => number,
  ) {
    this.stateSinceMs = now();
  }

  /** The first frame was shown this many ms after the page started loading. */
  firstFrame(ms: number): void {
    if (this.started) return;
    this.account();
    this.started = true;
    this.startupMs = Math.max(0, Math.round(ms));
  }

  setState(state: WatchState): void {
    if (state === this.state) return;
    this.account();
    // A stall counts once it starts after the first frame: waiting for the start is startup.
    if (state === "stalled" && this.started) this.rebuffers += 1;
    this.state = state;
  }

  rungSwitched(): void {
    this.rungSwitches += 1;
  }

  error(kind: FailureKind): void {
    if (this.errors.length < MAX_BEACON_ERRORS) this.errors.push({ kind, fatal: kind === "fatal" });
  }

  /** The video element's running total of dropped frames. */
  droppedFrames(total: number): void {
    this.droppedNow = total;
  }

  /** One viewing direction, degrees: yaw −180…180 (right positive), pitch −90…90, horizontal fov. */
  view(yaw: number, pitch: number, fov: number): void {
    if (this.views.length >= MAX_BEACON_VIEWS) this.views.shift();
    const clamp = (value: number, min: number, max: number) => Math.min(max, Math.max(min, value));
    this.views.push([round1(clamp(yaw, -180, 180)), round1(clamp(pitch, -90, 90)), round1(clamp(fov, 1, 180))]);
  }

  /** Everything since the last flush, and a fresh interval; undefined when there is nothing to say. */
  flush(): Beacon | undefined {
    this.account();
    const dropped = Math.max(0, this.droppedNow - this.droppedAtLastFlush);
    const body: Beacon = {
      v: 1,
      sid: this.sessionId,
      cid: this.contentId,
      ...(this.startupMs !== undefined ? { startupMs: this.startupMs } : {}),
      playedMs: Math.round(this.playedMs),
      rebufferMs: Math.round(this.rebufferMs),
      rebuffers: this.rebuffers,
      droppedFrames: dropped,
      rungSwitches: this.rungSwitches,
      errors: this.errors,
      views: this.views,
    };
    const empty = body.playedMs === 0 && body.rebufferMs === 0 && body.errors.length === 0 && body.views.length === 0 && body.startupMs === undefined;
    if (empty) return undefined;
    this.startupMs = undefined;
    this.playedMs = 0;
    this.rebufferMs = 0;
    this.rebuffers = 0;
    this.rungSwitches = 0;
    this.droppedAtLastFlush = this.droppedNow;
    this.errors = [];
    this.views = [];
    return body;
  }

  private account(): void {
    const now = this.now();
    const elapsed = now - this.stateSinceMs;
    if (this.state === "playing") this.playedMs += elapsed;
    // Before the first frame, waiting is startup, reported as startupMs.
    else if (this.state === "stalled" && this.started) this.rebufferMs += elapsed;
    this.stateSinceMs = now;
  }
}
