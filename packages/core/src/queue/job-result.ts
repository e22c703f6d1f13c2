/**
 * What a one-shot VOD worker (`live360 vod-worker --job ... --result-file <file>`) leaves behind
 * for whoever ran it. In a Kubernetes Job the file is the container's termination message, which
 * the kubelet copies into the pod's status: the operator reads the asset's URL (or the reason it
 * failed) from there, without S3 access of its own.
 */
export type JobResult =
  | { outcome: "completed" | "already-done"; masterPlaylist: string }
  | { outcome: "refused" | "failed" | "interrupted"; error: string };

/** The kubelet keeps at most 4096 bytes of a termination message. */
export const MAX_JOB_RESULT_BYTES = 4096;

export function formatJobResult(result: JobResult): string {
  if ("masterPlaylist" in result) return JSON.stringify(result);
  // Cut the error, not the JSON around it: the reader always gets a parseable result.
  const room = MAX_JOB_RESULT_BYTES - Buffer.byteLength(JSON.stringify({ ...result, error: "" })) - 8;
  let error = result.error;
  while (Buffer.byteLength(JSON.stringify(error)) - 2 > room) error = error.slice(0, Math.floor(error.length * 0.9));
  return JSON.stringify({ ...result, error });
}

/** The result in `text`; undefined for anything else (an older worker, the log tail of a crash). */
export function parseJobResult(text: string | undefined): JobResult | undefined {
  if (!text) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const result = value as Partial<Record<"outcome" | "masterPlaylist" | "error", unknown>> | null;
  if (typeof result !== "object" || result === null) return undefined;
  if ((result.outcome === "completed" || result.outcome === "already-done") && typeof result.masterPlaylist === "string") {
    return { outcome: result.outcome, masterPlaylist: result.masterPlaylist };
  }
  if ((result.outcome === "refused" || result.outcome === "failed" || result.outcome === "interrupted") && typeof result.error === "string") {
    return { outcome: result.outcome, error: result.error };
  }
  return undefined;
}
