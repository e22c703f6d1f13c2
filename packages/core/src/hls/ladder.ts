import { ConfigError } from "../errors.js";

/** One rung of an ABR ladder. */
export interface Rendition {
  /** Directory and variant name in URLs, e.g. `source`, `960p`. */
  name: string;
  /** Copy the source video untouched (only for H.264 sources; otherwise it is transcoded). */
  passthrough: boolean;
  width: number;
  height: number;
  /** Target video bitrate; also the cap (maxrate) with a 1.5 s buffer. Ignored for pass-through. */
  videoBitrateKbps: number;
}

export type Ladder = readonly Rendition[];

/**
 * The default for 2:1 equirectangular sources: the source itself, then 1920x960, 1080x540 and
 * 960x480. Bitrates follow the usual per-pixel budget for 30 fps H.264 at `veryfast`.
 */
export const DEFAULT_LADDER: Ladder = [
  { name: "source", passthrough: true, width: 0, height: 0, videoBitrateKbps: 0 },
  { name: "960p", passthrough: false, width: 1920, height: 960, videoBitrateKbps: 5000 },
  { name: "540p", passthrough: false, width: 1080, height: 540, videoBitrateKbps: 2200 },
  { name: "480p", passthrough: false, width: 960, height: 480, videoBitrateKbps: 1600 },
];

const RUNG_PATTERN = /^(\d{2,5})x(\d{2,5}):(\d{2,6})k$/;

/**
 * Parses `source,1280x640:2500k,640x320:800k`. Names derive from the height (`640p`) so URLs
 * stay stable when bitrates change.
 */
export function parseLadder(field: string, spec: string): Rendition[] {
  const rungs = spec.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (rungs.length === 0) throw new ConfigError(field, spec, "list at least one rung, e.g. source,1280x640:2500k");
  const ladder = rungs.map((rung): Rendition => {
    if (rung === "source") return { name: "source", passthrough: true, width: 0, height: 0, videoBitrateKbps: 0 };
    const m = RUNG_PATTERN.exec(rung);
    if (!m) throw new ConfigError(field, rung, 'write each rung as "source" or WIDTHxHEIGHT:KBPSk, e.g. 1280x640:2500k');
    const [width, height, kbps] = [Number(m[1]), Number(m[2]), Number(m[3])];
    if (width % 2 !== 0 || height % 2 !== 0) throw new ConfigError(field, rung, "use even width and height (H.264 4:2:0)");
    return { name: `${height}p`, passthrough: false, width, height, videoBitrateKbps: kbps };
  });
  return validateLadder(field, ladder);
}

/**
 * The inverse of parseLadder: the `--ladder` value that reproduces `ladder`, for callers that
 * hand a ladder to a process on its command line (the operator's pod specs).
 */
export function formatLadder(ladder: Ladder): string {
  return ladder.map((r) => (r.passthrough ? "source" : `${r.width}x${r.height}:${r.videoBitrateKbps}k`)).join(",");
}

export function validateLadder(field: string, ladder: Rendition[]): Rendition[] {
  const names = new Set<string>();
  for (const r of ladder) {
    if (names.has(r.name)) throw new ConfigError(field, r.name, "give each rung a distinct size; two rungs share a name");
    names.add(r.name);
  }
  if (ladder.filter((r) => r.passthrough).length > 1) {
    throw new ConfigError(field, ladder.map((r) => r.name), "only one rung can pass the source through");
  }
  return ladder;
}

/**
 * The rungs that apply to a given source: pass-through always, transcoded rungs only when
 * smaller than the source (upscaling wastes bits), and the pass-through rung takes the
 * source's size. A source smaller than every rung still gets its own size.
 */
export function ladderForSource(ladder: Ladder, source: { width: number; height: number }): Rendition[] {
  const applied: Rendition[] = [];
  for (const r of ladder) {
    if (r.passthrough) applied.push({ ...r, width: source.width, height: source.height });
    else if (r.height < source.height && r.width <= source.width) applied.push(r);
  }
  if (applied.length === 0) {
    applied.push({ name: "source", passthrough: true, width: source.width, height: source.height, videoBitrateKbps: 0 });
  }
  return applied;
}
