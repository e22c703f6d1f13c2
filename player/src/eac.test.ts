import { describe, expect, test } from "@jest/globals";
import {
  EAC_LAYOUT,
  dot,
  eacCellFor,
  eacImagePoint,
  eacImagePointForDirection,
  equirectDirection,
  equirectImagePoint,
  type Vec3,
} from "./eac.js";
import { eacCubeMesh, equirectSphereMesh, flatPlaneMesh, type MeshData } from "./meshes.js";

const frame = { width: 1536, height: 1024 };

function cross(a: Vec3, b: Vec3): Vec3 {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}

describe("EAC layout", () => {
  test("six distinct faces with orthonormal, right-handed axes as seen from inside", () => {
    expect(new Set(EAC_LAYOUT.map((c) => c.face)).size).toBe(6);
    expect(new Set(EAC_LAYOUT.map((c) => `${c.column},${c.row}`)).size).toBe(6);
    for (const cell of EAC_LAYOUT) {
      expect(dot(cell.right, cell.centre)).toBe(0);
      expect(dot(cell.down, cell.centre)).toBe(0);
      expect(dot(cell.right, cell.down)).toBe(0);
      // down × right points back at the viewer: the image is not mirrored on any face.
      expect(dot(cross(cell.down, cell.right), cell.centre)).toBe(-1);
    }
  });

  test("the front face's centre is the centre of the top row, and straight ahead is the equirect centre", () => {
    expect(eacImagePointForDirection([0, 0, -1], frame)).toEqual({ x: 0.5, y: 0.25, face: "front" });
    expect(equirectImagePoint([0, 0, -1])).toEqual({ x: 0.5, y: 0.5 });
  });

  test("faces start and end 2 pixels inside the frame's outer edges and each row's edges", () => {
    const left = EAC_LAYOUT[0]!;
    const up = EAC_LAYOUT[5]!;
    expect(eacImagePoint(left, -1, -1, frame).x * frame.width).toBeCloseTo(2, 6);
    expect(eacImagePoint(left, -1, -1, frame).y * frame.height).toBeCloseTo(2, 6);
    expect(eacImagePoint(left, 1, 1, frame).y * frame.height).toBeCloseTo(frame.height / 2 - 2, 6);
    expect(eacImagePoint(up, 1, 1, frame).x * frame.width).toBeCloseTo(frame.width - 2, 6);
    expect(eacImagePoint(up, -1, -1, frame).y * frame.height).toBeCloseTo(frame.height / 2 + 2, 6);
  });

  test("neighbours in a row share their edge exactly (no gap, no overlap)", () => {
    const [left, front, right] = EAC_LAYOUT;
    for (const b of [-1, -0.3, 0, 0.7, 1]) {
      expect(eacImagePoint(left!, 1, b, frame).x).toBeCloseTo(eacImagePoint(front!, -1, b, frame).x, 12);
      expect(eacImagePoint(front!, 1, b, frame).x).toBeCloseTo(eacImagePoint(right!, -1, b, frame).x, 12);
    }
  });

  test("a direction on a cube edge maps to the same edge of both faces' pictures", () => {
    // Straight ahead and 45° right: the edge between front and right.
    const edge: Vec3 = [1, 0.2, -1];
    const front = EAC_LAYOUT[1]!;
    const right = EAC_LAYOUT[2]!;
    const viaFront = eacImagePoint(front, dot(edge, front.right) / dot(edge, front.centre), dot(edge, front.down) / dot(edge, front.centre), frame);
    const viaRight = eacImagePoint(right, dot(edge, right.right) / dot(edge, right.centre), dot(edge, right.down) / dot(edge, right.centre), frame);
    expect(viaFront.x).toBeCloseTo(viaRight.x, 12);
    expect(viaFront.y).toBeCloseTo(viaRight.y, 12);
  });

  test("picks the face a direction looks at", () => {
    expect(eacCellFor([0.2, 0.9, -0.1]).face).toBe("up");
    expect(eacCellFor([0.1, -0.2, 0.9]).face).toBe("back");
    expect(eacCellFor([-0.8, 0.3, 0.3]).face).toBe("left");
  });

  test("equirect mapping round-trips", () => {
    for (const point of [{ x: 0.1, y: 0.2 }, { x: 0.5, y: 0.5 }, { x: 0.93, y: 0.77 }]) {
      const back = equirectImagePoint(equirectDirection(point));
      expect(back.x).toBeCloseTo(point.x, 12);
      expect(back.y).toBeCloseTo(point.y, 12);
    }
    // Right of centre is +x, above is +y.
    expect(equirectDirection({ x: 0.75, y: 0.5 })[0]).toBeCloseTo(1, 12);
    expect(equirectDirection({ x: 0.5, y: 0 })[1]).toBeCloseTo(1, 12);
  });
});

function triangles(mesh: MeshData): Array<[Vec3, Vec3, Vec3]> {
  const vertex = (i: number): Vec3 => [mesh.positions[3 * i]!, mesh.positions[3 * i + 1]!, mesh.positions[3 * i + 2]!];
  const out: Array<[Vec3, Vec3, Vec3]> = [];
  for (let t = 0; t < mesh.indices.length; t += 3) out.push([vertex(mesh.indices[t]!), vertex(mesh.indices[t + 1]!), vertex(mesh.indices[t + 2]!)]);
  return out;
}

function normal([a, b, c]: [Vec3, Vec3, Vec3]): Vec3 {
  return cross([b[0] - a[0], b[1] - a[1], b[2] - a[2]], [c[0] - a[0], c[1] - a[1], c[2] - a[2]]);
}

function facesTheOrigin(triangle: [Vec3, Vec3, Vec3]): boolean {
  const [a, b, c] = triangle;
  const centroid: Vec3 = [(a[0] + b[0] + c[0]) / 3, (a[1] + b[1] + c[1]) / 3, (a[2] + b[2] + c[2]) / 3];
  // Counter-clockwise as seen from the origin: the normal points towards it.
  return dot(normal(triangle), centroid) < 0;
}

describe("meshes", () => {
  test.each([
    ["equirect sphere", equirectSphereMesh(10, 16, 8)],
    ["EAC cube", eacCubeMesh(10, frame, 4)],
    ["flat plane", flatPlaneMesh(5, 2, 2)],
  ])("every triangle of the %s faces the viewer", (_name, mesh) => {
    // The sphere's pole rows hold zero-area triangles, which face nowhere.
    const tris = triangles(mesh).filter((t) => Math.hypot(...normal(t)) > 1e-6);
    expect(tris.length).toBeGreaterThan(0);
    expect(tris.filter((t) => !facesTheOrigin(t))).toEqual([]);
  });

  test("each EAC cube vertex samples the picture where FFmpeg put that direction", () => {
    const mesh = eacCubeMesh(10, frame, 8);
    for (let i = 0; i < mesh.positions.length / 3; i++) {
      const direction: Vec3 = [mesh.positions[3 * i]!, mesh.positions[3 * i + 1]!, mesh.positions[3 * i + 2]!];
      const u = mesh.uvs[2 * i]!;
      const v = mesh.uvs[2 * i + 1]!;
      // Vertices on an edge belong to one face's grid; the other face maps them identically.
      const expected = eacImagePointForDirection(direction, frame);
      const onEdge = [0, 1, 2].filter((k) => Math.abs(Math.abs(direction[k]!) - 10) < 1e-6).length > 1;
      if (onEdge) continue;
      expect(u).toBeCloseTo(expected.x, 5);
      expect(v).toBeCloseTo(1 - expected.y, 5);
    }
  });

  test("the sphere's texture coordinates follow the equirect mapping, centre straight ahead", () => {
    const mesh = equirectSphereMesh(10, 4, 2);
    // Vertex (2, 1) of a 4x2 grid is the middle of the frame.
    const middle = 1 * 5 + 2;
    expect(Array.from(mesh.positions.slice(3 * middle, 3 * middle + 3)).map((n) => Math.round(n))).toEqual([0, 0, -10]);
    expect(Array.from(mesh.uvs.slice(2 * middle, 2 * middle + 2))).toEqual([0.5, 0.5]);
  });
});
