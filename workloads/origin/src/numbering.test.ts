import { describe, expect, test } from "@jest/globals";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { tempDir } from "@live360/testkit";
import { alignedSegmentNumber, decideNumbering, listedSegmentNumbers, type PeerNumbering } from "./numbering.js";

const SEGMENT_SECONDS = 2;

describe("aligned segment numbers", () => {
  const reference = { firstSegmentNumber: 1000, firstSegmentAtMs: 5_000_000 };

  test("a keyframe a whole number of segments later gets that many numbers more", () => {
    expect(alignedSegmentNumber(reference, 5_000_000, SEGMENT_SECONDS)).toBe(1000);
    expect(alignedSegmentNumber(reference, 5_000_000 + 7 * 2000, SEGMENT_SECONDS)).toBe(1007);
  });

  test("arrival differences under half a segment either way cannot split two origins", () => {
    for (const skewMs of [-999, -400, -1, 1, 400, 999]) {
      expect(alignedSegmentNumber(reference, 5_000_000 + 3 * 2000 + skewMs, SEGMENT_SECONDS)).toBe(1003);
    }
  });

  test("before the reference's first segment too", () => {
    expect(alignedSegmentNumber(reference, 5_000_000 - 2 * 2000 + 300, SEGMENT_SECONDS)).toBe(998);
  });
});

/** Peers answering from a script: one answer per peer per round, the last one repeated. */
function scripted(answers: Record<string, PeerNumbering[]>) {
  const asked: string[] = [];
  const ask = async (peer: string): Promise<PeerNumbering> => {
    asked.push(peer);
    const list = answers[peer] ?? [undefined];
    return list.length > 1 ? list.shift() : list[0];
  };
  return { ask, asked };
}

describe("deciding the numbering with peers", () => {
  const numbered = { firstSegmentNumber: 500, firstSegmentAtMs: 1_000_000 };

  test("no peers: the wall clock", async () => {
    const decision = await decideNumbering({ stream: "s", segmentSeconds: SEGMENT_SECONDS, peers: [], waitMs: 2000 });
    expect(decision.source).toBe("clock");
    expect(decision.numberAt(1_000_000)).toBe(500);
    expect(decision.numberAt(1_001_999)).toBe(500);
  });

  test("a peer that has numbered the stream is followed", async () => {
    const { ask } = scripted({ "http://a": [undefined], "http://b": [numbered] });
    const decision = await decideNumbering({ stream: "s", segmentSeconds: SEGMENT_SECONDS, peers: ["http://a", "http://b"], waitMs: 0, ask });
    expect(decision.source).toBe("http://b");
    // 1.6 s after the peer's first segment began is its next segment, where the clock says 500.
    expect(decision.numberAt(1_001_600)).toBe(501);
  });

  test("a pending peer is waited for when waiting is allowed, then followed", async () => {
    const { ask, asked } = scripted({ "http://primary": ["pending", "pending", numbered] });
    const decision = await decideNumbering({ stream: "s", segmentSeconds: SEGMENT_SECONDS, peers: ["http://primary"], waitMs: 2000, ask });
    expect(decision.source).toBe("http://primary");
    expect(asked).toHaveLength(3);
  });

  test("without waiting, a pending peer means the clock at once", async () => {
    const { ask, asked } = scripted({ "http://backup": ["pending", numbered] });
    const decision = await decideNumbering({ stream: "s", segmentSeconds: SEGMENT_SECONDS, peers: ["http://backup"], waitMs: 0, ask });
    expect(decision.source).toBe("clock");
    expect(asked).toHaveLength(1);
  });

  test("a peer that stays pending is waited for no longer than allowed", async () => {
    const { ask } = scripted({ "http://primary": ["pending"] });
    const started = Date.now();
    const decision = await decideNumbering({ stream: "s", segmentSeconds: SEGMENT_SECONDS, peers: ["http://primary"], waitMs: 300, ask });
    expect(decision.source).toBe("clock");
    expect(Date.now() - started).toBeLessThan(2000);
  });

  test("a peer without the stream (or unreachable) is not waited for", async () => {
    const { ask, asked } = scripted({ "http://primary": [undefined] });
    const decision = await decideNumbering({ stream: "s", segmentSeconds: SEGMENT_SECONDS, peers: ["http://primary"], waitMs: 2000, ask });
    expect(decision.source).toBe("clock");
    expect(asked).toHaveLength(1);
  });
});

describe("the number a continued stream would go on with", () => {
  test("one past the highest segment any variant lists, and the lowest any lists", async () => {
    const dir = await tempDir("numbering");
    const playlist = (numbers: number[]) => ["#EXTM3U", ...numbers.flatMap((n) => ["#EXTINF:2.000,", `seg_${n}.ts`])].join("\n") + "\n";
    await mkdir(path.join(dir, "source"));
    await mkdir(path.join(dir, "240p"));
    await writeFile(path.join(dir, "source", "index.m3u8"), playlist([893456789, 893456790]));
    await writeFile(path.join(dir, "240p", "index.m3u8"), playlist([893456790, 893456791]));
    await writeFile(path.join(dir, "master.m3u8"), "#EXTM3U\n");
    expect(await listedSegmentNumbers(dir)).toEqual({ lowest: 893456789, next: 893456792 });
  });

  test("no playlists, no number", async () => {
    expect(await listedSegmentNumbers(path.join(await tempDir("numbering"), "missing"))).toBeUndefined();
  });
});
