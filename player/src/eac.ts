/**
 * Equi-angular cubemap (EAC) as FFmpeg's `v360=e:eac` writes it, the layout YouTube
 * introduced. Directions use the viewer's frame: +x right, +y up, -z straight ahead (the
 * centre of the equirectangular source).
 *
 *   +--------+--------+--------+
 *   |  left  | front  | right  |   upright
 *   +--------+--------+--------+
 *   |  down  |  back  |   up   |   each turned a quarter: image "down" points to the viewer's left (-x)
 *   +--------+--------+--------+
 *
 * Within a face, pixels are spaced by angle, not by tangent: a point at tangent coordinate `a`
 * (-1..1 across the face) sits at `2/π·atan(a)`. FFmpeg also pads the frame with 2 pixels at
 * its left and right edges and above and below each row of faces; the mapping must skip that
 * padding or the faces do not meet and a seam shows. The table and the padding were read off
 * FFmpeg's output (see the player's EAC test against real FFmpeg), not from its source.
 */
export type Vec3 = readonly [number, number, number];

export type CubeFace = "left" | "front" | "right" | "down" | "back" | "up";

export interface EacCell {
  face: CubeFace;
  column: 0 | 1 | 2;
  row: 0 | 1;
  /** Direction of the face's centre. */
  centre: Vec3;
  /** Direction in which the image's x grows across the face. */
  right: Vec3;
  /** Direction in which the image's y grows (downwards) across the face. */
  down: Vec3;
}

export const EAC_LAYOUT: readonly EacCell[] = [
  { face: "left", column: 0, row: 0, centre: [-1, 0, 0], right: [0, 0, -1], down: [0, -1, 0] },
  { face: "front", column: 1, row: 0, centre: [0, 0, -1], right: [1, 0, 0], down: [0, -1, 0] },
  { face: "right", column: 2, row: 0, centre: [1, 0, 0], right: [0, 0, 1], down: [0, -1, 0] },
  { face: "down", column: 0, row: 1, centre: [0, -1, 0], right: [0, 0, 1], down: [-1, 0, 0] },
  { face: "back", column: 1, row: 1, centre: [0, 0, 1], right: [0, 1, 0], down: [-1, 0, 0] },
  { face: "up", column: 2, row: 1, centre: [0, 1, 0], right: [0, 0, -1], down: [-1, 0, 0] },
];

/** FFmpeg's EAC padding, in pixels of the whole frame. */
export const EAC_PADDING_PX = 2;

export interface FrameSize {
  width: number;
  height: number;
}

/** A position in a video frame, normalised to 0..1 with y growing downwards. */
export interface ImagePoint {
  x: number;
  y: number;
}

export function dot(a: Vec3, b: Vec3): number {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

/**
 * Where the point at tangent coordinates (a, b) of a face (each -1..1, along the cell's
 * `right` and `down`) appears in an EAC frame of the given size.
 */
export function eacImagePoint(cell: EacCell, a: number, b: number, frame: FrameSize): ImagePoint {
  const uPad = EAC_PADDING_PX / frame.width;
  const vPad = EAC_PADDING_PX / frame.height;
  const s = (2 / Math.PI) * Math.atan(a) + 0.5;
  const t = (2 / Math.PI) * Math.atan(b) + 0.5;
  return {
    x: ((s + cell.column) * (1 - 2 * uPad)) / 3 + uPad,
    y: t * (0.5 - 2 * vPad) + vPad + 0.5 * cell.row,
  };
}

/** The face a direction looks at: the one whose centre is closest. */
export function eacCellFor(direction: Vec3): EacCell {
  let best = EAC_LAYOUT[0]!;
  for (const cell of EAC_LAYOUT) if (dot(direction, cell.centre) > dot(direction, best.centre)) best = cell;
  return best;
}

/** Where a viewing direction (any length) is found in an EAC frame. */
export function eacImagePointForDirection(direction: Vec3, frame: FrameSize): ImagePoint & { face: CubeFace } {
  const cell = eacCellFor(direction);
  const depth = dot(direction, cell.centre);
  const point = eacImagePoint(cell, dot(direction, cell.right) / depth, dot(direction, cell.down) / depth, frame);
  return { ...point, face: cell.face };
}

/** The viewing direction (unit length) of a point of an equirectangular frame. */
export function equirectDirection(point: ImagePoint): Vec3 {
  const longitude = (point.x - 0.5) * 2 * Math.PI;
  const latitude = (0.5 - point.y) * Math.PI;
  return [Math.cos(latitude) * Math.sin(longitude), Math.sin(latitude), -Math.cos(latitude) * Math.cos(longitude)];
}

/** Where a viewing direction is found in an equirectangular frame. */
export function equirectImagePoint(direction: Vec3): ImagePoint {
  const length = Math.hypot(direction[0], direction[1], direction[2]);
  const longitude = Math.atan2(direction[0], -direction[2]);
  const latitude = Math.asin(direction[1] / length);
  return { x: longitude / (2 * Math.PI) + 0.5, y: 0.5 - latitude / Math.PI };
}
