/**
 * The HTTP side of a CMAF / LL-HLS stream (issue #15), served from the stream's CmafLiveLadder in
 * memory: the master playlist, media playlists with blocking reload and delta updates, parts (a
 * hinted one held until it is complete), segments and init segments.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { CmafLiveLadder } from "./cmaf/live-ladder.js";
import { decidePartRequest, decidePlaylistRequest, type WaitFailure } from "./ll-hls/blocking.js";
import type { LlHlsVariantState } from "./ll-hls/model.js";
import { parseFileName } from "./ll-hls/names.js";
import { lastPart } from "./ll-hls/position.js";

/** What the HTTP layer needs of one CMAF stream. */
export interface CmafStreamView {
  ladder: CmafLiveLadder;
  /** The master playlist, once every variant has a segment; undefined before (404). */
  masterPlaylist(): string | undefined;
}

/** `/hls/<stream>/master.m3u8` or `/hls/<stream>/<variant>/<file>` of a CMAF stream; matched on the raw path. */
export const CMAF_PATH = /^\/hls\/([a-z0-9][a-z0-9-]{0,62})\/(?:(master\.m3u8)|([a-z0-9_-]{1,32})\/(index\.m3u8|seg_\d{5,12}(?:\.\d{1,3})?\.m4s|init_[0-9a-f]{16}\.mp4))$/;

const IMMUTABLE_CACHE = "public, max-age=31536000, immutable";
const PLAYLIST_TYPE = "application/vnd.apple.mpegurl";
const MP4_TYPE = "video/mp4";

export type CmafRequestKind = "master" | "playlist" | "segment";

export interface CmafResponder {
  send(status: number, body: string | Buffer, headers?: Record<string, string>): void;
  notFound(): void;
}

export interface CmafServeOptions {
  draining: boolean;
  /**
   * Whether a live variant is frozen (no new part for a while and a ladder making no progress):
   * its plain reloads are answered 404 so an edge fails over, as for TS.
   */
  stale: (state: LlHlsVariantState) => boolean;
}

/** Answers one request for a CMAF stream. */
export async function serveCmaf(
  req: IncomingMessage,
  res: ServerResponse,
  match: RegExpExecArray,
  view: CmafStreamView,
  respond: CmafResponder,
  options: CmafServeOptions,
): Promise<CmafRequestKind> {
  const [, , master, variantName, file] = match as unknown as [string, string, string?, string?, string?];
  if (master) {
    const text = view.masterPlaylist();
    if (text === undefined) respond.notFound();
    else respond.send(200, text, { "Content-Type": PLAYLIST_TYPE, "Cache-Control": "public, max-age=1" });
    return "master";
  }
  const { ladder } = view;
  const state = ladder.state(variantName!);
  if (!state) {
    respond.notFound();
    return file === "index.m3u8" ? "playlist" : "segment";
  }
  if (file === "index.m3u8") {
    await servePlaylist(req, res, ladder, state, respond, options);
    return "playlist";
  }
  const named = parseFileName(file!);
  if (named?.kind === "segment") {
    const bytes = ladder.segmentBytes(state.name, named.msn);
    if (bytes) respond.send(200, bytes, { "Content-Type": MP4_TYPE, "Cache-Control": IMMUTABLE_CACHE });
    else respond.notFound();
  } else if (named?.kind === "init") {
    const init = ladder.initByHash(state.name, named.hash);
    if (init) respond.send(200, init.data, { "Content-Type": MP4_TYPE, "Cache-Control": IMMUTABLE_CACHE });
    else respond.notFound();
  } else if (named?.kind === "part") {
    await servePart(res, ladder, state, { msn: named.msn, part: named.index }, respond);
  } else {
    respond.notFound();
  }
  return "segment";
}

async function servePlaylist(
  req: IncomingMessage,
  res: ServerResponse,
  ladder: CmafLiveLadder,
  state: LlHlsVariantState,
  respond: CmafResponder,
  options: CmafServeOptions,
): Promise<void> {
  // As for TS: a draining origin hands its playlists to the other origin (see http.ts).
  if (options.draining) return respond.send(503, "draining\n", { "Content-Type": "text/plain" });
  const query = (req.url ?? "").split("?").slice(1).join("?");
  const decision = decidePlaylistRequest(state, query);
  if (decision.kind === "bad-request") return respond.send(400, `${decision.reason}\n`, { "Content-Type": "text/plain" });
  let current = state;
  const blocking = decision.kind === "wait" || /(?:^|&)_HLS_msn=/.test(query);
  if (decision.kind === "wait") {
    const outcome = await ladder.waiters.waitForPlaylist(state, decision.until, { signal: closedSignal(res) });
    if (outcome.kind === "bad-request") return respond.send(400, `${outcome.reason}\n`, { "Content-Type": "text/plain" });
    if (outcome.kind !== "ready") return answerFailure(outcome, respond);
    current = outcome.state;
  }
  if (!current.ended && !blocking && options.stale(current)) return respond.notFound();
  if (!lastPart(current)) return respond.notFound();
  respond.send(200, ladder.renderPlaylist(current, decision.skip), {
    "Content-Type": PLAYLIST_TYPE,
    // A blocking answer is the playlist as of the part it names, whoever asks: a cache may keep
    // it as long as the part stays listed. A plain reload (a player joining) may be a second
    // old: its hint names a part that exists, and the player's blocking reloads catch up from
    // there; max-age=0 would let nginx neither cache nor collapse it (workloads/edge/README.md).
    "Cache-Control": blocking ? `public, max-age=${3 * current.targetDurationSeconds}` : "public, max-age=1",
  });
}

async function servePart(
  res: ServerResponse,
  ladder: CmafLiveLadder,
  state: LlHlsVariantState,
  position: { msn: number; part: number },
  respond: CmafResponder,
): Promise<void> {
  const decision = decidePartRequest(state, position);
  if (decision.kind === "not-found") return respond.notFound();
  let part = decision.kind === "now" ? decision.part : undefined;
  if (decision.kind === "wait") {
    const outcome = await ladder.waiters.waitForPart(state, decision.until, { signal: closedSignal(res) });
    if (outcome.kind === "not-found") return respond.notFound();
    if (outcome.kind !== "ready") return answerFailure(outcome, respond);
    part = outcome.part;
  }
  respond.send(200, part!.data, { "Content-Type": MP4_TYPE, "Cache-Control": IMMUTABLE_CACHE });
}

/** The spec's answer to a request held too long (503), or to one the origin cannot hold any more. */
function answerFailure(failure: WaitFailure, respond: CmafResponder): void {
  if (failure.kind === "aborted") return;
  const why = failure.kind === "timeout" ? "not available within three target durations" : failure.kind === "over-limit" ? "too many requests held" : "the stream is closing";
  respond.send(503, `${why}\n`, { "Content-Type": "text/plain", "Retry-After": "1" });
}

/** Aborted when the client goes away, so a held request frees its place at once. */
function closedSignal(res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  res.once("close", () => controller.abort());
  return controller.signal;
}
