import { describe, expect, test } from "@jest/globals";
import { INIT_FILE, PART_FILE, SEGMENT_FILE, initName, parseFileName, partName, segmentName } from "./names.js";

const init = (bytes: string) => ({ data: Buffer.from(bytes), codecs: ["avc1.64001f"], timescales: { vide: 90000 } });

describe("LL-HLS file names", () => {
  test("segments and parts are numbered as the TS segments are", () => {
    expect(segmentName(42)).toBe("seg_00042.m4s");
    expect(partName(42, 3)).toBe("seg_00042.3.m4s");
    expect(segmentName(1_712_345_678)).toBe("seg_1712345678.m4s");
    expect(partName(1_712_345_678, 0)).toBe("seg_1712345678.0.m4s");
  });

  test("an init segment is named after its bytes: equal bytes, equal names; new bytes, a new name", () => {
    expect(initName(init("ftyp moov A"))).toMatch(INIT_FILE);
    expect(initName(init("ftyp moov A"))).toBe(initName({ ...init("ftyp moov A"), codecs: ["other"] }));
    expect(initName(init("ftyp moov A"))).not.toBe(initName(init("ftyp moov B")));
  });

  test("names parse back, and only the spelling written here does", () => {
    expect(parseFileName("seg_00042.m4s")).toEqual({ kind: "segment", msn: 42 });
    expect(parseFileName("seg_00042.3.m4s")).toEqual({ kind: "part", msn: 42, index: 3 });
    const name = initName(init("x"));
    expect(parseFileName(name)).toEqual({ kind: "init", hash: name.slice(5, 21) });
    for (const other of ["seg_42.m4s", "seg_000042.m4s", "seg_00042.03.m4s", "seg_00042.1000.m4s", "seg_00042.ts", "seg_00042.-1.m4s", "init.mp4", "init_ABCDEF0123456789.mp4", "seg_00042.m4s/..", "index.m3u8", ""]) {
      expect(parseFileName(other)).toBeUndefined();
    }
  });

  test("the patterns are anchored and carry only what nginx's PCRE reads too", () => {
    for (const pattern of [SEGMENT_FILE, PART_FILE, INIT_FILE]) {
      expect(pattern.source.startsWith("^") && pattern.source.endsWith("$")).toBe(true);
      expect(pattern.flags).toBe("");
      expect(pattern.source).not.toMatch(/\(\?[<!=]/);
    }
    expect(SEGMENT_FILE.test("seg_00042.3.m4s")).toBe(false);
    expect(PART_FILE.test("seg_00042.m4s")).toBe(false);
  });
});
