import { ConfigError } from "./errors.js";

/**
 * Field validators shared by every workload's typed configuration. Each returns the value
 * narrowed to its type or throws a ConfigError naming the field, the value and the fix.
 */

export function port(field: string, value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > 65535) {
    throw new ConfigError(field, value, "use a whole number from 1 to 65535");
  }
  return value;
}

export function numberInRange(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
    throw new ConfigError(field, value, `use a number from ${min} to ${max}`);
  }
  return value;
}

export function integerInRange(field: string, value: unknown, min: number, max: number): number {
  const n = numberInRange(field, value, min, max);
  if (!Number.isInteger(n)) throw new ConfigError(field, value, `use a whole number from ${min} to ${max}`);
  return n;
}

export function nonEmptyString(field: string, value: unknown, fix = "give a non-empty value"): string {
  if (typeof value !== "string" || value.trim() === "") throw new ConfigError(field, value, fix);
  return value;
}

export function oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== "string" || !(allowed as readonly string[]).includes(value)) {
    throw new ConfigError(field, value, `use one of ${allowed.join(", ")}`);
  }
  return value as T;
}

export function matching(field: string, value: unknown, pattern: RegExp, fix: string): string {
  if (typeof value !== "string" || !pattern.test(value)) throw new ConfigError(field, value, fix);
  return value;
}

/** Parses a number given on a command line or in an environment variable. */
export function parseNumberFlag(field: string, raw: string): number {
  const n = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(n)) throw new ConfigError(field, raw, "use a number");
  return n;
}

/** Stream names become directory names, URL path segments and Kubernetes label values. */
export const STREAM_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

export function isValidStreamName(name: string): boolean {
  return STREAM_NAME_PATTERN.test(name);
}
