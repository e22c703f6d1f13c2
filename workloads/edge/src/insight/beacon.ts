/**
 * The player's beacon: what CMCD cannot say, batched and POSTed to the edge as JSON about every
 * ten seconds (and with navigator.sendBeacon when the page goes away). Like CMCD it comes from a
 * viewer's browser, so it is validated field by field under hard limits; a body out of shape is
 * rejected with a reason the edge counts. It carries no personal data: a random session id made
 * per page load, the content id, and numbers.
 */

import { BEACON_ERROR_KINDS, MAX_BEACON_BYTES, MAX_BEACON_ERRORS, MAX_BEACON_VIEWS, type Beacon, type ViewSample } from "@live360/core";

export type { Beacon } from "@live360/core";

export type BeaconRejection = "too-large" | "not-json" | "bad-field";

export class BeaconError {
  constructor(
    readonly reason: BeaconRejection,
    readonly field?: string,
  ) {}
}

/** Nothing a beacon reports per interval (ms, counts) is longer than an hour or larger than this. */
const MAX_AMOUNT = 3_600_000;
const ID = /^[A-Za-z0-9._:/-]{1,64}$/;
const ERROR_KINDS: ReadonlySet<string> = new Set(BEACON_ERROR_KINDS);

const isAmount = (value: unknown): value is number => Number.isInteger(value) && (value as number) >= 0 && (value as number) <= MAX_AMOUNT;
const isNumberIn = (value: unknown, min: number, max: number): value is number =>
  typeof value === "number" && Number.isFinite(value) && value >= min && value <= max;

function isView(value: unknown): value is ViewSample {
  return Array.isArray(value) && value.length === 3 && isNumberIn(value[0], -180, 180) && isNumberIn(value[1], -90, 90) && isNumberIn(value[2], 1, 180);
}

function isError(value: unknown): value is Beacon["errors"][number] {
  if (typeof value !== "object" || value === null) return false;
  const { kind, fatal } = value as Record<string, unknown>;
  return typeof kind === "string" && ERROR_KINDS.has(kind) && typeof fatal === "boolean" && Object.keys(value).length === 2;
}

const FIELDS: Record<keyof Beacon, (value: unknown) => boolean> = {
  v: (value) => value === 1,
  sid: (value) => typeof value === "string" && ID.test(value),
  cid: (value) => typeof value === "string" && ID.test(value),
  startupMs: (value) => value === undefined || isAmount(value),
  playedMs: isAmount,
  rebufferMs: isAmount,
  rebuffers: isAmount,
  droppedFrames: isAmount,
  rungSwitches: isAmount,
  errors: (value) => Array.isArray(value) && value.length <= MAX_BEACON_ERRORS && value.every(isError),
  views: (value) => Array.isArray(value) && value.length <= MAX_BEACON_VIEWS && value.every(isView),
};

/** The beacon in a request body, or why it is not one. Unknown fields are refused (a typo or an attack). */
export function parseBeacon(body: Buffer | string): Beacon | BeaconError {
  const length = typeof body === "string" ? Buffer.byteLength(body) : body.length;
  if (length > MAX_BEACON_BYTES) return new BeaconError("too-large");
  let value: unknown;
  try {
    value = JSON.parse(body.toString());
  } catch {
    return new BeaconError("not-json");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return new BeaconError("bad-field");
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!Object.hasOwn(FIELDS, key)) return new BeaconError("bad-field", key);
  }
  for (const [key, valid] of Object.entries(FIELDS)) {
    if (!valid(record[key])) return new BeaconError("bad-field", key);
  }
  return record as unknown as Beacon;
}
