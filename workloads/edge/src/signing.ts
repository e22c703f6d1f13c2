import { createHmac } from "node:crypto";
import { isValidStreamName, Live360Error } from "@live360/core";

/**
 * Issues a signed path prefix for one stream, valid until `expiresAt` (Unix seconds):
 * `/s/<expires>/<signature>/hls/<stream>/`. Append `master.m3u8`; the playlists' relative
 * URIs keep the prefix, so every variant and segment request carries the same grant.
 * Must match SIGNING_SCRIPT in nginx-conf.ts, which verifies it inside nginx.
 */
export function signedStreamPrefix(secret: string, stream: string, expiresAt: number): string {
  if (!isValidStreamName(stream)) throw new Live360Error(`cannot sign stream name ${JSON.stringify(stream)}: not a valid stream name`);
  if (!Number.isInteger(expiresAt) || expiresAt < 0) throw new Live360Error(`cannot sign with expiry ${expiresAt}: use whole Unix seconds`);
  const scope = `/hls/${stream}/`;
  const signature = createHmac("sha256", secret).update(`${expiresAt}:${scope}`).digest("base64url");
  return `/s/${expiresAt}/${signature}${scope}`;
}
