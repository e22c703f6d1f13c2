import { Command } from "commander";
import { ConfigError, integerInRange, isValidStreamName, parseNumberFlag } from "@live360/core";
import { DEFAULT_EDGE_CONFIG, signedMasterPlaylistUrl, type SignedContent } from "@live360/edge";
import { signingKeysFrom } from "./edge.js";

interface SignUrlFlags {
  keysFile?: string;
  keyId?: string;
  stream?: string;
  asset?: string;
  ttl: string;
  maxLifetime: string;
  base: string;
}

/**
 * A viewer's signed master playlist URL: what a ticketing or login backend hands out (the library
 * function is signedMasterPlaylistUrl in @live360/edge). The keys come from the same file or
 * environment variable the edge reads, never from a flag.
 */
export function signUrl(flags: SignUrlFlags, env: string | undefined = process.env.LIVE360_EDGE_SIGNING_KEYS): string {
  const keys = signingKeysFrom(flags.keysFile, env);
  if (!keys) throw new ConfigError("--keys-file", undefined, "give the signing keys file (keyId=secret lines, as the edge has them) or set LIVE360_EDGE_SIGNING_KEYS");
  // Without --key-id the last key: during a rotation the new one is added below the old.
  const id = flags.keyId ?? [...keys.keys()].at(-1)!;
  const secret = keys.get(id);
  if (secret === undefined) throw new ConfigError("--key-id", id, `use one of the file's key ids: ${[...keys.keys()].join(", ")}`);
  const content = signedContentOf(flags);
  const maxLifetime = parseNumberFlag("--max-lifetime", flags.maxLifetime);
  const ttl = integerInRange("--ttl", parseNumberFlag("--ttl", flags.ttl), 1, maxLifetime);
  if (!/^https?:\/\/[^\s/]+/.test(flags.base)) throw new ConfigError("--base", flags.base, "give the CDN's or the edge's base URL, e.g. https://d1234.cloudfront.net");
  return signedMasterPlaylistUrl(flags.base, { id, secret }, content, ttl);
}

/** Exactly one of --stream (live) and --asset (on demand). */
function signedContentOf(flags: Pick<SignUrlFlags, "stream" | "asset">): SignedContent {
  if ((flags.stream === undefined) === (flags.asset === undefined)) {
    throw new ConfigError("--stream / --asset", flags.stream ?? flags.asset, "give exactly one: --stream <streamName> for the live stream, or --asset <stream>/<UTC start> for an on-demand asset");
  }
  if (flags.stream !== undefined) {
    if (!isValidStreamName(flags.stream)) throw new ConfigError("--stream", flags.stream, "give the LiveEvent's streamName");
    return { stream: flags.stream };
  }
  const [stream, stamp] = flags.asset!.split("/");
  if (!isValidStreamName(stream ?? "") || !/^\d{8}T\d{6}Z$/.test(stamp ?? "") || flags.asset!.split("/").length !== 2) {
    throw new ConfigError("--asset", flags.asset, "give the asset's <stream>/<UTC start> as in its vod/ path, e.g. show/20261207T101500Z (kubectl get vj: status.masterPlaylistUrl)");
  }
  return { asset: flags.asset! };
}

export function signUrlCommand(): Command {
  return new Command("sign-url")
    .description("print a signed master playlist URL for one live stream or on-demand asset, as the edge's signed URLs expect (/s/<keyId>/<expires>/<signature>/hls/<stream>/master.m3u8 or …/vod/<stream>/<stamp>/master.m3u8)")
    .option("--keys-file <file>", "the edge's signing keys (keyId=secret lines; also: env LIVE360_EDGE_SIGNING_KEYS)")
    .option("--key-id <id>", "which key signs (default: the last in the file, the newest in a rotation)")
    .option("--stream <name>", "a live stream (the LiveEvent's streamName)")
    .option("--asset <stream/stamp>", "an on-demand asset: <stream>/<UTC start> as in its vod/ path (served by the event's edge)")
    .option("--ttl <seconds>", "how long the link is good for (at most --max-lifetime, which the edge enforces)", "3600")
    .option("--max-lifetime <seconds>", "the edge's --signing-max-lifetime", String(DEFAULT_EDGE_CONFIG.signingMaxLifetimeSeconds))
    .option("--base <url>", "the CDN's or the edge's base URL", "http://127.0.0.1:8080")
    .action((flags: SignUrlFlags) => {
      process.stdout.write(`${signUrl(flags)}\n`);
    });
}
