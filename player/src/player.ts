import type { Projection } from "@live360/core/browser";
import { BeaconCollector, type WatchState } from "./beacon.js";
import { contentIdOf, newSessionId } from "./cmcd.js";
import { HlsJsEngine, NativeHlsEngine, type PlaybackEngine, type Rung } from "./engine.js";
import { EventBus } from "./events.js";
import { formatSeconds } from "./format.js";
import { heatmapPixels, heatmapUrl, parseHeatmap } from "./heatmap.js";
import { isBehindLive, liveLatencySeconds } from "./live.js";
import type { ParamProblem, PlayerParams } from "./params.js";
import {
  assetManifestUrl,
  chooseProjection,
  parseAssetManifest,
  projectionForVariant,
  type AssetManifest,
  type ProjectionChoice,
} from "./projection.js";
import { MediaRecovery, RetryPolicy, type FailureKind } from "./retry.js";
import { VideoScene } from "./scene.js";
import { ViewController } from "./view-controller.js";

export type PlayerState =
  | "no-url"
  | "unsupported"
  | "loading"
  | "waiting"
  | "reconnecting"
  | "playing"
  | "paused"
  | "buffering"
  | "ended"
  | "error";

/** What the viewer is told, in words a viewer understands; `action` offers the way out. */
export interface ViewerMessage {
  title: string;
  detail?: string;
  action?: { label: string; run: () => void };
}

export interface PlayerEvents {
  state: [state: PlayerState, message: ViewerMessage | undefined];
  rungs: [Rung[]];
  rungSwitched: [rung: Rung | undefined, auto: boolean];
  live: [boolean];
  /** A short remark that does not stop playback (muted autoplay, an ignored parameter). */
  notice: [string];
  projection: [Projection];
  firstFrame: [ms: number];
}

export interface PlayerStats {
  state: PlayerState;
  engine: string | undefined;
  projection: Projection | undefined;
  rung: Rung | undefined;
  autoRung: boolean;
  bandwidthEstimate: number | undefined;
  bufferSeconds: number;
  droppedFrames: number;
  totalFrames: number;
  latencySeconds: number | undefined;
  /** How far behind the live edge the engine aims to play (hls.js: the playlist's hold-back). */
  targetLatencySeconds: number | undefined;
  /** Milliseconds from navigation start to the first frame on the canvas. */
  firstFrameMs: number | undefined;
}

/** Where beacons go, on the host that serves the playlist (the edge; workloads/edge/src/insight). */
const BEACON_PATH = "/insight/beacon";
const BEACON_INTERVAL_MS = 10_000;
const VIEW_SAMPLE_MS = 1000;
/** The edge's heatmap may be this old (it is cached as long). */
const HEATMAP_REFRESH_MS = 5000;

/** How long the first frame may wait for the asset manifest before using the default. */
const MANIFEST_TIMEOUT_MS = 3000;

export interface PlayerSurfaces {
  /** Where the 3D scene goes; it also takes the look-around input. */
  stage: HTMLElement;
  /** The "Enter VR" button, shown by A-Frame only where WebXR VR is available. */
  vrButton: HTMLElement;
  /** The element that goes fullscreen. */
  root: HTMLElement;
}

/**
 * The player, in the shape of hls.js's Hls object: one object that owns the media element and
 * the engine, drives recovery, and reports what happens through typed events that the
 * controls, the stats overlay and tests subscribe to.
 */
export class Player extends EventBus<PlayerEvents> {
  readonly video: HTMLVideoElement;
  private scene: VideoScene | undefined;
  private view: ViewController | undefined;
  private engine: PlaybackEngine | undefined;
  private currentState: PlayerState = "loading";
  private readonly retry = new RetryPolicy();
  private readonly mediaRecovery = new MediaRecovery();
  /** CMCD's session id: one per page load, kept across engine restarts. */
  private readonly sessionId = newSessionId();
  private beacon: BeaconCollector | undefined;
  /** Samples in the heatmap on show (undefined before the first one arrived). */
  heatmapSamples: number | undefined;
  private retryTimer: number | undefined;
  private projectionChoice: ProjectionChoice | undefined;
  private manifest: AssetManifest | undefined;
  private rung: Rung | undefined;
  private isLive = false;
  private targetDuration = 2;
  private userPaused = false;
  private mutedForAutoplay = false;

  constructor(
    private readonly surfaces: PlayerSurfaces,
    readonly params: PlayerParams,
    private readonly problems: readonly ParamProblem[] = [],
  ) {
    super();
    this.video = document.createElement("video");
    this.video.className = "l360-video";
    this.video.crossOrigin = "anonymous";
    this.video.playsInline = true;
    this.video.preload = "auto";
    this.video.muted = params.muted;
    surfaces.root.appendChild(this.video);
    this.watchVideo();
  }

  get state(): PlayerState {
    return this.currentState;
  }

  get live(): boolean {
    return this.isLive;
  }

  get canChooseRung(): boolean {
    return this.engine?.canChooseRung ?? false;
  }

  start(): void {
    for (const problem of this.problems) this.emit("notice", `${problem.param}=${problem.value}: ${problem.message}`);
    const url = this.params.url;
    if (!url) {
      const urlProblem = this.problems.find((p) => p.param === "url");
      return this.setState("no-url", {
        title: urlProblem ? "This stream address can't be used" : "No stream selected",
        detail: urlProblem
          ? urlProblem.message
          : "Add ?url= and the address of an HLS playlist (.m3u8) to this page's address, for example ?url=/hls/test/master.m3u8",
      });
    }
    const engine = this.createEngine();
    if (!engine || !webGlAvailable()) {
      return this.setState("unsupported", {
        title: "This browser can't play 360° video",
        detail: engine
          ? "It has no WebGL, which the 360° view needs. Turn on hardware acceleration or try another browser."
          : "It can play neither HLS through Media Source Extensions nor HLS natively. Try a current Chrome, Edge, Firefox or Safari.",
      });
    }
    this.engine = engine;
    const scene = new VideoScene(this.surfaces.stage, this.video, this.surfaces.vrButton);
    this.scene = scene;
    this.view = new ViewController(this.surfaces.stage, scene);
    scene.on("projection", (p) => this.emit("projection", p));
    scene.on("firstFrame", (ms) => this.emit("firstFrame", ms));
    void this.decideProjection(url);
    this.wireEngine(engine);
    if (this.params.analytics) this.startBeacon(url);
    if (this.params.heatmap) this.startHeatmap(url);
    this.setState("loading", undefined);
    engine.start(url);
  }

  /** Polls the edge's heatmap of this stream and draws it over the picture; a failed poll keeps the last one. */
  private startHeatmap(url: string): void {
    const source = heatmapUrl(url);
    let shown = false;
    const refresh = async (): Promise<void> => {
      try {
        const response = await fetch(source, { cache: "no-store" });
        const grid = response.ok ? parseHeatmap(await response.json()) : undefined;
        if (!grid || !this.scene) return;
        this.scene.showHeatmap(heatmapPixels(grid), grid.columns, grid.rows);
        if (!shown) this.emit("notice", `Heatmap: where viewers looked in the last ${Math.round(grid.windowSeconds / 60)} min (${grid.samples} samples).`);
        shown = true;
        this.heatmapSamples = grid.samples;
      } catch {
        // The next poll tries again.
      }
    };
    void refresh();
    window.setInterval(() => void refresh(), HEATMAP_REFRESH_MS);
  }

  /**
   * The viewer beacon (beacon.ts): fed by the player's own events, a view sample a second while
   * playing, POSTed every ten seconds and handed to sendBeacon when the page is hidden or left.
   * Failures to send are dropped: insight never gets in the way of playback.
   */
  private startBeacon(url: string): void {
    const collector = new BeaconCollector(this.sessionId, contentIdOf(url), () => performance.now());
    this.beacon = collector;
    const endpoint = new URL(BEACON_PATH, new URL(url, location.href)).href;
    const watchState = (state: PlayerState): WatchState => (state === "playing" ? "playing" : state === "buffering" ? "stalled" : "idle");
    this.on("state", (state) => collector.setState(watchState(state)));
    this.on("firstFrame", (ms) => collector.firstFrame(ms));
    this.on("rungSwitched", () => collector.rungSwitched());
    window.setInterval(() => {
      if (this.currentState !== "playing" || !this.scene) return;
      const { yaw, pitch } = this.scene.viewDirection();
      collector.view(yaw, pitch, this.scene.fov);
      collector.droppedFrames(this.video.getVideoPlaybackQuality?.().droppedVideoFrames ?? 0);
    }, VIEW_SAMPLE_MS);
    const body = (): string | undefined => {
      const beacon = collector.flush();
      return beacon && JSON.stringify(beacon);
    };
    // text/plain keeps a cross-origin POST "simple": no CORS preflight per beacon.
    const timer = window.setInterval(() => {
      const json = body();
      if (!json) return;
      fetch(endpoint, { method: "POST", body: json, keepalive: true, headers: { "Content-Type": "text/plain" } })
        .then((response) => {
          // A server without insight (an origin played directly, as `live360 local` does): stop asking.
          if (response.status === 404 || response.status === 405) window.clearInterval(timer);
        })
        .catch(() => undefined);
    }, BEACON_INTERVAL_MS);
    const farewell = (): void => {
      const json = body();
      if (json) navigator.sendBeacon(endpoint, new Blob([json], { type: "text/plain" }));
    };
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "hidden") farewell();
    });
    window.addEventListener("pagehide", farewell);
  }

  /** For keyboard and tests: turn the view (positive yaw turns left). */
  rotateBy(yaw: number, pitch: number): void {
    this.view?.rotateBy(yaw, pitch);
  }

  rotation(): { yaw: number; pitch: number } {
    return this.scene?.rotation() ?? { yaw: 0, pitch: 0 };
  }

  togglePlay(): void {
    if (this.video.paused || this.video.ended) {
      this.userPaused = false;
      void this.play();
    } else {
      this.userPaused = true;
      this.video.pause();
    }
  }

  toggleMute(): void {
    this.video.muted = !this.video.muted;
    this.mutedForAutoplay = false;
  }

  /** A rung index, or -1 for automatic. */
  setRung(index: number): void {
    this.engine?.setRung(index);
  }

  get autoRung(): boolean {
    return this.engine?.autoRung ?? true;
  }

  goLive(): void {
    const position = this.engine?.stats().liveSyncPosition;
    if (position !== undefined) this.video.currentTime = position;
    if (this.video.paused) this.togglePlay();
  }

  behindLive(): boolean {
    return this.isLive && isBehindLive(this.video.currentTime, this.engine?.stats().liveSyncPosition, this.targetDuration);
  }

  seek(seconds: number): void {
    if (Number.isFinite(this.video.duration)) this.video.currentTime = Math.max(0, Math.min(this.video.duration, seconds));
  }

  toggleFullscreen(): void {
    if (document.fullscreenElement) void document.exitFullscreen();
    else void this.surfaces.root.requestFullscreen?.();
  }

  stats(): PlayerStats {
    const engineStats = this.engine?.stats();
    const quality = this.video.getVideoPlaybackQuality?.();
    return {
      state: this.currentState,
      engine: this.engine?.name,
      projection: this.scene?.projection,
      rung: this.rung,
      autoRung: this.autoRung,
      bandwidthEstimate: engineStats?.bandwidthEstimate,
      bufferSeconds: bufferedAhead(this.video),
      droppedFrames: quality?.droppedVideoFrames ?? 0,
      totalFrames: quality?.totalVideoFrames ?? 0,
      latencySeconds: this.isLive ? liveLatencySeconds(Date.now(), engineStats?.playingDateMs) : undefined,
      targetLatencySeconds: this.isLive ? engineStats?.targetLatency : undefined,
      firstFrameMs: this.scene?.firstFrameAfterMs,
    };
  }

  private createEngine(): PlaybackEngine | undefined {
    if (HlsJsEngine.isSupported()) {
      warmUp(hlsWorkerUrl());
      const url = this.params.url;
      return new HlsJsEngine(this.video, {
        lowLatency: this.params.lowLatency,
        debug: this.params.debug,
        workerPath: hlsWorkerUrl(),
        cmcd: this.params.analytics && url ? { sessionId: this.sessionId, contentId: contentIdOf(url) } : undefined,
      });
    }
    if (NativeHlsEngine.isSupported(this.video)) return new NativeHlsEngine(this.video);
    return undefined;
  }

  private wireEngine(engine: PlaybackEngine): void {
    engine.on("ready", (rungs) => {
      this.emit("rungs", rungs);
      if (!this.userPaused) void this.play();
    });
    engine.on("rungSwitched", (rung) => {
      this.rung = rung;
      this.applyProjection();
      this.emit("rungSwitched", rung, engine.autoRung);
    });
    engine.on("playlist", (info) => {
      this.targetDuration = info.targetDuration;
      if (info.live !== this.isLive) {
        this.isLive = info.live;
        this.emit("live", info.live);
      }
    });
    engine.on("progress", () => {
      this.retry.succeeded();
      if (this.currentState === "reconnecting" || this.currentState === "waiting") this.setState(this.playbackState(), undefined);
    });
    engine.on("failure", (kind, detail) => this.onFailure(kind, detail));
  }

  private onFailure(kind: FailureKind, detail: string): void {
    window.clearTimeout(this.retryTimer);
    this.beacon?.error(kind);
    if (kind === "media") {
      this.engine?.recoverMedia(this.mediaRecovery.next(performance.now()));
      return;
    }
    if (kind === "refused") {
      return this.setState("error", {
        title: "This link isn't valid (any more)",
        detail: `The server refused it (${detail}). Signed links expire: ask for a new link, then open it.`,
        action: { label: "Try again", run: () => this.restart() },
      });
    }
    if (kind === "fatal") {
      return this.setState("error", {
        title: "Playback stopped",
        detail: `The player hit an error it cannot get past (${detail}).`,
        action: { label: "Try again", run: () => this.restart() },
      });
    }
    const { delayMs, attempt } = this.retry.next(kind);
    if (kind === "not-found") {
      this.setState("waiting", {
        title: "Waiting for the stream to start…",
        detail: "It isn't live yet (or has just ended). This page keeps checking and starts playing by itself — no need to reload.",
      });
    } else {
      this.setState("reconnecting", {
        title: kind === "bad-playlist" ? "This address doesn't point at a video stream" : "Connection lost — reconnecting…",
        detail:
          kind === "bad-playlist"
            ? `The server answered, but not with an HLS playlist (${detail}). Check the url parameter. Trying again in ${formatSeconds(delayMs / 1000)}.`
            : `Trying again in ${formatSeconds(delayMs / 1000)} (attempt ${attempt}).`,
      });
    }
    this.retryTimer = window.setTimeout(() => this.engine?.retry(kind), delayMs);
  }

  private restart(): void {
    this.retry.succeeded();
    this.setState("loading", undefined);
    if (this.params.url) this.engine?.start(this.params.url);
  }

  private async play(): Promise<void> {
    try {
      await this.video.play();
    } catch (err) {
      const name = (err as DOMException).name;
      // AbortError: a reload replaced this load; the next "ready" plays again.
      if (name !== "NotAllowedError") return;
      if (!this.video.muted) {
        // Browsers allow autoplay only without sound until the viewer interacts with the page.
        this.video.muted = true;
        this.mutedForAutoplay = true;
        this.emit("notice", "Started muted, as your browser only autoplays without sound. Click the speaker to turn sound on.");
        return this.play();
      }
      this.setState("paused", {
        title: "Click to play",
        detail: "Your browser doesn't allow this video to start by itself.",
        action: { label: "Play", run: () => this.togglePlay() },
      });
    }
  }

  get autoplayMuted(): boolean {
    return this.mutedForAutoplay;
  }

  private watchVideo(): void {
    const video = this.video;
    video.addEventListener("playing", () => this.setState("playing", undefined));
    video.addEventListener("pause", () => {
      if (this.currentState === "playing" || this.currentState === "buffering") this.setState("paused", undefined);
    });
    video.addEventListener("waiting", () => {
      if (this.currentState === "playing") this.setState("buffering", undefined);
    });
    video.addEventListener("ended", () =>
      this.setState("ended", {
        title: this.isLive ? "The broadcast has ended" : "The end",
        action: this.isLive ? { label: "Check again", run: () => this.restart() } : { label: "Watch again", run: () => this.replay() },
      }),
    );
  }

  private replay(): void {
    this.video.currentTime = 0;
    this.userPaused = false;
    void this.play();
  }

  private playbackState(): PlayerState {
    if (this.video.paused) return "paused";
    return this.video.readyState >= HTMLMediaElement.HAVE_FUTURE_DATA ? "playing" : "buffering";
  }

  private setState(state: PlayerState, message: ViewerMessage | undefined): void {
    this.currentState = state;
    this.emit("state", state, message);
  }

  /** The page parameter, else the VOD asset manifest (fetched alongside the playlist), else the default. */
  private async decideProjection(url: string): Promise<void> {
    if (!this.params.projection) this.manifest = await fetchAssetManifest(url);
    this.projectionChoice = chooseProjection(this.params.projection, this.manifest);
    this.applyProjection();
  }

  private applyProjection(): void {
    const choice = this.projectionChoice;
    if (!choice || !this.scene) return;
    this.scene.setProjection(this.rung ? projectionForVariant(choice, this.manifest, this.rung.url) : choice.projection);
  }
}

async function fetchAssetManifest(masterUrl: string): Promise<AssetManifest | undefined> {
  const abort = new AbortController();
  const timer = window.setTimeout(() => abort.abort(), MANIFEST_TIMEOUT_MS);
  try {
    const response = await fetch(assetManifestUrl(masterUrl), { signal: abort.signal });
    // Live streams have no manifest: a 404 here is the normal case, not an error.
    if (!response.ok) return undefined;
    return parseAssetManifest(await response.json(), masterUrl);
  } catch {
    return undefined;
  } finally {
    window.clearTimeout(timer);
  }
}

function bufferedAhead(video: HTMLVideoElement): number {
  const t = video.currentTime;
  for (let i = 0; i < video.buffered.length; i++) {
    if (video.buffered.start(i) <= t + 0.1 && video.buffered.end(i) >= t) return video.buffered.end(i) - t;
  }
  return 0;
}

function webGlAvailable(): boolean {
  try {
    const canvas = document.createElement("canvas");
    return Boolean(canvas.getContext("webgl2") ?? canvas.getContext("webgl"));
  } catch {
    return false;
  }
}

/** The build names the worker file (content-hashed) beside the bundle; see scripts/bundle.mjs. */
declare const __HLS_WORKER_FILE__: string | undefined;

/**
 * hls.js starts its transmuxing worker only when the first segment has arrived, so the worker
 * script was fetched after the segment and delayed the first frame by its download (≈ 0.5 s
 * measured on a loaded machine). Fetching it now, in parallel with the playlists, puts it in
 * the HTTP cache (the origin serves the hashed player files as immutable) for when it is needed.
 */
function warmUp(url: string | undefined): void {
  if (url) void fetch(url).then((response) => response.arrayBuffer()).catch(() => undefined);
}

function hlsWorkerUrl(): string | undefined {
  return typeof __HLS_WORKER_FILE__ === "string" ? new URL(__HLS_WORKER_FILE__, import.meta.url).href : undefined;
}
