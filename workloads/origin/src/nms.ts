/**
 * A typed, narrow wrapper around node-media-server 4.x, which ships no usable types and has
 * traps this module exists to contain:
 * - `postPublish` still fires for a session closed in `prePublish`, so refused sessions are
 *   remembered and their later events ignored;
 * - `donePublish` is delayed by a 30 s reconnect grace, so the end of a publish is taken from
 *   the publisher's socket closing instead;
 * - EADDRINUSE calls `process.exit`, so the listen-error handler is replaced before `run()`;
 * - all state is module-global (one server per process), so only one ingest may exist at once;
 * - its RTMP parser trusts what a client sends (`new URL(tcUrl)`, reads past short messages) and
 *   throws from the socket's data handler, which would take the whole process down: every
 *   session's parsing runs inside a handler that ends only that connection (`ProtocolError`);
 * - a refused publish only saw a TCP reset: it now gets an RTMP `onStatus` error with the reason,
 *   the way encoders (FFmpeg's "Server error: …", OBS's log) display it.
 */
import { createRequire } from "node:module";
import type { Socket } from "node:net";
import { ListenError, Live360Error, TypedEmitter, type Logger } from "@live360/core";
import { readFile } from "node:fs/promises";
import { createServer as createTlsServer, type Server as TlsServer } from "node:tls";
import type { IngestLimits, RtmpsConfig } from "./config.js";

const require = createRequire(import.meta.url);

/** The fields of an NMS session that live360 reads. */
interface NmsSession {
  id: string;
  /** The session's RTMP protocol state (absent for sessions of other protocols). */
  rtmp?: { streamId: number; sendStatusMessage(streamId: number, level: string, code: string, description: string): void };
  onData?: (data: Buffer) => void;
  run(): void;
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
  sessions: Map<string, NmsSession>;
  eventEmitter: import("node:events").EventEmitter;
}

interface NmsServer {
  rtmpServer: {
    handleListenError: (name: string, port: number) => (err: NodeJS.ErrnoException) => void;
    tcpServer?: import("node:net").Server;
    _sockets: Set<Socket>;
  };
  run(): Promise<void>;
  stop(): Promise<void>;
}

type BaseSessionClass = new () => NmsSession & { sendBuffer: (b: Buffer) => void };

const NodeMediaServer = require("node-media-server") as new (config: object) => NmsServer;
const context = require("node-media-server/src/core/context.js") as NmsContext;
const BaseSession = require("node-media-server/src/session/base_session.js") as BaseSessionClass;
const RtmpSession = require("node-media-server/src/session/rtmp_session.js") as new (socket: Socket) => NmsSession;

/** The parts of NMS's RTMP parser the limits hook into (per connection: `this`). */
interface NmsRtmpParser {
  parserPacket: { header: { length: number; type: number }; payload: Buffer };
  inPackets: Map<number, unknown>;
  packetAlloc(): void;
  packetParse(): void;
  controlHandler(): void;
}
const RtmpParser = require("node-media-server/src/protocol/rtmp.js") as { prototype: NmsRtmpParser };

/** A limit a client hit; its connection is closed and the limit counted. */
export type IngestLimit =
  | "max-connections"
  | "max-connections-per-address"
  | "publish-timeout"
  | "idle-timeout"
  | "message-too-long"
  | "too-many-chunk-streams";

export class IngestLimitError extends Live360Error {
  constructor(readonly limit: IngestLimit, detail: string) {
    super(`RTMP ${limit}: ${detail}`);
    this.name = "IngestLimitError";
  }
}

const RTMP_TYPE_SET_CHUNK_SIZE = 1;
/** The limits NMS's parser checks; module-global like NMS itself (one ingest per process). */
let parserLimits: Pick<IngestLimits, "maxMessageBytes" | "maxChunkStreams"> | undefined;

/**
 * NMS allocates `length + 1024` bytes for every chunk stream a client names, from the 24-bit
 * length in the chunk header, before any key is checked; and takes any chunk size, 0 included
 * (its payload arithmetic then yields NaN). These checks run inside its parser, so what they
 * throw ends the connection through the same containment as any parse failure.
 */
function installParserLimits(): void {
  const proto = RtmpParser.prototype;
  const { packetAlloc, packetParse, controlHandler } = proto;
  proto.packetAlloc = function (this: NmsRtmpParser) {
    const length = this.parserPacket.header.length;
    if (parserLimits && length > parserLimits.maxMessageBytes) throw new IngestLimitError("message-too-long", `${length} bytes (limit ${parserLimits.maxMessageBytes})`);
    packetAlloc.call(this);
  };
  proto.packetParse = function (this: NmsRtmpParser) {
    packetParse.call(this);
    if (parserLimits && this.inPackets.size > parserLimits.maxChunkStreams) throw new IngestLimitError("too-many-chunk-streams", `more than ${parserLimits.maxChunkStreams}`);
  };
  proto.controlHandler = function (this: NmsRtmpParser) {
    if (this.parserPacket.header.type === RTMP_TYPE_SET_CHUNK_SIZE) {
      const size = this.parserPacket.header.length >= 4 ? this.parserPacket.payload.readUInt32BE(0) : 0;
      if (size < 1 || size > 0x7fffffff) throw new Live360Error(`invalid RTMP chunk size ${size}`);
    }
    controlHandler.call(this);
  };
}
installParserLimits();
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
  /** The frame rate the publisher announced (onMetaData `framerate`), if it did. */
  announcedFrameRate(): number | undefined;
  /** Disconnects the publisher (admin drop, shutdown). */
  disconnect(): void;
  /** Tells the publisher why over RTMP (an `onStatus` error), then disconnects it. */
  reject(description: string): void;
  /**
   * Attaches a media tap that receives FLV tags; returns a detach function. The first tap also
   * gets every tag since the publish was accepted.
   */
  attach(tap: Tap): () => void;
}

/** A client's bytes broke the RTMP layer; only its connection was closed. */
export interface ProtocolError {
  remoteAddress: string;
  /** The stream it published, if it got that far. */
  stream: string | undefined;
  error: Error;
}

export interface IngestEvents {
  protocolerror: [ProtocolError];
  /** A connection closed (or refused) for a resource limit. */
  limit: [{ limit: IngestLimit; remoteAddress: string; detail: string }];
  /** A publish was accepted; media follows. */
  publish: [Publisher];
  /** The publisher's connection closed (immediately, not after NMS's 30 s grace). */
  unpublish: [Publisher];
}

export type PublishDecision = { accept: true } | { accept: false; reason: string; code: RejectCode; description: string };

/** The `onStatus` codes a refused publisher is sent (the ones RTMP servers use for these cases). */
export type RejectCode = "NetStream.Publish.BadName" | "NetStream.Publish.Rejected";

/** Stops parsing a connection's bytes and closes it at once; returns its `address:port` for the log. */
function dropConnection(socket: Socket): string {
  // Read before destroy(): a destroyed socket may no longer know its peer.
  const remote = `${socket.remoteAddress ?? "unknown"}:${socket.remotePort ?? 0}`;
  socket.removeAllListeners("data");
  socket.destroy();
  return remote;
}

/** Time a rejected publisher gets to read its `onStatus` before the socket is destroyed. */
const REJECT_LINGER_MS = 1000;

/**
 * Sends an RTMP `onStatus` error and closes the connection: no byte the client sends after this
 * is parsed, and the socket is destroyed if the client does not close its side in time.
 */
function rejectSession(session: NmsSession, code: RejectCode, description: string): void {
  const socket = session.socket;
  if (!socket || socket.destroyed) return;
  socket.removeAllListeners("data");
  try {
    session.rtmp?.sendStatusMessage(session.rtmp.streamId, "error", code, description);
  } catch {
    // The status is a courtesy; the connection is closed either way.
  }
  socket.end();
  setTimeout(() => socket.destroy(), REJECT_LINGER_MS).unref();
}

let instanceActive = false;

async function readCredentials(config: RtmpsConfig): Promise<{ cert: Buffer; key: Buffer }> {
  const [cert, key] = await Promise.all([readFile(config.certFile), readFile(config.keyFile)]);
  return { cert, key };
}

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
  private tlsServer: TlsServer | undefined;
  private certificateCheck: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: { port: number; bindAddress: string; storeDir: string; logger: Logger; limits: IngestLimits; tls?: RtmpsConfig },
    private readonly authorize: (request: PublishRequest) => PublishDecision,
  ) {
    super();
    if (instanceActive) throw new Live360Error("node-media-server allows one RTMP ingest per process");
    instanceActive = true;
    parserLimits = options.limits;
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
    this.containSessions();
  }

  /**
   * Replaces NMS's connection handler with the same steps, but with each session's parsing
   * inside a try/catch: whatever a client sends, a throw ends that connection (logged and
   * counted through `protocolerror`) and never reaches the process.
   */
  private containSessions(): void {
    const tcp = this.server.rtmpServer.tcpServer;
    if (!tcp) return;
    tcp.removeAllListeners("connection");
    tcp.on("connection", (socket: Socket) => this.acceptConnection(socket));
  }

  /** Open connections per remote address, plain and TLS together. */
  private readonly perAddress = new Map<string, number>();

  /**
   * One RTMP connection, plain or (once its TLS handshake is done) RTMPS: the limits, then NMS's
   * session with its parsing contained.
   */
  private acceptConnection(socket: Socket): void {
    const rtmpServer = this.server.rtmpServer;
    const { limits } = this.options;
    const perAddress = this.perAddress;
    // A socket error (reset by the peer) is that connection's end, never an unhandled 'error'.
    socket.on("error", () => socket.destroy());
    const address = socket.remoteAddress ?? "unknown";
    const fromAddress = perAddress.get(address) ?? 0;
    const refusal =
      rtmpServer._sockets.size >= limits.maxConnections
        ? new IngestLimitError("max-connections", `${limits.maxConnections} open`)
        : fromAddress >= limits.maxConnectionsPerAddress
          ? new IngestLimitError("max-connections-per-address", `${limits.maxConnectionsPerAddress} open from ${address}`)
          : undefined;
    if (refusal) return this.closeForLimit(socket, refusal);
    rtmpServer._sockets.add(socket);
    perAddress.set(address, fromAddress + 1);
    socket.once("close", () => {
      rtmpServer._sockets.delete(socket);
      const left = (perAddress.get(address) ?? 1) - 1;
      if (left > 0) perAddress.set(address, left);
      else perAddress.delete(address);
    });
    socket.setTimeout(limits.idleTimeoutSeconds * 1000, () =>
      this.closeForLimit(socket, new IngestLimitError("idle-timeout", `nothing received for ${limits.idleTimeoutSeconds} s`)),
    );
    let session: NmsSession;
    try {
      session = new RtmpSession(socket);
      session.run();
    } catch (error) {
      this.onProtocolError(socket, undefined, error);
      return;
    }
    context.sessions.set(session.id, session);
    // Handshake, connect, createStream and publish must not take longer than this.
    const publishDeadline = setTimeout(() => {
      if (!session.isPublisher) this.closeForLimit(socket, new IngestLimitError("publish-timeout", `no publish within ${limits.publishTimeoutSeconds} s`));
    }, limits.publishTimeoutSeconds * 1000);
    publishDeadline.unref();
    socket.once("close", () => clearTimeout(publishDeadline));
    const parse = session.onData;
    if (!parse) return;
    socket.removeListener("data", parse);
    socket.on("data", (data: Buffer) => {
      try {
        parse(data);
      } catch (error) {
        this.onProtocolError(socket, session, error);
      }
    });
  }

  /**
   * RTMPS: a TLS listener whose connections, once the handshake is done, are RTMP connections
   * like any other (same limits, same contained parsing). Before the handshake a client is held
   * to the publish timeout and the connection cap; a failed handshake ends that connection only.
   */
  private async startTls(tlsConfig: RtmpsConfig): Promise<void> {
    const { limits, logger } = this.options;
    const credentials = await readCredentials(tlsConfig);
    const server = createTlsServer({ ...credentials, handshakeTimeout: limits.publishTimeoutSeconds * 1000 });
    server.maxConnections = limits.maxConnections;
    server.on("secureConnection", (socket) => this.acceptConnection(socket));
    server.on("tlsClientError", (error, socket) => {
      this.emit("protocolerror", { remoteAddress: dropConnection(socket), stream: undefined, error: new Error(`TLS handshake failed: ${error.message}`) });
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", (err) => reject(new ListenError("RTMPS", tlsConfig.port, err)));
      server.listen(tlsConfig.port, this.options.bindAddress, () => resolve());
    });
    server.on("error", (err) => logger.warn("RTMPS listener error", { error: err }));
    this.tlsServer = server;
    // A renewed certificate (cert-manager rewrites the mounted Secret) is taken without a restart;
    // connections already open keep theirs.
    let current = credentials;
    this.certificateCheck = setInterval(() => {
      void readCredentials(tlsConfig).then(
        (next) => {
          if (next.cert.equals(current.cert) && next.key.equals(current.key)) return;
          server.setSecureContext(next);
          current = next;
          logger.info("RTMPS certificate reloaded", { certFile: tlsConfig.certFile });
        },
        (error: unknown) => logger.warn("RTMPS certificate unreadable; keeping the previous one", { error }),
      );
    }, tlsConfig.reloadIntervalSeconds * 1000);
    this.certificateCheck.unref();
  }

  private closeForLimit(socket: Socket, error: IngestLimitError): void {
    this.emit("limit", { limit: error.limit, remoteAddress: dropConnection(socket), detail: error.message });
  }

  private onProtocolError(socket: Socket, session: NmsSession | undefined, error: unknown): void {
    if (error instanceof IngestLimitError) return this.closeForLimit(socket, error);
    this.emit("protocolerror", {
      remoteAddress: dropConnection(socket),
      stream: session?.streamName || undefined,
      error: error instanceof Error ? error : new Error(String(error)),
    });
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
    if (this.options.tls) await this.startTls(this.options.tls);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.certificateCheck);
    // Stop taking TLS connections; the open ones are NMS sessions, closed with the rest below.
    this.tlsServer?.close();
    for (const publisher of this.publishers.values()) publisher.disconnect();
    await this.server.stop();
    for (const [event, listener] of this.listeners) context.eventEmitter.off(event, listener);
    instanceActive = false;
    parserLimits = undefined;
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
      // No further bytes of this publisher are parsed or broadcast; it is told why first.
      rejectSession(session, decision.code, decision.description);
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
    /**
     * `fromNow`: only what the publisher sends from here on. NMS replays its cached metadata,
     * codec headers and GOP to a new subscriber (inside postPlay), and it keeps that cache
     * across a reconnect from the same address: at publish time the cache is the previous
     * publisher's, whose headers opened the new recording and corrupted it when the encoder
     * came back with other parameters.
     */
    const subscribe = (tap: Tap, fromNow: boolean): (() => void) => {
      const subscriber = new BaseSession();
      subscriber.protocol = "flv";
      let replaying = fromNow;
      // NMS starts every FLV subscription with a file header; the contract here is tags only.
      subscriber.sendBuffer = (buffer) => {
        if (!replaying && !isFlvFileHeader(buffer)) tap(buffer);
      };
      broadcast.postPlay(subscriber);
      replaying = false;
      return () => broadcast.donePlay(subscriber);
    };
    const log = this.options.logger;
    // A tap that throws (a bug in how live360 handles some input) ends this stream only.
    const held = new HeldSubscription((tap) => subscribe(tap, true), MAX_HELD_BYTES, (error) => this.onProtocolError(session.socket!, session, error));
    return {
      sessionId: session.id,
      app: session.streamApp,
      stream: session.streamName,
      key: undefined,
      remoteAddress: session.ip,
      bytesReceived: () => session.inBytes,
      // NMS keeps whatever number the metadata held (0 before any); the caller checks its range.
      announcedFrameRate: () => (typeof session.videoFramerate === "number" && session.videoFramerate > 0 ? session.videoFramerate : undefined),
      disconnect: () => {
        session.socket?.destroy();
        held.releaseUnclaimed();
      },
      reject: (description) => {
        rejectSession(session, "NetStream.Publish.Rejected", description);
        held.releaseUnclaimed();
      },
      attach: (tap) => {
        const detach = held.takeOver(tap);
        if (held.droppedBytes > 0) log.warn("media arrived faster than the stream was set up; some was dropped", { stream: session.streamName, droppedBytes: held.droppedBytes });
        return detach ?? subscribe(tap, false);
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
  private failed = false;
  private readonly detach: () => void;
  droppedBytes = 0;

  constructor(
    subscribe: (tap: Tap) => () => void,
    private readonly maxBytes: number,
    private readonly onTapError: (error: unknown) => void,
  ) {
    this.detach = subscribe((tag) => this.onTag(tag));
  }

  private onTag(tag: Buffer): void {
    if (this.tap) {
      this.deliver(this.tap, tag);
      return;
    }
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
    for (const tag of held) if (!this.deliver(tap, tag)) break;
    this.tap = tap;
    return this.detach;
  }

  /** False when the tap threw: the stream is being ended, the rest is not delivered. */
  private deliver(tap: Tap, tag: Buffer): boolean {
    if (this.failed) return false;
    try {
      tap(tag);
      return true;
    } catch (error) {
      this.failed = true;
      this.onTapError(error);
      return false;
    }
  }

  /** Nobody will take the tags over (the stream's setup failed): drop them and unsubscribe. */
  releaseUnclaimed(): void {
    if (this.claimed) return;
    this.claimed = true;
    this.held = [];
    this.detach();
  }
}
