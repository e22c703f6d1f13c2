/**
 * Live segment numbers that primary and backup origins agree on, so an edge failing over from
 * one to the other finds the same names for the same media.
 *
 * Alone, an origin numbers by the wall clock: floor(arrival of the first keyframe ÷ segment
 * duration). Two origins fed by one encoder see that keyframe a few milliseconds apart, and
 * when a segment boundary of the clock falls between the two arrivals they are one number
 * apart for the whole stream. With peers, the origin that decides second takes the first one's
 * numbering, rounded to the nearest segment, which no arrival difference under half a segment
 * can split; one origin (the backup) waits briefly for a peer that has the stream but has not
 * numbered it yet, so two origins starting together do not both fall back to the clock.
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { VARIANT_PLAYLIST, sleep } from "@live360/core";
import { segmentNumberAt } from "./hls-command.js";

/** Segment `firstSegmentNumber` begins with the keyframe that arrived at `firstSegmentAtMs`. */
export interface SegmentNumbering {
  firstSegmentNumber: number;
  firstSegmentAtMs: number;
}

/** What a peer says about a stream: its numbering, "pending" (live there, not numbered yet) or nothing. */
export type PeerNumbering = SegmentNumbering | "pending" | undefined;

/** Numbers the segment starting with a keyframe that arrived at `keyframeAtMs`. */
export type NumberSegmentAt = (keyframeAtMs: number) => number;

export interface NumberingDecision {
  numberAt: NumberSegmentAt;
  /** The peer whose numbering is followed, or "clock". */
  source: string;
}

const PEER_TIMEOUT_MS = 300;
const PEER_POLL_MS = 50;

/** The number `reference`'s origin gives a segment starting at `keyframeAtMs`: the nearest whole segment. */
export function alignedSegmentNumber(reference: SegmentNumbering, keyframeAtMs: number, segmentSeconds: number): number {
  return reference.firstSegmentNumber + Math.round((keyframeAtMs - reference.firstSegmentAtMs) / (segmentSeconds * 1000));
}

export const clockNumbering = (segmentSeconds: number): NumberingDecision => ({
  numberAt: (keyframeAtMs) => segmentNumberAt(keyframeAtMs, segmentSeconds),
  source: "clock",
});

interface StatStream {
  stream?: unknown;
  state?: unknown;
  numbering?: Partial<SegmentNumbering>;
}

/** Reads a peer origin's numbering of `stream` from its /stat; an unreachable peer knows nothing. */
export async function askPeer(peerUrl: string, stream: string, signal?: AbortSignal): Promise<PeerNumbering> {
  try {
    const timeout = AbortSignal.timeout(PEER_TIMEOUT_MS);
    const res = await fetch(`${peerUrl}/stat`, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
    if (!res.ok) return undefined;
    const body = (await res.json()) as { streams?: StatStream[] };
    const entry = body.streams?.find((s) => s.stream === stream);
    if (!entry) return undefined;
    const { firstSegmentNumber, firstSegmentAtMs } = entry.numbering ?? {};
    if (Number.isInteger(firstSegmentNumber) && Number.isFinite(firstSegmentAtMs)) return { firstSegmentNumber: firstSegmentNumber!, firstSegmentAtMs: firstSegmentAtMs! };
    return entry.state === "live" ? "pending" : undefined;
  } catch {
    return undefined;
  }
}

export interface DecideNumberingOptions {
  stream: string;
  segmentSeconds: number;
  peers: readonly string[];
  /** How long to keep asking while a peer has the stream but no numbering yet; 0 never waits. */
  waitMs: number;
  signal?: AbortSignal;
  ask?: typeof askPeer;
}

/** Follows the first peer that has numbered the stream; else the wall clock. */
export async function decideNumbering(options: DecideNumberingOptions): Promise<NumberingDecision> {
  const { stream, segmentSeconds, peers, waitMs, signal, ask = askPeer } = options;
  const deadline = Date.now() + waitMs;
  while (peers.length > 0 && !signal?.aborted) {
    const answers = await Promise.all(peers.map((peer) => ask(peer, stream, signal)));
    const index = answers.findIndex((a) => a !== undefined && a !== "pending");
    if (index >= 0) {
      const reference = answers[index] as SegmentNumbering;
      return { numberAt: (keyframeAtMs) => alignedSegmentNumber(reference, keyframeAtMs, segmentSeconds), source: peers[index]! };
    }
    if (!answers.includes("pending") || Date.now() + PEER_POLL_MS > deadline) break;
    await sleep(PEER_POLL_MS, signal);
  }
  return clockNumbering(segmentSeconds);
}

/**
 * The segments a stream's existing playlists list, for continuing them (an encoder reconnecting
 * within the grace): `next` is the number the next segment gets, one past the highest listed;
 * `lowest` the lowest any variant lists.
 */
export async function listedSegmentNumbers(streamDir: string): Promise<{ lowest: number; next: number } | undefined> {
  const variants = await readdir(streamDir, { withFileTypes: true }).catch(() => []);
  const numbers: number[] = [];
  for (const variant of variants.filter((entry) => entry.isDirectory())) {
    const playlist = await readFile(path.join(streamDir, variant.name, VARIANT_PLAYLIST), "utf8").catch(() => "");
    for (const match of playlist.matchAll(/^seg_(\d+)\.ts$/gm)) numbers.push(Number(match[1]));
  }
  return numbers.length === 0 ? undefined : { lowest: Math.min(...numbers), next: Math.max(...numbers) + 1 };
}
