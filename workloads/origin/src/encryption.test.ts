/**
 * AES-128 HLS on live origins (the playlist rewrite and key derivation on their own are tested in
 * packages/core): two real origin processes given the same secret file, fed by real FFmpeg publishers: what they serve is unreadable without the key,
 * decrypts with the key and IV a player would use into segments ffprobe decodes, and both origins
 * hand out the same key for the same period (a player moved between them still decrypts).
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { createDecipheriv } from "node:crypto";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { probe, segmentIv } from "@live360/core";
import { freePort, getText, httpGet, makeTestClip, publishFile, startOriginProcess, tempDir, waitFor, type OriginProcess, type Publisher } from "@live360/testkit";

const SECRET = "hls-encryption-test-secret-0123456789abcdef";

describe("two origins encrypting the same stream", () => {
  let dir: string;
  // Real origin processes (one RTMP ingest per process), as the operator runs primary and backup.
  const origins: { origin: OriginProcess; http: string; publisher: Publisher }[] = [];

  beforeAll(async () => {
    dir = await tempDir("hls-encryption");
    const clip = await makeTestClip(dir, { seconds: 4, gopSeconds: 1 });
    // The secret as a mounted Secret gives it: a file.
    const secretFile = path.join(dir, "hls-secret");
    await writeFile(secretFile, `${SECRET}\n`, { mode: 0o600 });
    for (const name of ["primary", "backup"]) {
      const origin = await startOriginProcess({
        name,
        rtmpPort: await freePort(),
        httpPort: await freePort(),
        dataDir: path.join(dir, name),
        stream: "enc",
        ladder: "source,320x160:300k",
        args: ["--hls-encryption-secret-file", secretFile, "--hls-key-rotation", "3"],
      });
      const publisher = await publishFile(clip, origin.rtmp, { loop: true });
      origins.push({ origin, http: origin.http, publisher });
    }
  }, 90_000);

  afterAll(async () => {
    for (const { origin, publisher } of origins) {
      await publisher.stop();
      await origin.process.stop();
    }
  }, 60_000);

  test("each variant's segments are AES-128 under a key tag per period; the key and IV a player uses decrypt them into segments ffprobe decodes", async () => {
    const { http } = origins[0]!;
    for (const variant of ["source", "160p"]) {
      const playlist = await waitFor(`${variant}: segments of two key periods`, async () => {
        const { status, body } = await getText(`${http}/hls/enc/${variant}/index.m3u8`);
        return status === 200 && (body.match(/#EXT-X-KEY/g) ?? []).length >= 2 ? body : undefined;
      }, { timeoutMs: 60_000, intervalMs: 500 });
      const lines = playlist.split("\n");
      const sequence = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(playlist)![1]);
      const segments = lines.filter((l) => l.endsWith(".ts"));
      // The IV a player derives is the media sequence number: it must be the file's number.
      expect(Number(/seg_(\d+)\.ts/.exec(segments[0]!)![1])).toBe(sequence);
      for (const segment of segments.slice(0, 4)) {
        const number = Number(/seg_(\d+)\.ts/.exec(segment)![1]);
        // The key tag in force for this segment: the last one above it.
        const keyUri = lines.slice(0, lines.indexOf(segment)).filter((l) => l.startsWith("#EXT-X-KEY")).at(-1)!;
        const period = Number(/keys\/(\d+)\.key/.exec(keyUri)![1]);
        expect(period).toBe(Math.floor(number / 3));
        const encrypted = (await httpGet(`${http}/hls/enc/${variant}/${segment}`)).body;
        // MPEG-TS packets begin with the sync byte 0x47 every 188 bytes: gone when encrypted.
        expect(encrypted.length % 16).toBe(0);
        expect([encrypted[0], encrypted[188]]).not.toEqual([0x47, 0x47]);
        const keyResponse = await httpGet(`${http}/hls/enc/keys/${period}.key`);
        expect(keyResponse.headers["cache-control"]).toBe("private, no-store");
        const decipher = createDecipheriv("aes-128-cbc", keyResponse.body, segmentIv(number));
        const clear = Buffer.concat([decipher.update(encrypted), decipher.final()]);
        expect([clear[0], clear[188]]).toEqual([0x47, 0x47]);
        const file = path.join(dir, `${variant}-${segment}`);
        await writeFile(file, clear);
        const info = await probe(file);
        expect(info.streams.some((s) => s.codec_type === "video")).toBe(true);
      }
    }
  }, 120_000);

  test("both origins hand out the same key for a period, and no key for a stream they do not have", async () => {
    const [primary, backup] = origins as [(typeof origins)[0], (typeof origins)[0]];
    const period = await waitFor("a period both origins list", async () => {
      const first: string[] = (await getText(`${primary.http}/hls/enc/source/index.m3u8`)).body.match(/keys\/(\d+)\.key/g) ?? [];
      const second: string[] = (await getText(`${backup.http}/hls/enc/source/index.m3u8`)).body.match(/keys\/(\d+)\.key/g) ?? [];
      return first.find((k) => second.includes(k))?.match(/\d+/)?.[0];
    }, { timeoutMs: 30_000, intervalMs: 500 });
    const [a, b] = await Promise.all([httpGet(`${primary.http}/hls/enc/keys/${period}.key`), httpGet(`${backup.http}/hls/enc/keys/${period}.key`)]);
    expect(a.status).toBe(200);
    expect(a.body.equals(b.body)).toBe(true);
    expect((await getText(`${primary.http}/hls/nothing-here/keys/${period}.key`)).status).toBe(404);
  }, 60_000);
});
