/**
 * hls.js's own playlist parser, run headless: the player plays what this module writes, so the
 * tests read the playlists as it reads them. It is the player workspace's hls.js (resolved from
 * there, not from wherever the origin's dependencies happen to be hoisted); its parser needs no
 * DOM. Typed here by the few fields the tests read.
 */
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

export interface HlsJsAttributes {
  [name: string]: string | undefined;
}

export interface HlsJsLevelDetails {
  playlistParsingError: Error | null;
  version: number | null;
  targetduration: number;
  startSN: number;
  endSN: number;
  live: boolean;
  canBlockReload: boolean;
  canSkipUntil: number;
  partHoldBack: number;
  partTarget: number;
  skippedSegments: number;
  recentlyRemovedDateranges?: string[];
  fragments: ({ sn: number | string; relurl?: string; duration: number; programDateTime: number | null; initSegment: { relurl?: string } | null } | null)[];
  partList: { index: number; independent: boolean; relurl?: string; duration: number; fragment: { sn: number | string } }[] | null;
  preloadHint?: HlsJsAttributes;
  renditionReports?: HlsJsAttributes[];
}

export interface HlsJsMaster {
  playlistParsingError: Error | null;
  levels: { url: string; bitrate: number; codecSet: string; videoCodec?: string; audioCodec?: string; attrs: HlsJsAttributes }[];
}

interface M3U8Parser {
  parseLevelPlaylist(text: string, baseUrl: string, id: number, type: string, levelUrlId: number, variables: null): HlsJsLevelDetails;
  parseMasterPlaylist(text: string, baseUrl: string): HlsJsMaster;
}

export async function hlsJsParser(): Promise<M3U8Parser> {
  // dist/ll-hls/ → the repository root → the player workspace.
  const fromPlayer = createRequire(new URL("../../../../player/package.json", import.meta.url));
  const hls = (await import(pathToFileURL(fromPlayer.resolve("hls.js/dist/hls.mjs")).href)) as { M3U8Parser: M3U8Parser };
  return hls.M3U8Parser;
}
