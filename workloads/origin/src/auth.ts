import { isValidStreamName, secretText, secretsEqual } from "@live360/core";
import type { OriginConfig } from "./config.js";
import type { PublishDecision, PublishRequest, RejectCode } from "./nms.js";

/** Refusal reasons double as metric labels, so they form a closed set. */
export type RefusalReason =
  | "invalid-app"
  | "invalid-stream-name"
  | "unknown-stream"
  | "missing-key"
  | "wrong-key"
  | "already-publishing"
  | "too-many-streams"
  | "shutting-down";

export const REFUSAL_EXPLANATIONS: Record<RefusalReason, string> = {
  "invalid-app": 'the application must be "live" (rtmp://host:1935/live/<stream>)',
  "invalid-stream-name": "stream names must match ^[a-z0-9][a-z0-9-]{0,62}$",
  // The allowed names are not told: whoever guesses names learns nothing.
  "unknown-stream": "this origin takes only the streams it was started for (--allow-stream); check the stream name in the publish URL",
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
  "unknown-stream": "NetStream.Publish.BadName",
  "already-publishing": "NetStream.Publish.BadName",
  "too-many-streams": "NetStream.Publish.Rejected",
  "missing-key": "NetStream.Publish.Rejected",
  "wrong-key": "NetStream.Publish.Rejected",
  "shutting-down": "NetStream.Publish.Rejected",
};

/**
 * The admin token from a file (a mounted Secret; surrounding whitespace such as the newline an
 * editor adds is dropped) or LIVE360_ADMIN_TOKEN, the file first like the publish keys. Never
 * from a flag: the command line is readable by every user of the machine.
 */
export function loadAdminToken(file: string | undefined, env: string | undefined): string | undefined {
  return secretText("adminTokenFile (--admin-token-file)", file, env)?.trim();
}

/** The publish policy: name rules and keys first, then liveness (who already publishes). */
export function decidePublish(
  request: PublishRequest,
  policy: Pick<OriginConfig, "allowedStreams" | "publishKeys">,
  state: { draining: boolean; isLive: (stream: string) => boolean; atStreamLimit?: boolean },
): PublishDecision & { reason?: RefusalReason } {
  const refuse = (reason: RefusalReason) => ({ accept: false as const, reason, code: REFUSAL_CODES[reason], description: REFUSAL_EXPLANATIONS[reason] });
  if (state.draining) return refuse("shutting-down");
  if (request.app !== "live") return refuse("invalid-app");
  if (!isValidStreamName(request.stream)) return refuse("invalid-stream-name");
  if (policy.allowedStreams && !policy.allowedStreams.includes(request.stream)) return refuse("unknown-stream");
  if (policy.publishKeys) {
    if (request.key === undefined) return refuse("missing-key");
    // A stream without a key is compared with the empty secret, which matches nothing: the same
    // work as for a keyed stream, so the time taken does not tell which streams have keys.
    if (!secretsEqual(request.key, policy.publishKeys.get(request.stream) ?? "")) return refuse("wrong-key");
  }
  if (state.isLive(request.stream)) return refuse("already-publishing");
  // A reconnecting encoder of a stream in its grace period continues it: that adds no stream.
  if (state.atStreamLimit === true) return refuse("too-many-streams");
  return { accept: true };
}
