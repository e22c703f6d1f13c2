import { createHmac } from "node:crypto";
import { isValidStreamName, Live360Error } from "@live360/core";
import { SIGNING_KEY_ID } from "./config.js";

/** One signing key: its id travels in the link, so the edge knows which secret to check with. */
export interface SigningKey {
  id: string;
  secret: string;
}

/**
 * Issues a signed path prefix for one stream, valid until `expiresAt` (Unix seconds):
 * `/s/<keyId>/<expires>/<signature>/hls/<stream>/`. Append `master.m3u8`; the playlists' relative
 * URIs (variants, segments, encryption keys) keep the prefix, so every request carries the same
 * grant. The signature is HMAC-SHA256 over `<keyId>:<expires>:/hls/<stream>/`. Must match
 * SIGNING_SCRIPT in nginx-conf.ts, which verifies it inside nginx.
 */
export function signedStreamPrefix(key: SigningKey, stream: string, expiresAt: number): string {
  if (!isValidStreamName(stream)) throw new Live360Error(`cannot sign stream name ${JSON.stringify(stream)}: not a valid stream name`);
  if (!SIGNING_KEY_ID.test(key.id)) throw new Live360Error(`cannot sign with key id ${JSON.stringify(key.id)}: use lowercase letters, digits and '-' (at most 32)`);
  if (!Number.isInteger(expiresAt) || expiresAt < 0) throw new Live360Error(`cannot sign with expiry ${expiresAt}: use whole Unix seconds`);
  const scope = `/hls/${stream}/`;
  const signature = createHmac("sha256", key.secret).update(`${key.id}:${expiresAt}:${scope}`).digest("base64url");
  return `/s/${key.id}/${expiresAt}/${signature}${scope}`;
}

/** A viewer's master playlist URL at `base` (the CDN or edge), valid `ttlSeconds` from `now`. */
export function signedMasterPlaylistUrl(base: string, key: SigningKey, stream: string, ttlSeconds: number, now = Date.now()): string {
  return `${base.replace(/\/+$/, "")}${signedStreamPrefix(key, stream, Math.floor(now / 1000) + ttlSeconds)}master.m3u8`;
}
