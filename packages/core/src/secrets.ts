import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * Keys the digests below. Random per process, so a digest of a secret is worth nothing outside
 * this process, and nobody can prepare inputs whose digests compare in any chosen way.
 */
const COMPARISON_KEY = randomBytes(32);

const digest = (value: string): Buffer => createHmac("sha256", COMPARISON_KEY).update(value, "utf8").digest();

/**
 * Whether `given` (from a client) is the secret `expected` (publish key, admin token), in time
 * that tells nothing about either, their length included: timingSafeEqual alone needs inputs of
 * equal length, and a length check before it tells a client how long the secret is. Comparing
 * fixed-size HMAC digests removes the length from the comparison. An empty `expected` protects
 * nothing and matches nothing (configuration refuses empty secrets; this is the last guard).
 */
export function secretsEqual(given: string, expected: string): boolean {
  const same = timingSafeEqual(digest(given), digest(expected));
  return same && expected !== "";
}
