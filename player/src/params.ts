import type { Projection } from "@live360/core/browser";
import { parseProjection } from "./projection.js";

/** What the page's query string asks for, validated. */
export interface PlayerParams {
  /** Absolute http(s) URL of the master (or media) playlist; undefined when none was given. */
  url: string | undefined;
  /** Projection forced by `projection=`; undefined lets the asset manifest or the default decide. */
  projection: Projection | undefined;
  /** `latency=low`: hls.js low-latency mode and a closer live edge. */
  lowLatency: boolean;
  /** `muted=1`: start muted even where unmuted autoplay is allowed. */
  muted: boolean;
  /** `debug=1`: stats overlay open from the start, hls.js logging on. */
  debug: boolean;
  /**
   * Quality-of-experience data for the stream's operator — CMCD on every request and the viewer
   * beacon (startup, stalls, errors, where the viewer looks) — on unless `analytics=0`. It carries
   * a random id per page load and nothing else that identifies a viewer.
   */
  analytics: boolean;
  /** `heatmap=1`: for the producer, where viewers look, drawn over the picture (heatmap.ts). */
  heatmap: boolean;
}

/** A parameter the player could not use; shown to the viewer, never silently dropped. */
export interface ParamProblem {
  param: string;
  value: string;
  message: string;
}

export interface ParsedParams {
  params: PlayerParams;
  problems: ParamProblem[];
}

const TRUE_VALUES = ["1", "true", "yes", "on", ""];
const FALSE_VALUES = ["0", "false", "no", "off"];

/**
 * Reads the player's parameters from the page URL. `url` may be relative (resolved against the
 * page, so `/player/?url=/hls/test/master.m3u8` works under any host) or absolute; only http(s)
 * is accepted so a crafted link cannot smuggle in `javascript:` or `file:` URLs.
 */
export function parsePlayerParams(pageUrl: string): ParsedParams {
  const page = new URL(pageUrl);
  const query = page.searchParams;
  const problems: ParamProblem[] = [];

  let url: string | undefined;
  const rawUrl = query.get("url")?.trim();
  if (rawUrl) {
    try {
      const resolved = new URL(rawUrl, page);
      if (resolved.protocol === "http:" || resolved.protocol === "https:") url = resolved.href;
      else problems.push({ param: "url", value: rawUrl, message: "The stream address must be an http:// or https:// URL." });
    } catch {
      problems.push({ param: "url", value: rawUrl, message: "The stream address is not a valid URL." });
    }
  }

  let projection: Projection | undefined;
  const rawProjection = query.get("projection");
  if (rawProjection !== null && rawProjection !== "") {
    projection = parseProjection(rawProjection);
    if (!projection) {
      problems.push({
        param: "projection",
        value: rawProjection,
        message: "Unknown projection; use equirectangular, cubemap or flat. Using the stream's own setting instead.",
      });
    }
  }

  const rawLatency = query.get("latency");
  if (rawLatency !== null && rawLatency !== "low" && rawLatency !== "normal") {
    problems.push({ param: "latency", value: rawLatency, message: "latency can be low or normal; using normal." });
  }

  return {
    params: {
      url,
      projection,
      lowLatency: rawLatency === "low",
      muted: flag(query, "muted", problems),
      debug: flag(query, "debug", problems),
      analytics: flag(query, "analytics", problems, true),
      heatmap: flag(query, "heatmap", problems),
    },
    problems,
  };
}

function flag(query: URLSearchParams, name: string, problems: ParamProblem[], fallback = false): boolean {
  const raw = query.get(name);
  if (raw === null) return fallback;
  const value = raw.trim().toLowerCase();
  if (TRUE_VALUES.includes(value)) return true;
  if (FALSE_VALUES.includes(value)) return false;
  problems.push({ param: name, value: raw, message: `${name} can be 1 or 0; using ${fallback ? 1 : 0}.` });
  return fallback;
}
