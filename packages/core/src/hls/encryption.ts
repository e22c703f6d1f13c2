import { createCipheriv, createHmac } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { integerInRange } from "../config.js";
import { ConfigError, Live360Error } from "../errors.js";
import { VARIANT_PLAYLIST, parseMediaPlaylist } from "./variant.js";

/**
 * HLS AES-128 (RFC 8216 §4.3.2.4) outside FFmpeg: the encryption is a function of the content (a
 * live stream's name, or a VOD asset's path), the segment number and a secret only. Live, the
 * origin's HTTP layer encrypts as it serves: primary and backup share the secret and number
 * segments alike, so both encrypt segment N with the same key and IV — a player switched to the
 * other origin by the edge (or a key fetched from one and a segment from the other) still
 * decrypts. VOD, the worker encrypts the asset's files before uploading them (encryptVariant),
 * and whoever holds the secret (the edge) serves the keys. Keys rotate every `rotationSegments`
 * segments: a leaked key opens that stretch only.
 */
export interface HlsEncryptionConfig {
  /** Keys are derived from it (HMAC-SHA256); ≥ 32 characters, the same on both origins of an event. */
  secret: string;
  /** Segments per key. */
  rotationSegments: number;
}

/** The key period of segment N: keys change at multiples of rotationSegments. */
export const keyPeriod = (segmentNumber: number, rotationSegments: number): number => Math.floor(segmentNumber / rotationSegments);

/**
 * The 16-byte key of one key period of a content: a live stream's name, or a VOD asset's
 * `vod/<stream>/<stamp>` (vodContentId), which no stream name can equal (names have no `/`).
 */
export function periodKey(secret: string, content: string, period: number): Buffer {
  return createHmac("sha256", secret).update(`live360-hls-key:${content}:${period}`).digest().subarray(0, 16);
}

/** A VOD asset's content for periodKey: its directory in the egress bucket without the trailing slash. */
export const vodContentId = (assetPrefix: string): string => assetPrefix.replace(/\/+$/, "");

/**
 * Segment N's IV: N as a 128-bit big-endian number, which is what a player uses when the key tag
 * names no IV, as the segment's media sequence number is N (the origin numbers files and
 * sequence alike). A fresh IV per segment, so equal first blocks never show.
 */
export function segmentIv(segmentNumber: number): Buffer {
  const iv = Buffer.alloc(16);
  iv.writeBigUInt64BE(BigInt(segmentNumber), 8);
  return iv;
}

/** AES-128-CBC with PKCS#7 padding, as HLS's METHOD=AES-128 specifies. */
export function encryptSegment(body: Buffer, key: Buffer, iv: Buffer): Buffer {
  const cipher = createCipheriv("aes-128-cbc", key, iv);
  return Buffer.concat([cipher.update(body), cipher.final()]);
}

const SEGMENT_LINE = /^seg_(\d{5,12})\.ts$/;

/** A segment file's number, which is also its media sequence number (live and VOD number alike). */
export function segmentNumberOf(uri: string): number | undefined {
  const match = SEGMENT_LINE.exec(uri);
  return match ? Number(match[1]) : undefined;
}
/** Tags that belong to the segment after them: a key tag goes before all of them. */
const SEGMENT_TAG = /^#(EXTINF|EXT-X-PROGRAM-DATE-TIME|EXT-X-DISCONTINUITY|EXT-X-BYTERANGE|EXT-X-GAP|EXT-X-BITRATE)\b/;

/**
 * A variant playlist with an `#EXT-X-KEY` before the first segment of each key period (before that
 * segment's own tags). The key URI is relative (`../keys/<period>.key`), so a signed path prefix
 * at the edge carries over to key requests as it does to segments.
 */
export function withKeyTags(playlist: string, rotationSegments: number): string {
  let current: number | undefined;
  let segmentTagsAt: number | undefined;
  const out: string[] = [];
  for (const line of playlist.split("\n")) {
    if (SEGMENT_TAG.test(line)) segmentTagsAt ??= out.length;
    const segment = SEGMENT_LINE.exec(line);
    if (segment) {
      const period = keyPeriod(Number(segment[1]), rotationSegments);
      if (period !== current) {
        out.splice(segmentTagsAt ?? out.length, 0, `#EXT-X-KEY:METHOD=AES-128,URI="../keys/${period}.key"`);
        current = period;
      }
      segmentTagsAt = undefined;
    }
    out.push(line);
  }
  return out.join("\n");
}

/** Key periods of 10 segments: 20 s with the default segments, a few keys per minute per viewer. */
export const DEFAULT_KEY_ROTATION_SEGMENTS = 10;

/** The CLI's flags for the encryption settings (origin and VOD worker alike), named in configuration errors. */
export const HLS_ENCRYPTION_FLAGS = { secret: "--hls-encryption-secret-file", rotation: "--hls-key-rotation" } as const;

/** The secret is what every key is derived from: too short a one is refused. */
export const MIN_HLS_SECRET_LENGTH = 32;

/** Checks an encryption setting, naming the fields by `flags` (the CLI's names for secret and rotation). */
export function resolveHlsEncryption(encryption: HlsEncryptionConfig, flags: { secret: string; rotation: string }): HlsEncryptionConfig {
  if (encryption.secret.length < MIN_HLS_SECRET_LENGTH) {
    throw new ConfigError(`hlsEncryption.secret (${flags.secret})`, `<${encryption.secret.length} characters>`, `use at least ${MIN_HLS_SECRET_LENGTH} random characters, the same everywhere the content is encrypted or its keys served`);
  }
  return { secret: encryption.secret, rotationSegments: integerInRange(`hlsEncryption.rotationSegments (${flags.rotation})`, encryption.rotationSegments, 1, 10_000) };
}

/**
 * Encrypts one finished variant of a VOD asset in place: every segment its playlist lists, with
 * its period's key and its number as IV, and the playlist with a key tag per period. The
 * segments' numbers must be their media sequence numbers (FFmpeg's `-start_number` 0 with media
 * sequence 0), which the player takes for the IV.
 */
export async function encryptVariant(variantDir: string, content: string, encryption: HlsEncryptionConfig): Promise<{ segments: number }> {
  const playlistFile = path.join(variantDir, VARIANT_PLAYLIST);
  const playlist = await readFile(playlistFile, "utf8");
  const { mediaSequence, segments } = parseMediaPlaylist(playlist);
  // All checked before any is written: a refused variant is left as it was.
  for (const [index, segment] of segments.entries()) {
    if (segmentNumberOf(segment.uri) !== mediaSequence + index) {
      throw new Live360Error(`${playlistFile}: segment ${segment.uri} is not number ${mediaSequence + index} (its media sequence number), which AES-128 needs as IV`);
    }
  }
  for (const [index, segment] of segments.entries()) {
    const number = mediaSequence + index;
    const file = path.join(variantDir, segment.uri);
    const key = periodKey(encryption.secret, content, keyPeriod(number, encryption.rotationSegments));
    await writeFile(file, encryptSegment(await readFile(file), key, segmentIv(number)));
  }
  await writeFile(playlistFile, withKeyTags(playlist, encryption.rotationSegments));
  return { segments: segments.length };
}
