import { describe, expect, test } from "@jest/globals";
import { MAX_BEACON_BYTES } from "@live360/core";
import { BeaconError, parseBeacon, type Beacon } from "./beacon.js";

const good: Beacon = {
  v: 1,
  sid: "6e2b5a8c-1c1d-4c57-9a53-4bd0a4b8f4d1",
  cid: "demo",
  startupMs: 850,
  playedMs: 9800,
  rebufferMs: 200,
  rebuffers: 1,
  droppedFrames: 3,
  rungSwitches: 2,
  errors: [{ kind: "network", fatal: false }],
  views: [
    [0, 0, 80],
    [-179.5, 89.9, 60],
  ],
};

describe("parseBeacon", () => {
  test("a beacon as the player sends it", () => {
    expect(parseBeacon(JSON.stringify(good))).toEqual(good);
    expect(parseBeacon(Buffer.from(JSON.stringify({ ...good, startupMs: undefined })))).toEqual({ ...good, startupMs: undefined });
  });

  test.each<[string, unknown, string, string | undefined]>([
    ["too large", { ...good, cid: "x", pad: "a".repeat(MAX_BEACON_BYTES) }, "too-large", undefined],
    ["an unknown field", { ...good, email: "a@b.c" }, "bad-field", "email"],
    ["a wrong version", { ...good, v: 2 }, "bad-field", "v"],
    ["a session id with spaces", { ...good, sid: "a b" }, "bad-field", "sid"],
    ["a missing content id", { ...good, cid: undefined }, "bad-field", "cid"],
    ["a negative amount", { ...good, rebuffers: -1 }, "bad-field", "rebuffers"],
    ["a fractional amount", { ...good, playedMs: 1.5 }, "bad-field", "playedMs"],
    ["an absurd amount", { ...good, droppedFrames: 1e12 }, "bad-field", "droppedFrames"],
    ["a yaw out of range", { ...good, views: [[181, 0, 80]] }, "bad-field", "views"],
    ["a NaN-like view", { ...good, views: [["0", 0, 80]] }, "bad-field", "views"],
    ["a view with 4 numbers", { ...good, views: [[0, 0, 80, 1]] }, "bad-field", "views"],
    ["too many views", { ...good, views: Array.from({ length: 121 }, () => [0, 0, 80]) }, "bad-field", "views"],
    ["an unknown error kind", { ...good, errors: [{ kind: "oops", fatal: true }] }, "bad-field", "errors"],
    ["an error with extra fields", { ...good, errors: [{ kind: "media", fatal: true, stack: "x" }] }, "bad-field", "errors"],
    ["an array", [good], "bad-field", undefined],
    ["null", null, "bad-field", undefined],
  ])("%s is refused", (_name, body, reason, field) => {
    const parsed = parseBeacon(JSON.stringify(body));
    expect(parsed).toBeInstanceOf(BeaconError);
    expect(parsed).toMatchObject({ reason, field });
  });

  test("not JSON, or a prototype trick", () => {
    expect(parseBeacon("{")).toMatchObject({ reason: "not-json" });
    expect(parseBeacon('{"__proto__":{"v":1}}')).toMatchObject({ reason: "bad-field", field: "__proto__" });
  });
});
