/**
 * CMCD (CTA-5004, Common Media Client Data) as players send it in query mode: the value of one
 * `CMCD` query parameter, `key=value` pairs separated by commas — integers, `"strings"`, tokens,
 * and keys alone for `true`. Everything here comes from a viewer's browser, so it is parsed by
 * hand under hard limits (length, pair count, string length, integer range) and anything out of
 * shape is an error with a reason the edge counts, never an exception.
 */

/** The keys the edge uses; the others (and custom `x-` keys) are accepted and ignored. */
export interface Cmcd {
  /** Encoded bitrate of the object, kbps. */
  br?: number;
  /** Buffer length, ms. */
  bl?: number;
  /** Buffer starvation since the last request. */
  bs?: boolean;
  /** Content id. */
  cid?: string;
  /** Object duration, ms. */
  d?: number;
  /** Measured throughput, kbps. */
  mtp?: number;
  /** Object type: m manifest, a audio, v video, av muxed, i init, c caption, tt text, k key, o other. */
  ot?: string;
  /** Session id. */
  sid?: string;
  /** Stream type: v VOD, l live. */
  st?: string;
  /** Startup: the object is needed for the first frame (or after a rebuffer). */
  su?: boolean;
  /** Top bitrate available, kbps. */
  tb?: number;
}

export type CmcdRejection = "too-long" | "too-many-keys" | "bad-pair" | "bad-value" | "duplicate-key";

export class CmcdError {
  constructor(readonly reason: CmcdRejection) {}
}

/** Longer than any real CMCD payload (all keys with 64-character strings fit in ~600). */
export const MAX_CMCD_LENGTH = 1024;
const MAX_PAIRS = 32;
/** CTA-5004 caps strings (cid, sid) at 64 characters. */
const MAX_STRING = 64;
/** Integers the spec's keys can reach (kbps, ms) with room to spare; beyond is nonsense. */
const MAX_INTEGER = 2 ** 31 - 1;

const INTEGER_KEYS = new Set(["br", "bl", "d", "mtp", "tb", "dl", "rtp", "v"]);
const STRING_KEYS = new Set(["cid", "sid", "nor", "nrr"]);
const TOKEN_VALUES: Record<string, ReadonlySet<string>> = {
  ot: new Set(["m", "a", "v", "av", "i", "c", "tt", "k", "o"]),
  st: new Set(["v", "l"]),
  sf: new Set(["d", "h", "s", "o"]),
};
const BOOLEAN_KEYS = new Set(["bs", "su"]);
/** The spec's keys, known well-formed without the KEY pattern (the parser runs for every request a player makes). */
const SPEC_KEYS = new Set([...INTEGER_KEYS, ...STRING_KEYS, ...Object.keys(TOKEN_VALUES), ...BOOLEAN_KEYS, "pr"]);
// The spec's keys are short lowercase words; custom keys carry a hyphenated, reverse-DNS prefix
// ("com.example-myKey").
const KEY = /^(?:[a-z]{1,8}|[a-z0-9.]{1,32}-[A-Za-z0-9.-]{1,32})$/;
const INTEGER = /^(?:0|[1-9][0-9]{0,9})$/;
// Printable ASCII inside the quotes, with \" and \\ escapes (the spec's string form).
const STRING = /^"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"$/;

/**
 * Splits on commas outside quotes; a quote left open is a bad pair (the remainder is one
 * unterminated piece).
 */
function splitPairs(value: string): string[] {
  const pieces: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i += 1) {
    const ch = value[i];
    if (ch === "\\" && quoted) i += 1;
    else if (ch === '"') quoted = !quoted;
    else if (ch === "," && !quoted) {
      pieces.push(value.slice(start, i));
      start = i + 1;
    }
  }
  pieces.push(value.slice(start));
  return pieces;
}

/** The decoded value of a `CMCD` query parameter. */
export function parseCmcd(value: string): Cmcd | CmcdError {
  if (value.length > MAX_CMCD_LENGTH) return new CmcdError("too-long");
  if (value === "") return {};
  const pairs = splitPairs(value);
  if (pairs.length > MAX_PAIRS) return new CmcdError("too-many-keys");
  const result: Record<string, number | string | boolean> = {};
  const seen = new Set<string>();
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    const key = eq === -1 ? pair : pair.slice(0, eq);
    if (!SPEC_KEYS.has(key) && !KEY.test(key)) return new CmcdError("bad-pair");
    if (seen.has(key)) return new CmcdError("duplicate-key");
    seen.add(key);
    if (eq === -1) {
      // A key alone is `true` (the spec leaves `=false` out, so a bare non-boolean key is wrong).
      if (INTEGER_KEYS.has(key) || STRING_KEYS.has(key) || key in TOKEN_VALUES) return new CmcdError("bad-value");
      if (BOOLEAN_KEYS.has(key)) result[key] = true;
      continue;
    }
    const raw = pair.slice(eq + 1);
    if (INTEGER_KEYS.has(key)) {
      if (!INTEGER.test(raw) || Number(raw) > MAX_INTEGER) return new CmcdError("bad-value");
      result[key] = Number(raw);
    } else if (STRING_KEYS.has(key)) {
      const match = STRING.exec(raw);
      if (!match) return new CmcdError("bad-value");
      const inner = match[1]!;
      const text = inner.includes("\\") ? inner.replace(/\\(["\\])/g, "$1") : inner;
      if (text.length > MAX_STRING) return new CmcdError("bad-value");
      result[key] = text;
    } else if (key in TOKEN_VALUES) {
      if (!TOKEN_VALUES[key]!.has(raw)) return new CmcdError("bad-value");
      result[key] = raw;
    } else if (BOOLEAN_KEYS.has(key)) {
      if (raw !== "true" && raw !== "false") return new CmcdError("bad-value");
      result[key] = raw === "true";
    } else if (raw.length > MAX_STRING + 2) {
      // An unknown or custom key: ignored, but not a way around the size limits.
      return new CmcdError("bad-value");
    }
  }
  return result as Cmcd;
}
