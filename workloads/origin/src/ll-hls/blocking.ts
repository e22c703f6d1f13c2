/**
 * Blocking playlist reloads and preload-hinted parts (draft-pantos-hls-rfc8216bis 6.2.5.2,
 * 6.2.6): what to do with a request given the variant's state (pure decisions), and a registry
 * holding the requests that must wait until the packager's next part answers them.
 *
 * Query strings come from anyone: they are parsed strictly and every malformed or abusive one is
 * a 400 with a reason, never an exception. Names and values are read raw, not percent-decoded:
 * the edge keys its cache on the raw `_HLS_` arguments, and one spelling per request is what
 * lets it collapse identical requests into one.
 */
import type { CmafPart, LlHlsVariantState } from "./model.js";
import type { HlsSkip } from "./playlist.js";
import { comparePositions, findPart, lastPart, lastSegmentNumber, nextPart, type PartPosition } from "./position.js";

/** What a blocking playlist request waits for: segment `msn` complete, or its part `part`. */
export interface BlockingTarget {
  msn: number;
  part: number | undefined;
}

export type PlaylistDecision =
  | { kind: "now"; skip: HlsSkip | undefined }
  | { kind: "wait"; until: BlockingTarget; skip: HlsSkip | undefined }
  | { kind: "bad-request"; reason: string };

export type PartDecision = { kind: "now"; part: CmafPart } | { kind: "wait"; until: PartPosition } | { kind: "not-found" };

const DIRECTIVES = ["_HLS_msn", "_HLS_part", "_HLS_skip"] as const;
type Directive = (typeof DIRECTIVES)[number];

/**
 * A decimal-integer in one spelling only: no sign, no leading zeros (`07` and `7` would be two
 * cache entries at the edge for one request).
 */
const DECIMAL = /^(?:0|[1-9]\d*)$/;

type BadRequest = { kind: "bad-request"; reason: string };
const bad = (reason: string): BadRequest => ({ kind: "bad-request", reason });
/** A hostile value is quoted back in the reason, but never more of it than this. */
const shown = (value: string): string => JSON.stringify(value.length > 24 ? `${value.slice(0, 24)}…` : value);

/**
 * The decision for a media playlist request whose query string (after `?`, raw) is `rawQuery`.
 * A `wait` is answered by PlaylistWaiters.waitForPlaylist; `skip` is then passed to the renderer.
 */
export function decidePlaylistRequest(state: LlHlsVariantState, rawQuery: string): PlaylistDecision {
  const values = new Map<Directive, string>();
  for (const pair of rawQuery.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const name = eq < 0 ? pair : pair.slice(0, eq);
    const directive = DIRECTIVES.find((d) => d.toLowerCase() === name.toLowerCase());
    // Other parameters (a signed link's token, …) are not this module's business.
    if (!directive) continue;
    // nginx matches $arg_ names without regard to case: an edge keying its cache on
    // $arg__HLS_msn would store what the origin answered to `_hls_msn` under the real key.
    if (name !== directive) return bad(`${shown(name)}: the directive is spelled ${directive}`);
    if (eq < 0) return bad(`${directive} has no value`);
    if (values.has(directive)) return bad(`${directive} is given more than once`);
    values.set(directive, pair.slice(eq + 1));
  }
  const msn = decimalOf(values, "_HLS_msn");
  const part = decimalOf(values, "_HLS_part");
  if (typeof msn === "object") return msn;
  if (typeof part === "object") return part;
  const rawSkip = values.get("_HLS_skip");
  if (rawSkip !== undefined && rawSkip !== "YES" && rawSkip !== "v2") return bad(`_HLS_skip must be YES or v2, not ${shown(rawSkip)}`);
  const skip = rawSkip as HlsSkip | undefined;
  // 6.2.5.2: "MUST return Bad Request" — a syntax rule, so whatever the state.
  if (part !== undefined && msn === undefined) return bad("_HLS_part without _HLS_msn");
  if (msn === undefined) return { kind: "now", skip };
  const blocking = decideBlocking(state, { msn, part });
  return blocking.kind === "bad-request" ? blocking : { ...blocking, skip };
}

function decimalOf(values: ReadonlyMap<Directive, string>, directive: Directive): number | undefined | BadRequest {
  const raw = values.get(directive);
  if (raw === undefined) return undefined;
  if (!DECIMAL.test(raw)) return bad(`${directive} must be a decimal integer without sign or leading zeros, not ${shown(raw)}`);
  const value = Number(raw);
  return Number.isSafeInteger(value) ? value : bad(`${directive}=${shown(raw)} is out of range`);
}

/**
 * The Advance Part Limit (6.2.5.2): how many parts past the last one a request may ask for —
 * three seconds' worth for parts under a second, else three parts.
 */
export function advancePartLimit(partTargetSeconds: number): number {
  return partTargetSeconds < 1 ? 3 / partTargetSeconds : 3;
}

type BlockingDecision = { kind: "now" } | { kind: "wait"; until: BlockingTarget } | BadRequest;

/** 6.2.5.2 for a request with `_HLS_msn` (and maybe `_HLS_part`), in the variant's state now. */
function decideBlocking(state: LlHlsVariantState, target: BlockingTarget): BlockingDecision {
  // "A Server MUST ignore _HLS_msn and _HLS_part if the Playlist contains an EXT-X-ENDLIST tag."
  if (state.ended) return { kind: "now" };
  const last = lastPart(state);
  // Nothing yet, so nothing to measure "too far ahead" against: wait, and be judged again when
  // the first part comes (PlaylistWaiters re-decides on every advance).
  if (!last) return { kind: "wait", until: target };
  // Before the first segment completes, the open one stands on the number after the "last".
  const lastSegment = lastSegmentNumber(state) ?? last.msn - 1;
  if (target.msn > lastSegment + 2) return bad(`_HLS_msn=${target.msn} is more than two segments past the last one (${lastSegment})`);
  if (target.part !== undefined) {
    // How far past the last part the requested one is. In a later segment the distance is not
    // known yet (its segments' part counts are not), so the least it can be is used: each
    // segment in between has at least one part. No request that could be legitimate is refused.
    const ahead = target.msn === last.msn ? target.part - last.part : target.msn > last.msn ? target.msn - last.msn + target.part : 0;
    const limit = advancePartLimit(state.partTargetSeconds);
    if (ahead > limit) return bad(`_HLS_part=${target.part} of segment ${target.msn} is ${ahead} parts past the last one, more than ${limit.toFixed(2)}`);
  }
  return ready(state, target, last) ? { kind: "now" } : { kind: "wait", until: target };
}

/**
 * Whether the playlist now answers the request. With `_HLS_msn` alone: segment M is complete.
 * With `_HLS_part` too: part N of segment M or any later part exists — which also makes a part
 * index past the end of segment M "part 0 of the following Parent Segment", as the spec asks.
 */
function ready(state: LlHlsVariantState, target: BlockingTarget, last: PartPosition): boolean {
  if (target.part === undefined) return (lastSegmentNumber(state) ?? -1) >= target.msn;
  return comparePositions(last, { msn: target.msn, part: target.part }) >= 0;
}

/**
 * A request for part `position` (a `seg_N.K.m4s`): served if the variant holds it; held if it is
 * the part the playlist hints (6.2.6: hinted resources "MUST be available for request") or the
 * one after it — so a backup origin up to a part behind its primary, answering a player who read
 * the primary's hint after a failover, holds the request rather than failing it; else 404 (6.2.6).
 */
export function decidePartRequest(state: LlHlsVariantState, position: PartPosition): PartDecision {
  const part = findPart(state, position);
  if (part) return { kind: "now", part };
  const hint = state.ended ? undefined : nextPart(state);
  if (!hint) return { kind: "not-found" };
  const { msn, part: index } = position;
  // The part after the hint is the next one in its segment, or the first of the next segment if
  // the hinted part turns out to be its segment's last.
  const heldFor = comparePositions(position, hint) === 0 || (msn === hint.msn && index === hint.part + 1) || (msn === hint.msn + 1 && index === 0);
  return heldFor ? { kind: "wait", until: position } : { kind: "not-found" };
}

/** What a held part request becomes when the state moves on; undefined: keep waiting. */
function partOutcome(state: LlHlsVariantState, position: PartPosition): PartReady | { kind: "not-found" } | undefined {
  const part = findPart(state, position);
  if (part) return { kind: "ready", part };
  const last = lastPart(state);
  // It can no longer come: the stream ended, a later part exists, or its segment completed without it.
  const never = state.ended || (last !== undefined && comparePositions(last, position) > 0) || (lastSegmentNumber(state) ?? -1) >= position.msn;
  return never ? { kind: "not-found" } : undefined;
}

/**
 * A held request that ends without its answer: `timeout` (the spec's 503 after three target
 * durations), `over-limit` (too many held already: 503 at once), `closed` (the registry was
 * closed, e.g. the origin is shutting down: 503), `aborted` (the client went away: no answer).
 */
export type WaitFailure = { kind: "timeout" } | { kind: "over-limit" } | { kind: "closed" } | { kind: "aborted" };
type PartReady = { kind: "ready"; part: CmafPart };
/** `ready`: render the playlist from `state`. `bad-request`: judged on the variant's first part. */
export type PlaylistWaitOutcome = { kind: "ready"; state: LlHlsVariantState } | BadRequest | WaitFailure;
/** `ready`: send the part. `not-found`: it will never exist (404). */
export type PartWaitOutcome = PartReady | { kind: "not-found" } | WaitFailure;

export interface PlaylistWaitersOptions {
  /** Requests held at once, playlists and parts together; more are refused (`over-limit`). */
  maxWaiting?: number;
  /** How long a request is held; by default three target durations of its variant (6.2.5.2). */
  timeoutMs?: number;
}

export interface WaitOptions {
  /** Aborted when the client goes away: the request stops waiting and frees its place. */
  signal?: AbortSignal;
}

/**
 * The origin's HTTP limit is 1024 connections by default (config.ts); held requests may take
 * three quarters of them, so segments, parts that exist and health probes still get through
 * while the rest wait.
 */
export const DEFAULT_MAX_WAITING = 768;

interface Waiter {
  /** Settles the request if `state` answers it; whether it did. */
  settle(state: LlHlsVariantState): boolean;
  fail(failure: WaitFailure): void;
}

/** The waiters for one position of one variant (a blocking playlist target or a part), oldest first. */
interface Group {
  kind: "playlist" | "part";
  msn: number;
  /** Undefined: the whole segment, which comes after all of its parts. */
  part: number | undefined;
  waiters: Waiter[];
}

/**
 * Requests held until the packager's state answers them: `advance(state)` on every new part
 * (and on a completed segment and on the end) wakes, in stream order, those the new state
 * answers. A request waits at most its timeout, and the registry holds at most `maxWaiting`.
 * Nothing is left behind: a settled request has no timer and no abort listener, and `close()`
 * settles every request still held.
 */
export class PlaylistWaiters {
  readonly maxWaiting: number;
  private readonly timeoutMs: number | undefined;
  /** Variant name → `kind msn part` → group. */
  private readonly groups = new Map<string, Map<string, Group>>();
  private held = 0;
  private hits = 0;
  private expired = 0;
  private closed = false;

  constructor(options: PlaylistWaitersOptions = {}) {
    const { maxWaiting = DEFAULT_MAX_WAITING, timeoutMs } = options;
    if (!Number.isSafeInteger(maxWaiting) || maxWaiting < 0) throw new RangeError(`maxWaiting must be a whole number ≥ 0, not ${maxWaiting}`);
    if (timeoutMs !== undefined && !(timeoutMs > 0 && Number.isFinite(timeoutMs))) throw new RangeError(`timeoutMs must be a positive number, not ${timeoutMs}`);
    this.maxWaiting = maxWaiting;
    this.timeoutMs = timeoutMs;
  }

  /** Requests held now. */
  get waiting(): number {
    return this.held;
  }

  /** Requests refused because `maxWaiting` were held. */
  get limitHits(): number {
    return this.hits;
  }

  /** Requests that waited their whole timeout. */
  get timeouts(): number {
    return this.expired;
  }

  /** Holds a blocking playlist request (a `wait` decision) until `state`'s successors answer it. */
  waitForPlaylist(state: LlHlsVariantState, until: BlockingTarget, options: WaitOptions = {}): Promise<PlaylistWaitOutcome> {
    return this.hold(state, "playlist", until.msn, until.part, options, (current): PlaylistWaitOutcome | undefined => {
      const decision = decideBlocking(current, until);
      if (decision.kind === "now") return { kind: "ready", state: current };
      return decision.kind === "bad-request" ? decision : undefined;
    });
  }

  /** Holds a request for a hinted part (a `wait` decision) until the part is complete. */
  waitForPart(state: LlHlsVariantState, until: PartPosition, options: WaitOptions = {}): Promise<PartWaitOutcome> {
    return this.hold(state, "part", until.msn, until.part, options, (current) => partOutcome(current, until));
  }

  /** The variant `state.name` has moved on: answers, in stream order, the requests it answers. */
  advance(state: LlHlsVariantState): void {
    const groups = this.groups.get(state.name);
    if (!groups) return;
    const ordered = [...groups.entries()].sort(([, a], [, b]) => byStreamOrder(a, b));
    for (const [key, group] of ordered) {
      const before = group.waiters.length;
      group.waiters = group.waiters.filter((waiter) => !waiter.settle(state));
      this.held -= before - group.waiters.length;
      if (group.waiters.length === 0) groups.delete(key);
    }
    if (groups.size === 0) this.groups.delete(state.name);
  }

  /** Answers every held request `closed` and refuses new ones. Safe to call more than once. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const all = [...this.groups.values()].flatMap((groups) => [...groups.values()].flatMap((group) => group.waiters));
    this.groups.clear();
    this.held = 0;
    for (const waiter of all) waiter.fail({ kind: "closed" });
  }

  private hold<T extends { kind: string }>(
    state: LlHlsVariantState,
    kind: Group["kind"],
    msn: number,
    part: number | undefined,
    { signal }: WaitOptions,
    answer: (state: LlHlsVariantState) => T | undefined,
  ): Promise<T | WaitFailure> {
    return new Promise((resolve) => {
      if (this.closed) return resolve({ kind: "closed" });
      if (signal?.aborted) return resolve({ kind: "aborted" });
      const now = answer(state);
      if (now) return resolve(now);
      if (this.held >= this.maxWaiting) {
        this.hits += 1;
        return resolve({ kind: "over-limit" });
      }
      const key = `${kind} ${msn} ${part ?? ""}`;
      const finish = (outcome: T | WaitFailure): void => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        resolve(outcome);
      };
      const waiter: Waiter = {
        settle: (current) => {
          const outcome = answer(current);
          if (outcome) finish(outcome);
          return outcome !== undefined;
        },
        fail: finish,
      };
      const giveUp = (failure: WaitFailure): void => {
        this.remove(state.name, key, waiter);
        finish(failure);
      };
      const onAbort = (): void => giveUp({ kind: "aborted" });
      const timer = setTimeout(() => {
        this.expired += 1;
        giveUp({ kind: "timeout" });
      }, this.timeoutMs ?? 3 * state.targetDurationSeconds * 1000);
      signal?.addEventListener("abort", onAbort, { once: true });

      let groups = this.groups.get(state.name);
      if (!groups) this.groups.set(state.name, (groups = new Map()));
      const group = groups.get(key) ?? { kind, msn, part, waiters: [] };
      groups.set(key, group);
      group.waiters.push(waiter);
      this.held += 1;
    });
  }

  private remove(variant: string, key: string, waiter: Waiter): void {
    const groups = this.groups.get(variant);
    const group = groups?.get(key);
    if (!groups || !group || !group.waiters.includes(waiter)) return;
    group.waiters = group.waiters.filter((w) => w !== waiter);
    this.held -= 1;
    if (group.waiters.length > 0) return;
    groups.delete(key);
    if (groups.size === 0) this.groups.delete(variant);
  }
}

/** Segment by segment; in a segment, its parts before the segment itself; a playlist before a part. */
function byStreamOrder(a: Group, b: Group): number {
  return a.msn - b.msn || (a.part ?? Infinity) - (b.part ?? Infinity) || (a.kind === b.kind ? 0 : a.kind === "playlist" ? -1 : 1);
}
