import { Command } from "commander";
import { ConfigError, integerInRange, isValidStreamName, parseNumberFlag } from "@live360/core";
import { DEFAULT_EDGE_CONFIG, signedMasterPlaylistUrl } from "@live360/edge";
import { signingKeysFrom } from "./edge.js";

interface SignUrlFlags {
  keysFile?: string;
  keyId?: string;
  stream: string;
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
  if (!isValidStreamName(flags.stream)) throw new ConfigError("--stream", flags.stream, "give the LiveEvent's streamName");
  const maxLifetime = parseNumberFlag("--max-lifetime", flags.maxLifetime);
  const ttl = integerInRange("--ttl", parseNumberFlag("--ttl", flags.ttl), 1, maxLifetime);
  if (!/^https?:\/\/[^\s/]+/.test(flags.base)) throw new ConfigError("--base", flags.base, "give the CDN's or the edge's base URL, e.g. https://d1234.cloudfront.net");
  return signedMasterPlaylistUrl(flags.base, { id, secret }, flags.stream, ttl);
}

export function signUrlCommand(): Command {
  return new Command("sign-url")
    .description("print a signed master playlist URL for one stream, as the edge's signed URLs expect (/s/<keyId>/<expires>/<signature>/hls/<stream>/master.m3u8)")
    .option("--keys-file <file>", "the edge's signing keys (keyId=secret lines; also: env LIVE360_EDGE_SIGNING_KEYS)")
    .option("--key-id <id>", "which key signs (default: the last in the file, the newest in a rotation)")
    .requiredOption("--stream <name>", "the stream (the LiveEvent's streamName)")
    .option("--ttl <seconds>", "how long the link is good for (at most --max-lifetime, which the edge enforces)", "3600")
    .option("--max-lifetime <seconds>", "the edge's --signing-max-lifetime", String(DEFAULT_EDGE_CONFIG.signingMaxLifetimeSeconds))
    .option("--base <url>", "the CDN's or the edge's base URL", "http://127.0.0.1:8080")
    .action((flags: SignUrlFlags) => {
      process.stdout.write(`${signUrl(flags)}\n`);
    });
}
