import { describe, expect, test } from "@jest/globals";
import { CmcdError, MAX_CMCD_LENGTH, parseCmcd } from "./cmcd.js";

describe("parseCmcd", () => {
  test("what hls.js sends on a segment request", () => {
    // Decoded from a request hls.js 1.7 made in the player's Chromium test.
    const value = 'bl=4200,br=1450,cid="demo",d=2000,dl=4200,mtp=12300,nor="seg_00043.ts",ot=av,sf=h,sid="6e2b5a8c-1c1d-4c57-9a53-4bd0a4b8f4d1",st=l,su,tb=4500';
    expect(parseCmcd(value)).toEqual({
      bl: 4200,
      br: 1450,
      cid: "demo",
      d: 2000,
      dl: 4200,
      mtp: 12300,
      nor: "seg_00043.ts",
      ot: "av",
      sf: "h",
      sid: "6e2b5a8c-1c1d-4c57-9a53-4bd0a4b8f4d1",
      st: "l",
      su: true,
      tb: 4500,
    });
  });

  test("booleans alone or spelled out, escaped quotes in strings, custom keys ignored", () => {
    expect(parseCmcd('bs,su=false,cid="a\\"b\\\\c",com.example-key=42')).toEqual({ bs: true, su: false, cid: 'a"b\\c' });
    expect(parseCmcd("")).toEqual({});
  });

  test.each([
    ["x".repeat(MAX_CMCD_LENGTH + 1), "too-long"],
    [Array.from({ length: 33 }, (_, i) => `k${i}=1`).join(","), "too-many-keys"],
    ["=1", "bad-pair"],
    ["BR=1", "bad-pair"],
    ["br=1,br=2", "duplicate-key"],
    ["br=-1", "bad-value"],
    ["br=1.5", "bad-value"],
    ["br=99999999999", "bad-value"],
    ["br", "bad-value"],
    ["ot=zz", "bad-value"],
    ['sid=abc', "bad-value"],
    [`sid="${"a".repeat(65)}"`, "bad-value"],
    ['sid="unterminated', "bad-value"],
    ['sid="a"b"', "bad-value"],
    ['cid="\u0000"', "bad-value"],
    ["bs=yes", "bad-value"],
    [`x-custom="${"a".repeat(100)}"`, "bad-value"],
  ])("case %# is refused (%s)", (value, reason) => {
    const parsed = parseCmcd(value);
    expect(parsed).toBeInstanceOf(CmcdError);
    expect((parsed as CmcdError).reason).toBe(reason);
  });

  test("random bytes never throw", () => {
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const alphabet = 'abr=,"\\su0123456789lv-x\u00ff';
    for (let i = 0; i < 5000; i += 1) {
      const value = Array.from({ length: Math.floor(random() * 60) }, () => alphabet[Math.floor(random() * alphabet.length)]).join("");
      expect(() => parseCmcd(value)).not.toThrow();
    }
  });
});
