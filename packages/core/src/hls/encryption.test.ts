/**
 * AES-128 HLS helpers on their own: the playlist rewrite, key derivation, and a VOD variant
 * encrypted in place (decrypted back with the key and IV a player would use). The origins' use is
 * tested in workloads/origin/src/encryption.test.ts, the VOD worker's in its worker.test.ts.
 */
import { describe, expect, test } from "@jest/globals";
import { createDecipheriv, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { encryptVariant, periodKey, resolveHlsEncryption, segmentIv, vodContentId, withKeyTags } from "./encryption.js";

const SECRET = "hls-encryption-test-secret-0123456789abcdef";

describe("AES-128 playlists and keys", () => {
  test("a key tag goes before the first segment of each key period, ahead of that segment's own tags", () => {
    const playlist = [
      "#EXTM3U",
      "#EXT-X-TARGETDURATION:2",
      "#EXT-X-MEDIA-SEQUENCE:18",
      "#EXTINF:2.000000,",
      "seg_00018.ts",
      "#EXTINF:2.000000,",
      "seg_00019.ts",
      "#EXT-X-DISCONTINUITY",
      "#EXT-X-PROGRAM-DATE-TIME:2026-12-06T10:00:00.000Z",
      "#EXTINF:2.000000,",
      "seg_00020.ts",
      "#EXTINF:2.000000,",
      "seg_00021.ts",
      "",
    ].join("\n");
    expect(withKeyTags(playlist, 10).split("\n")).toEqual([
      "#EXTM3U",
      "#EXT-X-TARGETDURATION:2",
      "#EXT-X-MEDIA-SEQUENCE:18",
      '#EXT-X-KEY:METHOD=AES-128,URI="../keys/1.key"',
      "#EXTINF:2.000000,",
      "seg_00018.ts",
      "#EXTINF:2.000000,",
      "seg_00019.ts",
      '#EXT-X-KEY:METHOD=AES-128,URI="../keys/2.key"',
      "#EXT-X-DISCONTINUITY",
      "#EXT-X-PROGRAM-DATE-TIME:2026-12-06T10:00:00.000Z",
      "#EXTINF:2.000000,",
      "seg_00020.ts",
      "#EXTINF:2.000000,",
      "seg_00021.ts",
      "",
    ]);
  });

  test("keys depend on the secret, the stream and the period only; the IV is the segment number", () => {
    const key = periodKey(SECRET, "event", 7);
    expect(key).toHaveLength(16);
    expect(periodKey(SECRET, "event", 7).equals(key)).toBe(true);
    for (const other of [periodKey(SECRET, "event", 8), periodKey(SECRET, "other", 7), periodKey(`${SECRET}x`, "event", 7)]) expect(other.equals(key)).toBe(false);
    expect(segmentIv(258).toString("hex")).toBe("00000000000000000000000000000102");
  });
});

describe("a VOD variant encrypted in place", () => {
  const playlistOf = (first: number, count: number): string =>
    [
      "#EXTM3U",
      "#EXT-X-VERSION:3",
      "#EXT-X-TARGETDURATION:6",
      `#EXT-X-MEDIA-SEQUENCE:${first}`,
      "#EXT-X-PLAYLIST-TYPE:VOD",
      ...Array.from({ length: count }, (_, i) => [`#EXTINF:6.000000,`, `seg_${String(first + i).padStart(5, "0")}.ts`]).flat(),
      "#EXT-X-ENDLIST",
      "",
    ].join("\n");

  test("each segment under its period's key with its number as IV; the playlist gains a key tag per period; the content names the keys", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "live360-encrypt-"));
    try {
      await writeFile(path.join(dir, "index.m3u8"), playlistOf(0, 5));
      const clear = await Promise.all(
        [0, 1, 2, 3, 4].map(async (n) => {
          const body = randomBytes(1000 + n * 188);
          await writeFile(path.join(dir, `seg_${String(n).padStart(5, "0")}.ts`), body);
          return body;
        }),
      );
      const content = vodContentId("vod/event/20261124T100000Z/");
      expect(content).toBe("vod/event/20261124T100000Z");
      expect(await encryptVariant(dir, content, { secret: SECRET, rotationSegments: 2 })).toEqual({ segments: 5 });
      for (const [n, body] of clear.entries()) {
        const stored = await readFile(path.join(dir, `seg_${String(n).padStart(5, "0")}.ts`));
        expect(stored.equals(body)).toBe(false);
        const decipher = createDecipheriv("aes-128-cbc", periodKey(SECRET, content, Math.floor(n / 2)), segmentIv(n));
        expect(Buffer.concat([decipher.update(stored), decipher.final()]).equals(body)).toBe(true);
      }
      const playlist = await readFile(path.join(dir, "index.m3u8"), "utf8");
      expect(playlist.match(/#EXT-X-KEY:METHOD=AES-128,URI="\.\.\/keys\/\d+\.key"/g)).toEqual([
        '#EXT-X-KEY:METHOD=AES-128,URI="../keys/0.key"',
        '#EXT-X-KEY:METHOD=AES-128,URI="../keys/1.key"',
        '#EXT-X-KEY:METHOD=AES-128,URI="../keys/2.key"',
      ]);
      // A VOD asset's keys are not a live stream's of the same name.
      expect(periodKey(SECRET, content, 0).equals(periodKey(SECRET, "event", 0))).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("segments whose numbers are not their media sequence numbers are refused (the IV would be wrong), nothing written", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "live360-encrypt-"));
    try {
      const playlist = playlistOf(0, 2).replace("seg_00001.ts", "seg_00007.ts");
      await writeFile(path.join(dir, "index.m3u8"), playlist);
      await writeFile(path.join(dir, "seg_00000.ts"), Buffer.alloc(188));
      await writeFile(path.join(dir, "seg_00007.ts"), Buffer.alloc(188));
      await expect(encryptVariant(dir, "vod/x/1", { secret: SECRET, rotationSegments: 10 })).rejects.toThrow(/seg_00007\.ts is not number 1/);
      expect(await readFile(path.join(dir, "index.m3u8"), "utf8")).toBe(playlist);
      expect((await readFile(path.join(dir, "seg_00000.ts"))).equals(Buffer.alloc(188))).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("a secret under 32 characters or a rotation of 0 is refused, naming the flag", () => {
    const flags = { secret: "--hls-encryption-secret-file", rotation: "--hls-key-rotation" };
    expect(() => resolveHlsEncryption({ secret: "short", rotationSegments: 10 }, flags)).toThrow(/--hls-encryption-secret-file.*at least 32 random characters/s);
    expect(() => resolveHlsEncryption({ secret: SECRET, rotationSegments: 0 }, flags)).toThrow(/--hls-key-rotation/);
    expect(resolveHlsEncryption({ secret: SECRET, rotationSegments: 3 }, flags)).toEqual({ secret: SECRET, rotationSegments: 3 });
  });
});
