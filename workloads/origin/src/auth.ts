import { timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { ConfigError, isValidStreamName } from "@live360/core";
import type { PublishDecision, PublishRequest, RejectCode } from "./nms.js";

/** Refusal reasons double as metric labels, so they form a closed set. */
export type RefusalReason =
  | "invalid-app"
  | "invalid-stream-name"
  | "missing-key"
  | "wrong-key"
  | "already-publishing"
  | "too-many-streams"
  | "shutting-down";

export const REFUSAL_EXPLANATIONS: Record<RefusalReason, string> = {
  "invalid-app": 'the application must be "live" (rtmp://host:1935/live/<stream>)',
  "invalid-stream-name": "stream names must match ^[a-z0-9][a-z0-9-]{0,62}$",
  "missing-key": "this stream requires ?key=<secret> in the publish URL",
  "wrong-key": "the publish key is wrong",
  "already-publishing": "another publisher is live on this stream; the first one keeps it",
  "too-many-streams": "this origin carries as many live streams as it is allowed (--max-streams)",
  "shutting-down": "the origin is shutting down; publish to the other origin",
};

/** The RTMP `onStatus` code each refusal is sent with: a name problem, or a refusal of a valid name. */
const REFUSAL_CODES: Record<RefusalReason, RejectCode> = {
  "invalid-app": "NetStream.Publish.BadName",
  "invalid-stream-name": "NetStream.Publish.BadName",
  "already-publishing": "NetStream.Publish.BadName",
  "too-many-streams": "NetStream.Publish.Rejected",
  "missing-key": "NetStream.Publish.Rejected",
  "wrong-key": "NetStream.Publish.Rejected",
  "shutting-down": "NetStream.Publish.Rejected",
};

/**
 * Parses `stream=secret` lines (a file, or LIVE360_PUBLISH_KEYS with lines or commas).
 * Blank lines and `#` comments are allowed; anything else malformed is a start-up error.
 */
export function parsePublishKeys(source: string, text: string): Map<string, string> {
  const keys = new Map<string, string>();
  text.split(/[\n,]/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const eq = line.indexOf("=");
    const stream = line.slice(0, eq).trim();
    const secret = line.slice(eq + 1).trim();
    if (eq <= 0 || secret === "" || !isValidStreamName(stream)) {
      throw new ConfigError(`${source} entry ${index + 1}`, line, "write stream=secret with a valid stream name");
    }
    keys.set(stream, secret);
  });
  return keys;
}

export function loadPublishKeys(file: string | undefined, env: string | undefined): Map<string, string> | undefined {
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      throw new ConfigError("publishKeysFile (--publish-keys-file)", file, `make the file readable (${(err as Error).message})`);
    }
    return parsePublishKeys(file, text);
  }
  if (env !== undefined && env.trim() !== "") return parsePublishKeys("LIVE360_PUBLISH_KEYS", env);
  return undefined;
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The publish policy: name rules and keys first, then liveness (who already publishes). */
export function decidePublish(
  request: PublishRequest,
  keys: ReadonlyMap<string, string> | undefined,
  state: { draining: boolean; isLive: (stream: string) => boolean; atStreamLimit?: boolean },
): PublishDecision & { reason?: RefusalReason } {
  const refuse = (reason: RefusalReason) => ({ accept: false as const, reason, code: REFUSAL_CODES[reason], description: REFUSAL_EXPLANATIONS[reason] });
  if (state.draining) return refuse("shutting-down");
  if (request.app !== "live") return refuse("invalid-app");
  if (!isValidStreamName(request.stream)) return refuse("invalid-stream-name");
  if (keys) {
    const expected = keys.get(request.stream);
    if (request.key === undefined) return refuse("missing-key");
    if (expected === undefined || !sameSecret(request.key, expected)) return refuse("wrong-key");
  }
  if (state.isLive(request.stream)) return refuse("already-publishing");
  // A reconnecting encoder of a stream in its grace period continues it: that adds no stream.
  if (state.atStreamLimit === true) return refuse("too-many-streams");
  return { accept: true };
}
