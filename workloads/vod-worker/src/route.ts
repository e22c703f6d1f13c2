import type { IncomingMessage, ServerResponse } from "node:http";
import { pipeline } from "node:stream/promises";
import { ObjectNotFoundError, periodKey, type HlsEncryptionConfig, type ObjectStorage } from "@live360/core";
import { listAssets, VOD_PREFIX } from "./asset.js";

/** Structurally the origin's OriginRoute, so the origin serves VOD without depending on this package. */
export interface VodRoute {
  pattern: RegExp;
  handle(req: IncomingMessage, res: ServerResponse, match: RegExpExecArray): Promise<void>;
}

/**
 * Matched against the raw path: exactly an asset's files, with no `%`, no `..` and nothing
 * outside `vod/<stream>/<timestamp>/`, so no request can reach another key of the bucket.
 */
const ASSET_FILE = /^\/vod\/([a-z0-9][a-z0-9-]{0,62})\/(\d{8}T\d{6}Z)\/(master\.m3u8|asset\.json|poster\.jpg|[a-z0-9_-]{1,32}\/(?:index\.m3u8|seg_\d{5,9}\.ts))$/;
const LISTING = /^\/vod\/?$/;
const ASSET_KEY = /^\/vod\/([a-z0-9][a-z0-9-]{0,62}\/\d{8}T\d{6}Z)\/keys\/(\d{1,12})\.key$/;

const CONTENT_TYPES: Record<string, string> = {
  m3u8: "application/vnd.apple.mpegurl",
  ts: "video/mp2t",
  json: "application/json",
  jpg: "image/jpeg",
};

/**
 * `GET /vod/` lists the complete assets of the egress bucket (JSON, newest first) and
 * `GET /vod/<stream>/<timestamp>/…` serves their files, from local buckets or from S3 alike.
 * With `encryption` (`live360 local` given an HLS secret, whose worker encrypts its assets with
 * it) the assets' keys too, derived as the worker derived them: as openly as the local origin
 * serves its live keys, since a local run has no signed links. Deployed, the edge serves them.
 */
export function vodRoutes(storage: ObjectStorage, bucket: string, encryption?: HlsEncryptionConfig): VodRoute[] {
  return [
    ...(encryption ? [assetKeyRoute(encryption)] : []),
    {
      pattern: LISTING,
      async handle(req, res) {
        const assets = await listAssets(storage, bucket);
        const list = assets.map(({ prefix, manifest }) => {
          const base = `/${prefix}`;
          return {
            stream: manifest.stream,
            startedAt: manifest.startedAt,
            created: manifest.created,
            durationSeconds: manifest.durationSeconds,
            projection: manifest.projection,
            master: `${base}${manifest.master}`,
            poster: `${base}${manifest.poster}`,
            manifest: `${base}asset.json`,
            player: `/player/?url=${base}${manifest.master}`,
            variants: manifest.variants.map((v) => ({ name: v.name, width: v.width, height: v.height, bandwidth: v.bandwidth, projection: v.projection })),
          };
        });
        const body = JSON.stringify(list, null, 2);
        res.writeHead(200, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body), "Cache-Control": "no-cache" });
        res.end(req.method === "HEAD" ? undefined : body);
      },
    },
    {
      pattern: ASSET_FILE,
      async handle(req, res, match) {
        const [, stream, stamp, file] = match as unknown as [string, string, string, string];
        const key = `${VOD_PREFIX}${stream}/${stamp}/${file}`;
        const extension = file.slice(file.lastIndexOf(".") + 1);
        let found: Awaited<ReturnType<ObjectStorage["getStream"]>>;
        try {
          found = await storage.getStream(bucket, key);
        } catch (error) {
          if (!(error instanceof ObjectNotFoundError)) throw error;
          res.writeHead(404, { "Content-Type": "text/plain", "Cache-Control": "no-cache" });
          res.end("not found\n");
          return;
        }
        res.writeHead(200, {
          "Content-Type": CONTENT_TYPES[extension] ?? "application/octet-stream",
          "Content-Length": found.info.size,
          // Segments never change; a re-run may rewrite playlists and the manifest, so those are brief.
          "Cache-Control": extension === "ts" ? "public, max-age=31536000, immutable" : "public, max-age=60",
        });
        if (req.method === "HEAD") {
          found.body.destroy();
          res.end();
          return;
        }
        await pipeline(found.body, res).catch(() => res.destroy());
      },
    },
  ];
}

function assetKeyRoute(encryption: HlsEncryptionConfig): VodRoute {
  return {
    pattern: ASSET_KEY,
    handle(req, res, match) {
      const [, asset, period] = match as unknown as [string, string, string];
      const key = periodKey(encryption.secret, `${VOD_PREFIX}${asset}`, Number(period));
      res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": key.length, "Cache-Control": "private, no-store" });
      res.end(req.method === "HEAD" ? undefined : key);
      return Promise.resolve();
    },
  };
}
