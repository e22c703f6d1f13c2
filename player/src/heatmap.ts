/**
 * The attention heatmap overlay (`heatmap=1`): the edge's per-stream grid of where viewers looked
 * (workloads/edge/src/insight, `/hls/<stream>/heatmap.json`) as a translucent texture on a sphere
 * just inside the video's, so a producer sees the hot spots on the picture itself. The grid is
 * equirectangular in viewing directions — column 0 at yaw −180°, row 0 at pitch +90° — which is
 * exactly how the equirectangular sphere mesh lays out its texture, whatever the video's own
 * projection.
 */

export interface HeatmapGrid {
  columns: number;
  rows: number;
  samples: number;
  windowSeconds: number;
  cells: number[];
}

/** Cold to hot: blue, cyan, yellow, red. */
const RAMP: readonly [number, number, number, number][] = [
  [0, 0, 64, 255],
  [0.33, 0, 255, 255],
  [0.66, 255, 255, 0],
  [1, 255, 0, 0],
];

function rampColor(t: number): [number, number, number] {
  for (let i = 1; i < RAMP.length; i += 1) {
    const [end, r1, g1, b1] = RAMP[i]!;
    if (t <= end) {
      const [start, r0, g0, b0] = RAMP[i - 1]!;
      const f = (t - start) / (end - start);
      return [Math.round(r0 + (r1 - r0) * f), Math.round(g0 + (g1 - g0) * f), Math.round(b0 + (b1 - b0) * f)];
    }
  }
  return [255, 0, 0];
}

/**
 * RGBA pixels, one per cell, row 0 at the top. Heat is relative to the hottest cell (a square
 * root, so a cell with a quarter of the views still shows); cells nobody looked at stay clear.
 */
export function heatmapPixels(grid: HeatmapGrid): Uint8ClampedArray {
  const pixels = new Uint8ClampedArray(grid.columns * grid.rows * 4);
  const max = Math.max(0, ...grid.cells);
  if (max === 0) return pixels;
  grid.cells.forEach((count, i) => {
    if (count <= 0) return;
    const t = Math.sqrt(count / max);
    const [r, g, b] = rampColor(t);
    pixels.set([r, g, b, Math.round(255 * (0.25 + 0.5 * t))], i * 4);
  });
  return pixels;
}

/** Checks what the edge sent before it reaches WebGL: a wrong shape would draw garbage. */
export function parseHeatmap(value: unknown): HeatmapGrid | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const { columns, rows, samples, windowSeconds, cells } = value as Record<string, unknown>;
  const count = (n: unknown): n is number => Number.isInteger(n) && (n as number) >= 0;
  if (!count(columns) || !count(rows) || columns === 0 || rows === 0 || columns > 720 || rows > 360) return undefined;
  if (!count(samples) || typeof windowSeconds !== "number") return undefined;
  if (!Array.isArray(cells) || cells.length !== columns * rows || !cells.every(count)) return undefined;
  return { columns, rows, samples, windowSeconds, cells };
}

/** `/hls/<stream>/heatmap.json` beside the master playlist (a signed prefix carries over). */
export function heatmapUrl(masterUrl: string): string {
  return new URL("heatmap.json", new URL(masterUrl, location.href)).href;
}
