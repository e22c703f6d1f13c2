/**
 * How viewer insight leaves nginx: nginx appends one JSON line per request carrying CMCD, and one
 * per beacon (its body, read by njs), to a file named after the current second in the spool
 * directory; this reader takes each second's file once nginx is done with it, folds its lines into
 * the aggregator and removes it. A file per second, read whole, costs a few system calls a second
 * however many viewers there are — the per-request datagram the edge used before cost the Node
 * process more CPU than nginx spent serving the requests (bench/results/viewers.md).
 *
 * Nothing in a line is trusted: a line out of shape is counted and dropped. Files are bounded: one
 * larger than `maxFileBytes` is dropped unread, and files older than `maxAgeSeconds` (left while
 * the reader was down) are dropped, so the directory cannot grow without limit.
 */
import { readFile, readdir, stat, unlink } from "node:fs/promises";
import path from "node:path";
import { once, type Logger } from "@live360/core";
import type { InsightAggregator } from "./aggregator.js";
import { BeaconError, parseBeacon } from "./beacon.js";
import { CmcdError, parseCmcd } from "./cmcd.js";

/** A spool file's name: the Unix second nginx wrote its lines in (nginx.conf's `$insight_second`). */
const SPOOL_FILE = /^(\d{1,12})\.log$/;

export interface SpoolLimits {
  /** How often the directory is read. */
  intervalMs: number;
  /** A second's file is read once this many seconds have passed since it (nginx writes each line at the end of its request). */
  settleSeconds: number;
  /** Older files are dropped unread: their viewers have long left the viewer window. */
  maxAgeSeconds: number;
  /** A larger file (a flood) is dropped unread rather than held in memory. */
  maxFileBytes: number;
}

export const DEFAULT_SPOOL_LIMITS: SpoolLimits = { intervalMs: 1000, settleSeconds: 2, maxAgeSeconds: 300, maxFileBytes: 64 * 1024 * 1024 };

export interface SpoolReaderOptions {
  dir: string;
  aggregator: InsightAggregator;
  logger: Logger;
  limits?: Partial<SpoolLimits>;
  /** Milliseconds since the epoch (tests move it). */
  now?: () => number;
}

export interface SpoolReader {
  /** Reads every settled file now (tests, and the reader's own timer). */
  drain(): Promise<void>;
  close(): Promise<void>;
}

/** One line nginx wrote: `{"s":…,"b":…,"u":"…","c":"…"}` for CMCD, `{"s":…,"beacon":"…"}` for a beacon. */
export function recordSpoolLine(aggregator: InsightAggregator, line: string): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    parsed = undefined;
  }
  const fields = (parsed ?? {}) as Record<string, unknown>;
  if (typeof fields.s === "number") aggregator.recordResponseStatus(fields.s);
  if (typeof fields.beacon === "string") return recordBeaconLine(aggregator, fields.s, fields.beacon);
  const { s: status, b: bytes, u: uri, c: query } = fields;
  if (typeof status !== "number" || typeof bytes !== "number" || typeof uri !== "string" || typeof query !== "string") return aggregator.reject("cmcd-bad-pair");
  // An error answer without CMCD, spooled for its status alone.
  if (query === "") return;
  let value: string;
  try {
    value = decodeURIComponent(query);
  } catch {
    return aggregator.reject("cmcd-bad-value");
  }
  const cmcd = parseCmcd(value);
  if (cmcd instanceof CmcdError) return aggregator.reject(`cmcd-${cmcd.reason}`);
  aggregator.recordRequest({ path: uri, status, bytes, cmcd });
}

function recordBeaconLine(aggregator: InsightAggregator, status: unknown, body: string): void {
  // nginx refused it before reading the body (larger than client_max_body_size).
  if (status === 413) return aggregator.reject("beacon-too-large");
  // Anything else but the 204 njs answers (a GET, a request the CDN check refused) carries no beacon.
  if (status !== 204) return;
  const beacon = parseBeacon(body);
  if (beacon instanceof BeaconError) return aggregator.reject(`beacon-${beacon.reason}`);
  aggregator.recordBeacon(beacon);
}

export function startSpoolReader(options: SpoolReaderOptions): SpoolReader {
  const { dir, aggregator, logger } = options;
  const limits = { ...DEFAULT_SPOOL_LIMITS, ...options.limits };
  const now = options.now ?? Date.now;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let closed = false;

  const readOne = async (file: string): Promise<void> => {
    const size = (await stat(file)).size;
    if (size > limits.maxFileBytes) {
      aggregator.reject("spool-too-large");
      logger.warn("insight spool file dropped unread: larger than the limit", { file, size, limit: limits.maxFileBytes });
      return;
    }
    for (const line of (await readFile(file, "utf8")).split("\n")) {
      if (line.length > 0) recordSpoolLine(aggregator, line);
    }
  };

  const pass = async (): Promise<void> => {
    const second = Math.floor(now() / 1000);
    const names = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
      // Not there yet (nginx's container makes it) is normal at start; anything else is worth a line.
      if (error.code !== "ENOENT") logger.warn("insight spool unreadable", { dir, error });
      return [] as string[];
    });
    const due = names
      .map((name) => ({ name, second: Number(SPOOL_FILE.exec(name)?.[1]) }))
      .filter((f) => Number.isFinite(f.second) && f.second <= second - limits.settleSeconds)
      .sort((a, b) => a.second - b.second);
    for (const { name, second: written } of due) {
      const file = path.join(dir, name);
      try {
        if (written < second - limits.maxAgeSeconds) aggregator.reject("spool-stale");
        else await readOne(file);
      } catch (error) {
        logger.warn("insight spool file unreadable", { file, error });
      }
      await unlink(file).catch(() => undefined);
    }
  };

  // One pass at a time: a slow disk delays the next pass rather than reading a file twice.
  const drain = (): Promise<void> => (running = running.then(pass, pass));
  const schedule = (): void => {
    if (closed) return;
    timer = setTimeout(() => void drain().finally(schedule), limits.intervalMs);
    timer.unref();
  };
  schedule();
  return {
    drain,
    close: once(async () => {
      closed = true;
      clearTimeout(timer);
      await running.catch(() => undefined);
    }),
  };
}
