import type { Command } from "commander";
import { DEFAULT_KEY_ROTATION_SEGMENTS, HLS_ENCRYPTION_FLAGS, parseNumberFlag, secretText, type HlsEncryptionConfig } from "@live360/core";

/** The environment variable that may hold the secret instead of a file (a Secret as env). */
export const HLS_ENCRYPTION_SECRET_ENV = "LIVE360_HLS_ENCRYPTION_SECRET";

export interface HlsEncryptionFlags {
  hlsEncryptionSecretFile?: string;
  hlsKeyRotation: string;
}

/** `--hls-encryption-secret-file` and `--hls-key-rotation`, as the origin and the VOD worker take them; `what` says what gets encrypted. */
export function addHlsEncryptionOptions(command: Command, what: string): Command {
  return command
    .option(
      `${HLS_ENCRYPTION_FLAGS.secret} <file>`,
      `encrypt ${what} with AES-128, keys derived from the secret in this file (≥ 32 characters; also: env ${HLS_ENCRYPTION_SECRET_ENV})`,
    )
    .option(`${HLS_ENCRYPTION_FLAGS.rotation} <segments>`, "segments per encryption key", String(DEFAULT_KEY_ROTATION_SEGMENTS));
}

/** The secret from its file (a mounted Secret, trimmed) or the environment; never a flag value. */
export function hlsEncryptionFromFlags(flags: HlsEncryptionFlags): HlsEncryptionConfig | undefined {
  const secret = secretText(`hlsEncryption.secret (${HLS_ENCRYPTION_FLAGS.secret})`, flags.hlsEncryptionSecretFile, process.env[HLS_ENCRYPTION_SECRET_ENV])?.trim();
  return secret === undefined ? undefined : { secret, rotationSegments: parseNumberFlag(HLS_ENCRYPTION_FLAGS.rotation, flags.hlsKeyRotation) };
}
