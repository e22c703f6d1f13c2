import { describe, expect, test } from "@jest/globals";
import { heatmapPixels, parseHeatmap } from "./heatmap.js";

describe("heatmapPixels", () => {
  test("clear where nobody looked, red and most opaque in the hottest cell, cooler and clearer below it", () => {
    const pixels = heatmapPixels({ columns: 3, rows: 1, samples: 5, windowSeconds: 300, cells: [0, 1, 4] });
    expect([...pixels.slice(0, 4)]).toEqual([0, 0, 0, 0]);
    expect([...pixels.slice(8, 12)]).toEqual([255, 0, 0, 191]);
    const [r, g, b, a] = pixels.slice(4, 8);
    // sqrt(1/4) = 0.5: between cyan and yellow, half as opaque again.
    expect(a).toBe(128);
    expect(g).toBe(255);
    expect(r).toBeGreaterThan(0);
    expect(r).toBeLessThan(255);
    expect(b).toBeLessThan(255);
  });

  test("an empty grid is all clear", () => {
    expect(heatmapPixels({ columns: 2, rows: 2, samples: 0, windowSeconds: 300, cells: [0, 0, 0, 0] }).every((v) => v === 0)).toBe(true);
  });
});

describe("parseHeatmap", () => {
  const good = { stream: "demo", cellDegrees: 90, columns: 4, rows: 2, windowSeconds: 300, samples: 3, cells: [0, 1, 2, 0, 0, 0, 0, 0] };

  test("what the edge serves", () => {
    expect(parseHeatmap(good)).toEqual({ columns: 4, rows: 2, samples: 3, windowSeconds: 300, cells: good.cells });
  });

  test.each([
    ["cells of the wrong length", { ...good, cells: [1] }],
    ["a negative count", { ...good, cells: [-1, 0, 0, 0, 0, 0, 0, 0] }],
    ["no rows", { ...good, rows: 0, cells: [] }],
    ["an absurd size", { ...good, columns: 100_000, rows: 1, cells: [] }],
    ["not an object", "heatmap"],
  ])("%s is refused", (_name, value) => {
    expect(parseHeatmap(value)).toBeUndefined();
  });
});
