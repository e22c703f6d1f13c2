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

/** One `id=secret` entry of a secrets text; `id` is undefined for a line without one before "=". */
export interface SecretLine {
  /** 1-based position among the text's lines and comma-separated parts, for error messages. */
  entry: number;
  id: string | undefined;
  secret: string;
}

/**
 * The entries of `id=secret` lines (a mounted Secret's file, or an environment variable with lines
 * or commas): blank lines and `#` comments skipped, both sides trimmed. Checking them is the
 * caller's: publish keys and signing keys have rules of their own.
 */
export function secretLines(text: string): SecretLine[] {
  const lines: SecretLine[] = [];
  text.split(/[\n,]/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const eq = line.indexOf("=");
    lines.push(eq > 0 ? { entry: index + 1, id: line.slice(0, eq).trim(), secret: line.slice(eq + 1).trim() } : { entry: index + 1, id: undefined, secret: "" });
  });
  return lines;
}

/**
 * Parses `stream=secret` lines: the origin's publish keys, and the keys a test source publishes
 * with. Anything malformed is a start-up error that names the entry, never the secret.
 */
export function parsePublishKeys(source: string, text: string): Map<string, string> {
  const keys = new Map<string, string>();
  for (const { entry, id, secret } of secretLines(text)) {
    if (id === undefined || secret === "" || !isValidStreamName(id)) {
      throw new ConfigError(`${source} entry ${entry}`, id !== undefined ? `${id}=<hidden>` : "<hidden>", "write stream=secret with a valid stream name");
    }
    keys.set(id, secret);
  }
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

/**
 * A secret's text from its file (a mounted Secret) if one is named, else from an environment
 * variable's non-blank value; undefined when neither. Never from a flag's value: a command line
 * is readable by every user of the machine.
 */
export function secretText(field: string, file: string | undefined, env: string | undefined): string | undefined {
  if (file) return readSecretFile(field, file);
  return env !== undefined && env.trim() !== "" ? env : undefined;
}

/** Publish keys from `--publish-keys-file` or else LIVE360_PUBLISH_KEYS; undefined: none. */
export function loadPublishKeys(file: string | undefined, env: string | undefined): Map<string, string> | undefined {
  const text = secretText("publishKeysFile (--publish-keys-file)", file, env);
  return text === undefined ? undefined : parsePublishKeys(file || "LIVE360_PUBLISH_KEYS", text);
}
