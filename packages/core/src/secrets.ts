import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { ConfigError } from "./errors.js";
import { isValidStreamName } from "./config.js";

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

/**
 * Parses `stream=secret` lines (a file, or LIVE360_PUBLISH_KEYS with lines or commas): the origin's
 * publish keys, and the keys a test source publishes with. Blank lines and `#` comments are
 * allowed; anything else malformed is a start-up error that names the entry, never the secret.
 */
export function parsePublishKeys(source: string, text: string): Map<string, string> {
  const keys = new Map<string, string>();
  text.split(/[\n,]/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const eq = line.indexOf("=");
    const stream = line.slice(0, eq).trim();
    const secret = line.slice(eq + 1).trim();
    if (eq <= 0 || secret === "" || !isValidStreamName(stream)) {
      throw new ConfigError(`${source} entry ${index + 1}`, eq > 0 ? `${stream}=<hidden>` : "<hidden>", "write stream=secret with a valid stream name");
    }
    keys.set(stream, secret);
  });
  return keys;
}

/** A secret file's text; an unreadable file is a start-up error naming the flag. */
export function readSecretFile(field: string, file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError(field, file, `make the file readable (${(err as Error).message})`);
  }
}

/** Publish keys from `--publish-keys-file` (a mounted Secret) or else LIVE360_PUBLISH_KEYS; undefined: none. */
export function loadPublishKeys(file: string | undefined, env: string | undefined): Map<string, string> | undefined {
  if (file) return parsePublishKeys(file, readSecretFile("publishKeysFile (--publish-keys-file)", file));
  if (env !== undefined && env.trim() !== "") return parsePublishKeys("LIVE360_PUBLISH_KEYS", env);
  return undefined;
}
