import { describe, expect, test } from "@jest/globals";
import { ConfigError } from "@live360/core";
import type { Heatmap } from "./aggregator.js";
import { mergeHeatmaps, parsePeerSource, peerUrls } from "./peers.js";

const grid = (cells: number[]): Heatmap => ({ stream: "demo", cellDegrees: 90, columns: 4, rows: 2, windowSeconds: 300, samples: cells.reduce((a, b) => a + b, 0), cells });

describe("parsePeerSource", () => {
  test("a headless Service's DNS name and port, or URLs", () => {
    expect(parsePeerSource("--insight-peers", "dns:demo-edge-peers.live360.svc.cluster.local:9113")).toEqual({ kind: "dns", name: "demo-edge-peers.live360.svc.cluster.local", port: 9113 });
    expect(parsePeerSource("--insight-peers", "http://10.0.0.7:9113, http://10.0.0.8:9113")).toEqual({ kind: "urls", urls: ["http://10.0.0.7:9113", "http://10.0.0.8:9113"] });
  });

  test.each(["dns:name:0", "dns:name:99999", "http://10.0.0.7:9113/metrics", "https://peer:9113", "", " , "])("%j is refused naming the flag", (value) => {
    expect(() => parsePeerSource("--insight-peers", value)).toThrow(ConfigError);
    expect(() => parsePeerSource("--insight-peers", value)).toThrow(/--insight-peers/);
  });

  test("a name that does not resolve means no peers, not an error", async () => {
    expect(await peerUrls({ kind: "dns", name: "no-such-name.invalid", port: 9113 })).toEqual([]);
  });
});

describe("mergeHeatmaps", () => {
  test("sums the cells of every grid of the same shape and counts the edges", () => {
    const merged = mergeHeatmaps(grid([1, 0, 0, 0, 0, 0, 0, 2]), [grid([0, 3, 0, 0, 0, 0, 0, 1]), grid([0, 0, 0, 0, 0, 0, 0, 0])]);
    expect(merged).toMatchObject({ samples: 7, edges: 3, cells: [1, 3, 0, 0, 0, 0, 0, 3] });
  });

  test("leaves out what is not a grid of the same shape", () => {
    const merged = mergeHeatmaps(grid([1, 0, 0, 0, 0, 0, 0, 0]), [
      undefined,
      "grid",
      { ...grid([1, 1, 1, 1, 1, 1, 1, 1]), columns: 8, cells: new Array(16).fill(1) },
      { ...grid([1, 1, 1, 1, 1, 1, 1, 1]), cellDegrees: 45 },
      { ...grid([0, 0, 0, 0, 0, 0, 0, 0]), cells: [-1, 0, 0, 0, 0, 0, 0, 0] },
      { ...grid([0, 0, 0, 0, 0, 0, 0, 0]), cells: [0.5, 0, 0, 0, 0, 0, 0, 0] },
    ]);
    expect(merged).toMatchObject({ samples: 1, edges: 1 });
  });
});
