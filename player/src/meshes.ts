import { EAC_LAYOUT, eacImagePoint, equirectDirection, type FrameSize, type ImagePoint } from "./eac.js";

/**
 * Triangle meshes for each projection, as plain arrays so they are built and tested without
 * WebGL. Every triangle faces the viewer at the origin (counter-clockwise seen from inside),
 * and texture coordinates follow WebGL's convention for video textures (v = 1 at the top).
 */
export interface MeshData {
  positions: Float32Array;
  uvs: Float32Array;
  indices: Uint32Array;
}

class MeshBuilder {
  private readonly positions: number[] = [];
  private readonly uvs: number[] = [];
  private readonly indices: number[] = [];

  /**
   * A (columns+1) x (rows+1) grid of vertices from `vertex(i, j)`, where growing i moves right
   * and growing j moves down as seen by the viewer; that makes (a, c, b) counter-clockwise.
   */
  grid(columns: number, rows: number, vertex: (i: number, j: number) => { position: readonly number[]; uv: ImagePoint }): void {
    const first = this.positions.length / 3;
    for (let j = 0; j <= rows; j++) {
      for (let i = 0; i <= columns; i++) {
        const { position, uv } = vertex(i, j);
        this.positions.push(position[0]!, position[1]!, position[2]!);
        this.uvs.push(uv.x, 1 - uv.y);
      }
    }
    for (let j = 0; j < rows; j++) {
      for (let i = 0; i < columns; i++) {
        const a = first + j * (columns + 1) + i;
        const b = a + 1;
        const c = a + columns + 1;
        const d = c + 1;
        this.indices.push(a, c, b, b, c, d);
      }
    }
  }

  build(): MeshData {
    return { positions: new Float32Array(this.positions), uvs: new Float32Array(this.uvs), indices: new Uint32Array(this.indices) };
  }
}

/** A sphere of latitude/longitude quads, textured with an equirectangular frame. */
export function equirectSphereMesh(radius: number, longitudeSegments = 96, latitudeSegments = 48): MeshData {
  const mesh = new MeshBuilder();
  mesh.grid(
    longitudeSegments,
    latitudeSegments,
    (i, j) => {
      const uv = { x: i / longitudeSegments, y: j / latitudeSegments };
      return { position: equirectDirection(uv).map((n) => n * radius), uv };
    },
  );
  return mesh.build();
}

/**
 * A cube textured with an EAC frame. Each face is subdivided so that the angular (arctangent)
 * spacing of EAC pixels is followed closely; the faces meet exactly at the cube's edges, and
 * each samples only its own cell of the frame, so no seam appears where they meet. The
 * texture coordinates depend on the frame size (the padding is in pixels): rebuild the mesh
 * when the video's resolution changes.
 */
export function eacCubeMesh(radius: number, frame: FrameSize, segments = 32): MeshData {
  const mesh = new MeshBuilder();
  for (const cell of EAC_LAYOUT) {
    mesh.grid(
      segments,
      segments,
      (i, j) => {
        const a = -1 + (2 * i) / segments;
        const b = -1 + (2 * j) / segments;
        const position = [0, 1, 2].map((k) => (cell.centre[k]! + a * cell.right[k]! + b * cell.down[k]!) * radius);
        return { position, uv: eacImagePoint(cell, a, b, frame) };
      },
    );
  }
  return mesh.build();
}

/** A rectangle straight ahead at `distance`, `height` tall, with the video's aspect ratio. */
export function flatPlaneMesh(distance: number, height: number, aspect: number): MeshData {
  const mesh = new MeshBuilder();
  const width = height * aspect;
  mesh.grid(
    1,
    1,
    (i, j) => ({ position: [(i - 0.5) * width, (0.5 - j) * height, -distance], uv: { x: i, y: j } }));
  return mesh.build();
}
