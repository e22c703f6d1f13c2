/**
 * The viewer beacon's shape, shared by the player that sends it (player/src/beacon.ts) and the
 * edge that validates and folds it (workloads/edge/src/insight/beacon.ts): what CMCD cannot say,
 * batched and POSTed about every ten seconds. No personal data: a random session id made per page
 * load, the content id, and numbers. Browser-safe (exported from `@live360/core/browser`).
 */

/** What the player tells the viewer went wrong (the player's FailureKind). */
export const BEACON_ERROR_KINDS = ["not-found", "network", "refused", "bad-playlist", "media", "fatal"] as const;
export type BeaconErrorKind = (typeof BEACON_ERROR_KINDS)[number];

/** One viewing direction, degrees: yaw (right positive) and pitch of the view's centre in the frame's terms, and the field of view. */
export type ViewSample = readonly [yaw: number, pitch: number, fov: number];

export interface Beacon {
  v: 1;
  /** Random per page load, as CMCD's sid. */
  sid: string;
  /** The stream or asset, as CMCD's cid. */
  cid: string;
  /** Milliseconds from the page starting to load to the first frame; only in the beacon after it. */
  startupMs?: number;
  /** Since the previous beacon: time spent playing and stalled, and how many stalls began. */
  playedMs: number;
  rebufferMs: number;
  rebuffers: number;
  droppedFrames: number;
  rungSwitches: number;
  errors: { kind: BeaconErrorKind; fatal: boolean }[];
  /** About one a second since the previous beacon. */
  views: ViewSample[];
}

/** A beacon holds a minute of views at most; 8 KiB fits that three times over. */
export const MAX_BEACON_BYTES = 8192;
export const MAX_BEACON_VIEWS = 120;
export const MAX_BEACON_ERRORS = 32;
