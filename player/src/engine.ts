import Hls, { Events, type ErrorData, type Level } from "hls.js";
import { EventBus } from "./events.js";
import { catchUpRate, catchUpStateOf } from "./live-catch-up.js";
import { PLAYLIST_ERROR_RETRY, classifyHlsError, shouldRetryPlaylist, type FailureKind, type MediaRecoveryAction } from "./retry.js";

/** One rung of the ladder as the quality menu shows it. */
export interface Rung {
  index: number;
  width: number;
  height: number;
  /** Peak bits per second from the master playlist (BANDWIDTH). */
  bitrate: number;
  /** Absolute URL of the rung's media playlist. */
  url: string;
}

export interface EngineStats {
  /** hls.js's throughput estimate, bits per second. */
  bandwidthEstimate: number | undefined;
  /** Wall-clock capture time of the frame on screen (EXT-X-PROGRAM-DATE-TIME), ms. */
  playingDateMs: number | undefined;
  /** Where "go to live" jumps to (media time), undefined for VOD. */
  liveSyncPosition: number | undefined;
  /** How far behind the live edge the engine aims to play, seconds; undefined where it does not say. */
  targetLatency: number | undefined;
}

export interface PlaylistInfo {
  live: boolean;
  targetDuration: number;
}

export interface EngineEvents {
  /** The master playlist was parsed (rungs empty when the browser does ABR itself). */
  ready: [rungs: Rung[]];
  /** Playback moved to another rung. */
  rungSwitched: [rung: Rung | undefined];
  playlist: [PlaylistInfo];
  /** A segment arrived: the network path works again. */
  progress: [];
  /** A failure the engine could not get past by itself. */
  failure: [kind: FailureKind, detail: string];
}

/**
 * Loads an HLS stream into the video element. Two implementations, chosen by what the
 * browser supports: hls.js on Media Source Extensions, or the browser's own HLS (Safari/iOS).
 * The player decides when to retry; the engine only knows how.
 */
export abstract class PlaybackEngine extends EventBus<EngineEvents> {
  abstract readonly name: string;
  /** Whether the viewer can pick a rung (the native player decides on its own). */
  abstract readonly canChooseRung: boolean;
  abstract start(url: string): void;
  /** Another try after a failure of the given kind. */
  abstract retry(kind: FailureKind): void;
  abstract recoverMedia(action: MediaRecoveryAction): void;
  /** A rung index, or -1 for automatic choice. */
  abstract setRung(index: number): void;
  abstract readonly autoRung: boolean;
  abstract stats(): EngineStats;
  abstract destroy(): void;
}

export interface HlsEngineOptions {
  lowLatency: boolean;
  debug: boolean;
  /** URL of hls.js's transmuxing worker, so demuxing stays off the thread that renders. */
  workerPath: string | undefined;
  /** CMCD on every request (query mode, cmcd.ts); undefined: none. */
  cmcd: { sessionId: string; contentId: string } | undefined;
}

export class HlsJsEngine extends PlaybackEngine {
  readonly name = `hls.js ${Hls.version}`;
  readonly canChooseRung = true;
  private hls: Hls | undefined;
  private url = "";
  private manifestLoaded = false;
  private rungs: Rung[] = [];

  constructor(
    private readonly video: HTMLVideoElement,
    private readonly options: HlsEngineOptions,
  ) {
    super();
  }

  static isSupported(): boolean {
    return Hls.isSupported();
  }

  start(url: string): void {
    this.url = url;
    this.create();
  }

  /**
   * A fresh hls.js for a stream that was not there (it may have restarted with new sequence
   * numbers); for a lost connection mid-stream, resume loading and keep what is buffered.
   */
  retry(kind: FailureKind): void {
    if (kind === "network" && this.manifestLoaded && this.hls) this.hls.startLoad(-1);
    else this.create();
  }

  recoverMedia(action: MediaRecoveryAction): void {
    if (!this.hls || action === "reload") return this.create();
    if (action === "swap-audio-and-recover") this.hls.swapAudioCodec();
    this.hls.recoverMediaError();
  }

  setRung(index: number): void {
    // currentLevel switches at once (flushing the buffer): a viewer who picks a rung wants to see it.
    if (this.hls) this.hls.currentLevel = index;
  }

  get autoRung(): boolean {
    return this.hls?.autoLevelEnabled ?? true;
  }

  stats(): EngineStats {
    const hls = this.hls;
    return {
      bandwidthEstimate: hls && Number.isFinite(hls.bandwidthEstimate) ? hls.bandwidthEstimate : undefined,
      playingDateMs: hls?.playingDate?.getTime(),
      liveSyncPosition: hls?.liveSyncPosition ?? undefined,
      targetLatency: hls?.targetLatency ?? undefined,
    };
  }

  destroy(): void {
    this.hls?.destroy();
    this.hls = undefined;
    this.video.removeEventListener("timeupdate", this.catchUp);
    this.removeAllListeners();
  }

  /** Low-latency mode: the playback rate that brings the player back to its target latency (live-catch-up.ts). */
  private readonly catchUp = (): void => {
    const state = this.hls && catchUpStateOf(this.hls, this.video);
    if (!state) return;
    const rate = catchUpRate(state);
    if (this.video.playbackRate !== rate) this.video.playbackRate = rate;
  };

  private create(): void {
    this.hls?.destroy();
    this.manifestLoaded = false;
    const hls = new Hls({
      debug: this.options.debug,
      enableWorker: this.options.workerPath !== undefined,
      workerPath: this.options.workerPath ?? null,
      lowLatencyMode: this.options.lowLatency,
      // Fewer segments behind the live edge in low-latency mode (1 s segments there).
      liveSyncDurationCount: this.options.lowLatency ? 2 : 3,
      // hls.js's own catch-up stays off (1×, its default): in low-latency mode the engine's
      // (catchUpRate) does it, with the buffer LL-HLS has.
      backBufferLength: 30,
      // A 360 view shows a fraction of the frame magnified: never cap the rung to the element size.
      capLevelToPlayerSize: false,
      playlistLoadPolicy: {
        default: {
          ...Hls.DefaultConfig.playlistLoadPolicy.default,
          errorRetry: {
            ...PLAYLIST_ERROR_RETRY,
            shouldRetry: (config, retryCount, _isTimeout, response) => shouldRetryPlaylist(retryCount, config?.maxNumRetry ?? 0, response?.code),
          },
        },
      },
      // Query mode: the CDN's logs carry it, and no header means no CORS preflight per segment.
      ...(this.options.cmcd ? { cmcd: { ...this.options.cmcd, useHeaders: false } } : {}),
    });
    this.hls = hls;
    hls.on(Events.MANIFEST_PARSED, (_event, data) => {
      this.manifestLoaded = true;
      this.rungs = data.levels.map((level: Level, index: number) => ({
        index,
        width: level.width,
        height: level.height,
        bitrate: level.bitrate,
        url: level.uri,
      }));
      this.emit("ready", this.rungs);
    });
    hls.on(Events.LEVEL_SWITCHED, (_event, data) => this.emit("rungSwitched", this.rungs[data.level]));
    let partHoldBackApplied = false;
    hls.on(Events.LEVEL_LOADED, (_event, data) => {
      // An LL-HLS playlist says how far behind its live edge to play (PART-HOLD-BACK, three parts),
      // but hls.js ignores it once liveSyncDurationCount is configured, and two whole segments
      // behind cost LL-HLS most of its gain (measured: make bench-latency). Taken once: hls.js adds
      // its own margin after stalls on top of it.
      if (this.options.lowLatency && !partHoldBackApplied && data.details.partHoldBack > 0) {
        partHoldBackApplied = true;
        hls.targetLatency = data.details.partHoldBack;
      }
      this.emit("playlist", { live: data.details.live, targetDuration: data.details.targetduration });
    });
    hls.on(Events.FRAG_LOADED, () => this.emit("progress"));
    hls.on(Events.ERROR, (_event, data: ErrorData) => {
      const kind = classifyHlsError({ type: data.type, details: data.details, fatal: data.fatal, httpStatus: data.response?.code });
      if (kind) this.emit("failure", kind, `${data.details}${data.response ? ` (HTTP ${data.response.code})` : ""}`);
    });
    hls.attachMedia(this.video);
    hls.loadSource(this.url);
    this.video.removeEventListener("timeupdate", this.catchUp);
    if (this.options.lowLatency) this.video.addEventListener("timeupdate", this.catchUp);
  }
}

/**
 * Safari and iOS play HLS natively (and iOS before 17.1 has no Media Source Extensions).
 * The browser then picks rungs itself; the playlist is fetched once first so that a 404 is
 * told apart from other errors, which the video element reports only as "failed".
 */
export class NativeHlsEngine extends PlaybackEngine {
  readonly name = "native HLS";
  readonly canChooseRung = false;
  readonly autoRung = true;
  private url = "";
  private attempt = 0;
  private readonly onError = (): void => {
    const code = this.video.error?.code;
    this.emit("failure", code === MediaError.MEDIA_ERR_DECODE ? "media" : "network", `media error ${code ?? "?"}`);
  };
  private readonly onProgress = (): void => this.emit("progress");

  constructor(private readonly video: HTMLVideoElement) {
    super();
    video.addEventListener("error", this.onError);
    video.addEventListener("progress", this.onProgress);
  }

  static isSupported(video: HTMLVideoElement): boolean {
    return video.canPlayType("application/vnd.apple.mpegurl") !== "";
  }

  start(url: string): void {
    this.url = url;
    void this.load();
  }

  retry(): void {
    void this.load();
  }

  recoverMedia(): void {
    void this.load();
  }

  setRung(): void {
    // The browser chooses.
  }

  stats(): EngineStats {
    const video = this.video as HTMLVideoElement & { getStartDate?: () => Date };
    const start = video.getStartDate?.().getTime();
    const seekable = video.seekable;
    return {
      bandwidthEstimate: undefined,
      playingDateMs: start !== undefined && Number.isFinite(start) ? start + video.currentTime * 1000 : undefined,
      liveSyncPosition: video.duration === Number.POSITIVE_INFINITY && seekable.length > 0 ? seekable.end(seekable.length - 1) : undefined,
      targetLatency: undefined,
    };
  }

  destroy(): void {
    this.video.removeEventListener("error", this.onError);
    this.video.removeEventListener("progress", this.onProgress);
    this.video.removeAttribute("src");
    this.video.load();
    this.removeAllListeners();
  }

  private async load(): Promise<void> {
    const attempt = ++this.attempt;
    let status: number;
    try {
      status = (await fetch(this.url, { cache: "no-store" })).status;
    } catch (err) {
      if (attempt === this.attempt) this.emit("failure", "network", String(err));
      return;
    }
    if (attempt !== this.attempt) return;
    if (status === 404 || status === 410) return this.emit("failure", "not-found", `HTTP ${status}`);
    if (status >= 400) return this.emit("failure", "network", `HTTP ${status}`);
    this.video.src = this.url;
    this.video.load();
    this.video.addEventListener(
      "loadedmetadata",
      () => {
        this.emit("playlist", { live: this.video.duration === Number.POSITIVE_INFINITY, targetDuration: 2 });
        this.emit("ready", []);
      },
      { once: true },
    );
  }
}
