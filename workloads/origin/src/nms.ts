/**
 * A typed, narrow wrapper around node-media-server 4.x, which ships no usable types and has
 * traps this module exists to contain:
 * - `postPublish` still fires for a session closed in `prePublish`, so refused sessions are
 *   remembered and their later events ignored;
 * - `donePublish` is delayed by a 30 s reconnect grace, so the end of a publish is taken from
 *   the publisher's socket closing instead;
 * - EADDRINUSE calls `process.exit`, so the listen-error handler is replaced before `run()`;
 * - all state is module-global (one server per process), so only one ingest may exist at once.
 */
import { createRequire } from "node:module";
import type { Socket } from "node:net";
import { ListenError, Live360Error, TypedEmitter, type Logger } from "@live360/core";

const require = createRequire(import.meta.url);

/** The fields of an NMS session that live360 reads. */
interface NmsSession {
  id: string;
  ip: string;
  protocol: string;
  isPublisher: boolean;
  streamApp: string;
  streamName: string;
  streamPath: string;
  streamQuery: Record<string, string | string[] | undefined>;
  inBytes: number;
  videoCodec: number;
  videoWidth: number;
  videoHeight: number;
  videoFramerate: number;
  audioCodec: number;
  socket?: Socket;
  close(): void;
}

interface NmsBroadcast {
  publisher: NmsSession | null;
  postPlay(session: NmsSession): string | null;
  donePlay(session: NmsSession): void;
}

interface NmsContext {
  broadcasts: Map<string, NmsBroadcast>;
  eventEmitter: import("node:events").EventEmitter;
}

interface NmsServer {
  rtmpServer: { handleListenError: (name: string, port: number) => (err: NodeJS.ErrnoException) => void; tcpServer?: { listening: boolean; once(e: "listening", l: () => void): void } };
  run(): Promise<void>;
  stop(): Promise<void>;
}

type BaseSessionClass = new () => NmsSession & { sendBuffer: (b: Buffer) => void };

const NodeMediaServer = require("node-media-server") as new (config: object) => NmsServer;
const context = require("node-media-server/src/core/context.js") as NmsContext;
const BaseSession = require("node-media-server/src/session/base_session.js") as BaseSessionClass;
const nmsLogger = require("node-media-server/src/core/logger.js") as { log: (message: string, level?: string) => void };
const { parseH264Sps } = require("node-media-server/src/protocol/sps_info.js") as {
  parseH264Sps: (sps: Buffer) => { width: number; height: number };
};

export { parseH264Sps };

/** What live360 knows about a publisher when it asks to publish. */
export interface PublishRequest {
  sessionId: string;
  app: string;
  stream: string;
  /** `?key=` from the publish URL, if any. */
  key: string | undefined;
  remoteAddress: string;
}

/** Receives a publisher's media as FLV tags. */
type Tap = (flvTag: Buffer) => void;

/** A publisher that has been accepted and is sending media. */
export interface Publisher extends PublishRequest {
  /** Bytes received so far, for the input bitrate. */
  bytesReceived(): number;
  /** Disconnects the publisher (admin drop, shutdown). */
  disconnect(): void;
  /**
   * Attaches a media tap that receives FLV tags; returns a detach function. The first tap also
   * gets every tag since the publish was accepted.
   */
  attach(tap: Tap): () => void;
}

export interface IngestEvents {
  /** A publish was accepted; media follows. */
  publish: [Publisher];
  /** The publisher's connection closed (immediately, not after NMS's 30 s grace). */
  unpublish: [Publisher];
}

export type PublishDecision = { accept: true } | { accept: false; reason: string };

let instanceActive = false;

function isFlvFileHeader(buffer: Buffer): boolean {
  return buffer.length === 13 && buffer.toString("latin1", 0, 3) === "FLV";
}

/**
 * RTMP ingest. `authorize` decides every publish before any media is processed, so a refused
 * publisher never starts FFmpeg or a recording.
 */
export class RtmpIngest extends TypedEmitter<IngestEvents> {
  private readonly server: NmsServer;
  private readonly refused = new Set<string>();
  private readonly publishers = new Map<string, Publisher>();
  private stopped = false;

  constructor(
    private readonly options: { port: number; bindAddress: string; storeDir: string; logger: Logger },
    private readonly authorize: (request: PublishRequest) => PublishDecision,
  ) {
    super();
    if (instanceActive) throw new Live360Error("node-media-server allows one RTMP ingest per process");
    instanceActive = true;
    // NMS prints banners and per-session chatter with console.log; route it into our JSON
    // log at debug level (its errors at warn: live360 logs the decisions that matter itself).
    const log = options.logger.child("nms");
    nmsLogger.log = (message, level = "info") => (level === "error" || level === "warn" ? log.warn(message) : log.debug(message));
    this.server = new NodeMediaServer({
      bind: options.bindAddress,
      rtmp: { port: options.port },
      // Recording, FLV over HTTP and the admin UI are live360's own or unused.
      record: { auto: false, path: options.storeDir },
      store: { path: options.storeDir },
      webadmin: { enable: false },
    });
    // NMS's event emitter is module-global and outlives a server: listeners are removed on stop.
    for (const [event, listener] of this.listeners) context.eventEmitter.on(event, listener);
  }

  private readonly listeners: ReadonlyArray<[string, (session: NmsSession) => void]> = [
    ["prePublish", (s) => this.onPrePublish(s)],
    ["postPublish", (s) => this.onPostPublish(s)],
    // RTMP playback is not offered: viewers use HLS through the edge.
    ["prePlay", (s) => s.socket?.destroy()],
  ];

  /** Starts listening; rejects with ListenError instead of exiting the process. */
  async start(): Promise<void> {
    const listening = new Promise<void>((resolve, reject) => {
      this.server.rtmpServer.handleListenError = (name, port) => (err) => reject(new ListenError(name, port, err));
      queueMicrotask(() => this.server.rtmpServer.tcpServer?.once("listening", resolve));
    });
    // Both at once: a listen error may reject while run() is still pending.
    await Promise.all([this.server.run(), listening]);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const publisher of this.publishers.values()) publisher.disconnect();
    await this.server.stop();
    for (const [event, listener] of this.listeners) context.eventEmitter.off(event, listener);
    instanceActive = false;
  }

  private onPrePublish(session: NmsSession): void {
    const request: PublishRequest = {
      sessionId: session.id,
      app: session.streamApp,
      stream: session.streamName,
      key: typeof session.streamQuery?.key === "string" ? session.streamQuery.key : undefined,
      remoteAddress: session.ip,
    };
    const decision = this.authorize(request);
    if (!decision.accept) {
      this.refused.add(session.id);
      // destroy, not end: no further bytes of this publisher are parsed or broadcast.
      session.socket?.destroy();
    }
  }

  private onPostPublish(session: NmsSession): void {
    if (this.refused.delete(session.id)) return;
    // NMS emits postPublish before it rejects a second publisher on the same path.
    const broadcast = context.broadcasts.get(session.streamPath);
    if (!broadcast || broadcast.publisher !== null) return;
    const publisher = this.createPublisher(session, broadcast);
    this.publishers.set(session.id, publisher);
    session.socket?.once("close", () => {
      this.publishers.delete(session.id);
      this.emit("unpublish", publisher);
    });
    queueMicrotask(() => this.emit("publish", publisher));
  }

  private createPublisher(session: NmsSession, broadcast: NmsBroadcast): Publisher {
    const subscribe = (tap: Tap): (() => void) => {
      const subscriber = new BaseSession();
      subscriber.protocol = "flv";
      // NMS starts every FLV subscription with a file header; the contract here is tags only.
      subscriber.sendBuffer = (buffer) => {
        if (!isFlvFileHeader(buffer)) tap(buffer);
      };
      broadcast.postPlay(subscriber);
      return () => broadcast.donePlay(subscriber);
    };
    const held = new HeldSubscription(subscribe, MAX_HELD_BYTES);
    const log = this.options.logger;
    return {
      sessionId: session.id,
      app: session.streamApp,
      stream: session.streamName,
      key: undefined,
      remoteAddress: session.ip,
      bytesReceived: () => session.inBytes,
      disconnect: () => {
        session.socket?.destroy();
        held.releaseUnclaimed();
      },
      attach: (tap) => {
        const detach = held.takeOver(tap);
        if (held.droppedBytes > 0) log.warn("media arrived faster than the stream was set up; some was dropped", { stream: session.streamName, droppedBytes: held.droppedBytes });
        return detach ?? subscribe(tap);
      },
    };
  }
}

/** Held media of one publisher is bounded: a flood during setup must not exhaust memory. */
const MAX_HELD_BYTES = 64 * 1024 * 1024;

/**
 * A subscription made the moment a publish is accepted, whose tags are held until the first
 * tap takes it over. The origin sets a stream up asynchronously; without this, media arriving
 * meanwhile reached it only through NMS's GOP cache (from the last keyframe on), and a file
 * published faster than real time lost seconds of its recording.
 */
class HeldSubscription {
  private held: Buffer[] = [];
  private heldBytes = 0;
  private tap: Tap | undefined;
  private claimed = false;
  private readonly detach: () => void;
  droppedBytes = 0;

  constructor(subscribe: (tap: Tap) => () => void, private readonly maxBytes: number) {
    this.detach = subscribe((tag) => this.onTag(tag));
  }

  private onTag(tag: Buffer): void {
    if (this.tap) return this.tap(tag);
    if (this.heldBytes + tag.length > this.maxBytes) {
      this.droppedBytes += tag.length;
      return;
    }
    this.held.push(tag);
    this.heldBytes += tag.length;
  }

  /** The first tap gets every held tag at once, then the live ones; later taps get undefined. */
  takeOver(tap: Tap): (() => void) | undefined {
    if (this.claimed) return undefined;
    this.claimed = true;
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    for (const tag of held) tap(tag);
    this.tap = tap;
    return this.detach;
  }

  /** Nobody will take the tags over (the stream's setup failed): drop them and unsubscribe. */
  releaseUnclaimed(): void {
    if (this.claimed) return;
    this.claimed = true;
    this.held = [];
    this.detach();
  }
}
