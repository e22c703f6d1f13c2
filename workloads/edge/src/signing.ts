import { createHmac } from "node:crypto";
import { isValidStreamName, Live360Error } from "@live360/core";
import { SIGNING_KEY_ID } from "./config.js";

/** One signing key: its id travels in the link, so the edge knows which secret to check with. */
export interface SigningKey {
  id: string;
  secret: string;
}

/** What a link grants: a live stream, or one on-demand asset (`<stream>/<UTC start>`, as the VOD worker names it). */
export type SignedContent = { stream: string } | { asset: string };

const ASSET = /^([^/]+)\/(\d{8}T\d{6}Z)$/;

/** The directory a link grants: `/hls/<stream>/` or `/vod/<stream>/<stamp>/`. */
function scopeOf(content: SignedContent): string {
  if ("stream" in content) {
    if (!isValidStreamName(content.stream)) throw new Live360Error(`cannot sign stream name ${JSON.stringify(content.stream)}: not a valid stream name`);
    return `/hls/${content.stream}/`;
  }
  const match = ASSET.exec(content.asset);
  if (!match || !isValidStreamName(match[1]!)) {
    throw new Live360Error(`cannot sign asset ${JSON.stringify(content.asset)}: give <stream>/<UTC start> as in its vod/ path, e.g. show/20261207T101500Z`);
  }
  return `/vod/${content.asset}/`;
}

/**
 * Issues a signed path prefix for one stream or asset, valid until `expiresAt` (Unix seconds):
 * `/s/<keyId>/<expires>/<signature>/hls/<stream>/` (or `…/vod/<stream>/<stamp>/`). Append
 * `master.m3u8`; the playlists' relative URIs (variants, segments, encryption keys) keep the
 * prefix, so every request carries the same grant. The signature is HMAC-SHA256 over
 * `<keyId>:<expires>:<the directory>`. Must match accessScript in nginx-conf.ts, which verifies
 * it inside nginx.
 */
export function signedPrefix(key: SigningKey, content: SignedContent, expiresAt: number): string {
  const scope = scopeOf(content);
  if (!SIGNING_KEY_ID.test(key.id)) throw new Live360Error(`cannot sign with key id ${JSON.stringify(key.id)}: use lowercase letters, digits and '-' (at most 32)`);
  if (!Number.isInteger(expiresAt) || expiresAt < 0) throw new Live360Error(`cannot sign with expiry ${expiresAt}: use whole Unix seconds`);
  const signature = createHmac("sha256", key.secret).update(`${key.id}:${expiresAt}:${scope}`).digest("base64url");
  return `/s/${key.id}/${expiresAt}/${signature}${scope}`;
}

/** A live stream's signed prefix: `/s/<keyId>/<expires>/<signature>/hls/<stream>/`. */
export const signedStreamPrefix = (key: SigningKey, stream: string, expiresAt: number): string => signedPrefix(key, { stream }, expiresAt);

/** A viewer's master playlist URL at `base` (the CDN or edge), valid `ttlSeconds` from `now`. */
export function signedMasterPlaylistUrl(base: string, key: SigningKey, content: SignedContent, ttlSeconds: number, now = Date.now()): string {
  return `${base.replace(/\/+$/, "")}${signedPrefix(key, content, Math.floor(now / 1000) + ttlSeconds)}master.m3u8`;
}
