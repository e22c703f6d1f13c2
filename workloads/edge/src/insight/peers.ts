/**
 * The heatmap of a stream is the sum over every edge that served its viewers: each edge pod
 * counts only the beacons that reached it. The edge answering `/hls/<stream>/heatmap.json` asks
 * its peers for their own grids (on their metrics port, `LOCAL_HEATMAP_PATH`) and adds them to its
 * own. The peers are found again on every request — through DNS (a headless Service listing the
 * edge pods) or from a fixed list — so pods that come and go with the autoscaler are followed, and
 * a peer that is slow or gone costs at most the timeout and is left out (the answer says how many
 * edges it covers). The edges merge among themselves because they already hold the data and scale
 * with the viewers; no extra component has to be run, kept alive or secured.
 */
import { resolve4 } from "node:dns/promises";
import { networkInterfaces } from "node:os";
import { ConfigError } from "@live360/core";
import type { Heatmap } from "./aggregator.js";

/** Where an edge serves its own, unmerged grid (on its metrics port, inside the cluster). */
export const LOCAL_HEATMAP_PATH = "/insight/local-heatmap/";
const PEER_TIMEOUT_MS = 1000;

export type PeerSource = { kind: "urls"; urls: readonly string[] } | { kind: "dns"; name: string; port: number };

/**
 * `dns:<name>:<port>` (every address the name resolves to: a headless Service of the edge pods)
 * or a comma-separated list of the peers' metrics base URLs (`http://10.0.0.7:9113,…`).
 */
export function parsePeerSource(field: string, value: string): PeerSource {
  const dns = /^dns:([A-Za-z0-9.-]+):([0-9]{1,5})$/.exec(value);
  if (dns) {
    const port = Number(dns[2]);
    if (port < 1 || port > 65535) throw new ConfigError(field, value, "give a port from 1 to 65535");
    return { kind: "dns", name: dns[1]!, port };
  }
  const urls = value.split(",").map((url) => url.trim()).filter((url) => url !== "");
  for (const url of urls) {
    if (!/^http:\/\/[A-Za-z0-9.[\]:-]+$/.test(url)) throw new ConfigError(field, value, "give dns:<name>:<port> or peers' metrics URLs such as http://10.0.0.7:9113 (no path), comma-separated");
  }
  if (urls.length === 0) throw new ConfigError(field, value, "give dns:<name>:<port> or at least one peer URL");
  return { kind: "urls", urls };
}

/** A merged heatmap also says how many edges it covers. */
export type MergedHeatmap = Heatmap & { edges: number };

/** This host's own addresses, so that a DNS answer listing this pod is not asked. */
function ownAddresses(): Set<string> {
  return new Set(
    Object.values(networkInterfaces())
      .flat()
      .map((entry) => entry?.address)
      .filter((address): address is string => address !== undefined),
  );
}

export async function peerUrls(source: PeerSource): Promise<string[]> {
  if (source.kind === "urls") return [...source.urls];
  const own = ownAddresses();
  const addresses = await resolve4(source.name).catch(() => [] as string[]);
  return addresses.filter((address) => !own.has(address)).map((address) => `http://${address}:${source.port}`);
}

/** A peer's grid, if it has one of the same shape; anything else is left out. */
function sameShape(own: Heatmap, other: unknown): other is Heatmap {
  if (typeof other !== "object" || other === null) return false;
  const map = other as Partial<Heatmap>;
  return (
    map.columns === own.columns &&
    map.rows === own.rows &&
    map.cellDegrees === own.cellDegrees &&
    Array.isArray(map.cells) &&
    map.cells.length === own.cells.length &&
    map.cells.every((count) => Number.isInteger(count) && count >= 0)
  );
}

export function mergeHeatmaps(own: Heatmap, others: readonly unknown[]): MergedHeatmap {
  const cells = [...own.cells];
  let edges = 1;
  for (const other of others) {
    if (!sameShape(own, other)) continue;
    other.cells.forEach((count, i) => (cells[i]! += count));
    edges += 1;
  }
  return { ...own, cells, samples: cells.reduce((sum, count) => sum + count, 0), edges };
}

async function fetchPeer(url: string): Promise<unknown> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(PEER_TIMEOUT_MS) });
    return response.ok ? await response.json() : undefined;
  } catch {
    return undefined;
  }
}

/** This edge's grid (an empty one when it saw no viewer of the stream) plus every peer's. */
export async function mergedHeatmap(own: Heatmap, stream: string, source: PeerSource | undefined): Promise<MergedHeatmap> {
  if (!source) return { ...own, edges: 1 };
  const urls = await peerUrls(source);
  const others = await Promise.all(urls.map((base) => fetchPeer(`${base}${LOCAL_HEATMAP_PATH}${encodeURIComponent(stream)}`)));
  return mergeHeatmaps(own, others);
}
