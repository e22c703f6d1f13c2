import { createCipheriv, createHmac } from "node:crypto";

/**
 * HLS AES-128 (RFC 8216 §4.3.2.4) done by the origin's HTTP layer as it serves, not by FFmpeg:
 * FFmpeg stays as it is, and the encryption is a function of the stream, the segment number and
 * a secret only. Primary and backup share the secret and number segments alike, so both encrypt
 * segment N with the same key and IV — a player switched to the other origin by the edge (or a
 * key fetched from one and a segment from the other) still decrypts. Keys rotate every
 * `rotationSegments` segments: a leaked key opens that stretch only.
 */
export interface HlsEncryptionConfig {
  /** Keys are derived from it (HMAC-SHA256); ≥ 32 characters, the same on both origins of an event. */
  secret: string;
  /** Segments per key. */
  rotationSegments: number;
}

/** The key period of segment N: keys change at multiples of rotationSegments. */
export const keyPeriod = (segmentNumber: number, rotationSegments: number): number => Math.floor(segmentNumber / rotationSegments);

/** The 16-byte key of one stream's key period. */
export function periodKey(secret: string, stream: string, period: number): Buffer {
  return createHmac("sha256", secret).update(`live360-hls-key:${stream}:${period}`).digest().subarray(0, 16);
}

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
