/**
 * CMCD (CTA-5004) from the player: hls.js's own implementation sends it on every playlist, key
 * and segment request, in query mode (`CMCD=` on the URL) so that a CDN's access logs carry it
 * too and no CORS preflight is added. live360 only chooses the two ids it cannot know.
 */

/**
 * The content id CMCD reports: what the stream's operator calls the content, taken from the
 * playlist URL's path. `/hls/<stream>/…` (also under a signed `/s/<keyId>/<expires>/<sig>/`
 * prefix) is the live stream; `/vod/<stream>/<timestamp>/…` the recording; anything else its
 * directory.
 */
export function contentIdOf(playlistUrl: string): string {
  const path = new URL(playlistUrl).pathname.replace(/^\/s\/[^/]+\/[^/]+\/[^/]+(?=\/)/, "");
  const live = /^\/hls\/([^/]+)\//.exec(path);
  if (live) return live[1]!;
  const vod = /^\/vod\/([^/]+\/[^/]+)\//.exec(path);
  if (vod) return vod[1]!;
  return path.slice(0, path.lastIndexOf("/") + 1) || "/";
}

/** A random id for this page load (CMCD `sid`): the only thing that ties a viewer's requests together. */
export function newSessionId(): string {
  return crypto.randomUUID();
}
