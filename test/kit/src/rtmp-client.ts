/**
 * A minimal RTMP publisher for tests that must send what real encoders never would: it does
 * the handshake and the connect/createStream/publish commands like an encoder, then sends
 * whatever audio, video and raw bytes a test hands it, including malformed ones. It reads the
 * server's messages back, so a test can check the `onStatus` a refused publisher is sent.
 */
import { connect, type Socket } from "node:net";
import { once } from "node:events";

const HANDSHAKE_SIZE = 1536;
const TYPE_SET_CHUNK_SIZE = 1;
const TYPE_AUDIO = 8;
const TYPE_VIDEO = 9;
const TYPE_DATA_AMF0 = 18;
const TYPE_COMMAND_AMF0 = 20;
/** What this client sends in one chunk: large, so most media messages go in one. */
const OUT_CHUNK_SIZE = 65536;

export type Amf0Value = number | boolean | string | null | undefined | { [key: string]: Amf0Value } | Amf0Value[];

export function encodeAmf0(value: Amf0Value): Buffer {
  if (typeof value === "number") {
    const b = Buffer.alloc(9);
    b[0] = 0;
    b.writeDoubleBE(value, 1);
    return b;
  }
  if (typeof value === "boolean") return Buffer.from([1, value ? 1 : 0]);
  if (typeof value === "string") return Buffer.concat([Buffer.from([2]), shortString(value)]);
  if (value === null) return Buffer.from([5]);
  if (value === undefined) return Buffer.from([6]);
  if (Array.isArray(value)) {
    const head = Buffer.alloc(5);
    head[0] = 10;
    head.writeUInt32BE(value.length, 1);
    return Buffer.concat([head, ...value.map(encodeAmf0)]);
  }
  const parts: Buffer[] = [Buffer.from([3])];
  for (const [key, v] of Object.entries(value)) parts.push(shortString(key), encodeAmf0(v));
  parts.push(Buffer.from([0, 0, 9]));
  return Buffer.concat(parts);
}

function shortString(s: string): Buffer {
  const text = Buffer.from(s, "utf8");
  const len = Buffer.alloc(2);
  len.writeUInt16BE(text.length);
  return Buffer.concat([len, text]);
}

/** Decodes AMF0 values until the buffer ends (enough for the commands a server sends). */
export function decodeAmf0(buffer: Buffer): Amf0Value[] {
  let offset = 0;
  const readString = (): string => {
    const len = buffer.readUInt16BE(offset);
    offset += 2;
    const s = buffer.toString("utf8", offset, offset + len);
    offset += len;
    return s;
  };
  const readObject = (): Record<string, Amf0Value> => {
    const obj: Record<string, Amf0Value> = {};
    for (;;) {
      const key = readString();
      if (key === "" && buffer[offset] === 9) {
        offset += 1;
        return obj;
      }
      obj[key] = readValue();
    }
  };
  const readValue = (): Amf0Value => {
    const marker = buffer[offset++];
    switch (marker) {
      case 0: {
        const n = buffer.readDoubleBE(offset);
        offset += 8;
        return n;
      }
      case 1:
        return buffer[offset++] !== 0;
      case 2:
        return readString();
      case 3:
        return readObject();
      case 5:
        return null;
      case 6:
        return undefined;
      case 8:
        offset += 4;
        return readObject();
      default:
        throw new Error(`AMF0 marker ${marker} not supported by the test client`);
    }
  };
  const values: Amf0Value[] = [];
  while (offset < buffer.length) values.push(readValue());
  return values;
}

export interface RtmpMessage {
  type: number;
  streamId: number;
  timestamp: number;
  payload: Buffer;
}

/** Reassembles the server's chunk stream into messages. */
class ChunkReader {
  private buffer = Buffer.alloc(0);
  private chunkSize = 128;
  private readonly streams = new Map<number, { timestamp: number; length: number; type: number; streamId: number; parts: Buffer[]; received: number }>();

  constructor(private readonly onMessage: (message: RtmpMessage) => void) {}

  push(data: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, data]);
    while (this.readChunk());
  }

  private readChunk(): boolean {
    const b = this.buffer;
    if (b.length < 1) return false;
    const fmt = b[0]! >> 6;
    let csid = b[0]! & 0x3f;
    let offset = 1;
    if (csid === 0) {
      if (b.length < 2) return false;
      csid = 64 + b[1]!;
      offset = 2;
    } else if (csid === 1) {
      if (b.length < 3) return false;
      csid = 64 + b[1]! + b[2]! * 256;
      offset = 3;
    }
    const headerSize = [11, 7, 3, 0][fmt]!;
    if (b.length < offset + headerSize) return false;
    const state = this.streams.get(csid) ?? { timestamp: 0, length: 0, type: 0, streamId: 0, parts: [], received: 0 };
    let timestamp = state.timestamp;
    let extended = false;
    if (fmt <= 2) {
      timestamp = b.readUIntBE(offset, 3);
      extended = timestamp === 0xffffff;
    }
    const length = fmt <= 1 ? b.readUIntBE(offset + 3, 3) : state.length;
    const type = fmt <= 1 ? b[offset + 6]! : state.type;
    const streamId = fmt === 0 ? b.readUInt32LE(offset + 7) : state.streamId;
    offset += headerSize;
    if (extended) {
      if (b.length < offset + 4) return false;
      timestamp = b.readUInt32BE(offset);
      offset += 4;
    }
    const take = Math.min(this.chunkSize, length - state.received);
    if (b.length < offset + take) return false;
    state.timestamp = timestamp;
    state.length = length;
    state.type = type;
    state.streamId = streamId;
    state.parts.push(b.subarray(offset, offset + take));
    state.received += take;
    this.streams.set(csid, state);
    this.buffer = b.subarray(offset + take);
    if (state.received >= length) {
      const payload = Buffer.concat(state.parts);
      state.parts = [];
      state.received = 0;
      if (type === TYPE_SET_CHUNK_SIZE) this.chunkSize = payload.readUInt32BE(0) & 0x7fffffff;
      this.onMessage({ type, streamId, timestamp, payload });
    }
    return true;
  }
}

export interface RtmpStatus {
  level: string;
  code: string;
  description: string;
}

/** An RTMP publisher connection. */
export class RtmpTestClient {
  private readonly received: RtmpMessage[] = [];
  private readonly waiters: (() => void)[] = [];
  private transactionId = 0;
  private streamId = 0;
  /** Resolves when the server closes the connection (or it fails). */
  readonly closed: Promise<void>;

  private constructor(private readonly socket: Socket) {
    const reader = new ChunkReader((message) => {
      this.received.push(message);
      for (const wake of this.waiters.splice(0)) wake();
    });
    let handshakeLeft = 1 + 2 * HANDSHAKE_SIZE;
    socket.on("data", (data: Buffer) => {
      if (handshakeLeft > 0) {
        const skip = Math.min(handshakeLeft, data.length);
        handshakeLeft -= skip;
        data = data.subarray(skip);
      }
      if (data.length > 0) reader.push(data);
    });
    this.closed = new Promise((resolve) => {
      socket.once("close", () => {
        for (const wake of this.waiters.splice(0)) wake();
        resolve();
      });
    });
    socket.on("error", () => undefined);
  }

  /** Connects and completes the (simple) handshake. */
  static async connect(port: number, options: { host?: string; localAddress?: string } = {}): Promise<RtmpTestClient> {
    const socket = connect({ port, host: options.host ?? "127.0.0.1", localAddress: options.localAddress });
    await once(socket, "connect");
    const client = new RtmpTestClient(socket);
    const c1 = Buffer.alloc(HANDSHAKE_SIZE);
    // time, then zeros: the simple (non-digest) handshake, echoed back as C2.
    c1.writeUInt32BE(0, 0);
    const s1 = new Promise<Buffer>((resolve) => {
      let got = Buffer.alloc(0);
      const onData = (d: Buffer): void => {
        got = Buffer.concat([got, d]);
        if (got.length >= 1 + HANDSHAKE_SIZE) {
          socket.removeListener("data", onData);
          resolve(got.subarray(1, 1 + HANDSHAKE_SIZE));
        }
      };
      socket.on("data", onData);
    });
    socket.write(Buffer.concat([Buffer.from([3]), c1]));
    socket.write(await s1);
    client.writeMessage(2, TYPE_SET_CHUNK_SIZE, 0, 0, Buffer.from([0, 1, 0, 0]));
    return client;
  }

  get isClosed(): boolean {
    return this.socket.destroyed || this.socket.readableEnded;
  }

  /** The message stream id the server gave at createStream (0 before): media messages carry it. */
  get messageStreamId(): number {
    return this.streamId;
  }

  /** connect + createStream + publish; resolves with the publish's `onStatus` (or undefined if the server hung up). */
  async publish(app: string, stream: string, options: { tcUrl?: Amf0Value; port?: number } = {}): Promise<RtmpStatus | undefined> {
    const tcUrl = "tcUrl" in options ? options.tcUrl : `rtmp://127.0.0.1:${options.port ?? 1935}/${app}`;
    this.command(0, "connect", { app, type: "nonprivate", flashVer: "FMLE/3.0 (compatible; live360-test)", tcUrl });
    const created = this.command(0, "createStream", null);
    const result = await this.waitFor((m) => m.type === TYPE_COMMAND_AMF0 && decodeAmf0(m.payload)[0] === "_result" && decodeAmf0(m.payload)[1] === created);
    this.streamId = result ? Number(decodeAmf0(result.payload)[3] ?? 1) : 1;
    this.command(this.streamId, "publish", null, stream, "live");
    return this.nextStatus((s) => s.code.startsWith("NetStream.Publish."));
  }

  /** The next `onStatus` matching `accept` (already received or still to come), or undefined on close/timeout. */
  async nextStatus(accept: (status: RtmpStatus) => boolean = () => true, timeoutMs = 10_000): Promise<RtmpStatus | undefined> {
    const message = await this.waitFor((m) => {
      const status = statusOf(m);
      return status !== undefined && accept(status);
    }, timeoutMs);
    return message && statusOf(message);
  }

  /** Every `onStatus` received so far. */
  statuses(): RtmpStatus[] {
    return this.received.map(statusOf).filter((s): s is RtmpStatus => s !== undefined);
  }

  private async waitFor(match: (m: RtmpMessage) => boolean, timeoutMs = 10_000): Promise<RtmpMessage | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.received.find(match);
      if (found) return found;
      if (this.isClosed || Date.now() > deadline) return undefined;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  private command(streamId: number, name: string, ...args: Amf0Value[]): number {
    const id = ++this.transactionId;
    this.writeMessage(3, TYPE_COMMAND_AMF0, streamId, 0, Buffer.concat([encodeAmf0(name), encodeAmf0(id), ...args.map(encodeAmf0)]));
    return id;
  }

  sendMetadata(values: Record<string, Amf0Value>): void {
    this.writeMessage(4, TYPE_DATA_AMF0, this.streamId, 0, Buffer.concat([encodeAmf0("@setDataFrame"), encodeAmf0("onMetaData"), encodeAmf0(values)]));
  }

  sendVideo(timestampMs: number, body: Buffer): void {
    this.writeMessage(6, TYPE_VIDEO, this.streamId, timestampMs, body);
  }

  sendAudio(timestampMs: number, body: Buffer): void {
    this.writeMessage(4, TYPE_AUDIO, this.streamId, timestampMs, body);
  }

  /** Bytes as they are, for chunk-level abuse. */
  sendRaw(bytes: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  /** One message in chunks of OUT_CHUNK_SIZE (see encodeRtmpMessage). */
  writeMessage(csid: number, type: number, streamId: number, timestampMs: number, payload: Buffer): void {
    this.sendRaw(encodeRtmpMessage(csid, type, streamId, timestampMs, payload));
  }

  async close(): Promise<void> {
    this.socket.end();
    const timer = setTimeout(() => this.socket.destroy(), 1000);
    await this.closed;
    clearTimeout(timer);
  }
}

/**
 * One RTMP message as this client writes it, in chunks of OUT_CHUNK_SIZE (the size it announces
 * after the handshake): a type-0 header, then type-3 continuations. Pure, so a test can build
 * the bytes of a session before sending them (the fuzz harness saves and replays them).
 */
export function encodeRtmpMessage(csid: number, type: number, streamId: number, timestampMs: number, payload: Buffer): Buffer {
  const extended = timestampMs >= 0xffffff;
  const header = Buffer.alloc(12 + (extended ? 4 : 0));
  header[0] = csid & 0x3f;
  header.writeUIntBE(extended ? 0xffffff : timestampMs, 1, 3);
  header.writeUIntBE(payload.length, 4, 3);
  header[7] = type;
  header.writeUInt32LE(streamId, 8);
  if (extended) header.writeUInt32BE(timestampMs >>> 0, 12);
  const parts: Buffer[] = [header];
  for (let offset = 0; offset < payload.length; offset += OUT_CHUNK_SIZE) {
    // A continuation repeats the extended timestamp (RTMP spec 5.3.1.3).
    if (offset > 0) parts.push(Buffer.from([0xc0 | (csid & 0x3f)]), header.subarray(12));
    parts.push(payload.subarray(offset, offset + OUT_CHUNK_SIZE));
  }
  return Buffer.concat(parts);
}

function statusOf(message: RtmpMessage): RtmpStatus | undefined {
  if (message.type !== TYPE_COMMAND_AMF0) return undefined;
  let values: Amf0Value[];
  try {
    values = decodeAmf0(message.payload);
  } catch {
    return undefined;
  }
  const info = values[3];
  if (values[0] !== "onStatus" || typeof info !== "object" || info === null || Array.isArray(info)) return undefined;
  return { level: String(info.level), code: String(info.code), description: String(info.description ?? "") };
}

/** One tag of an FLV file: what an RTMP publisher sends as one audio, video or data message. */
export interface FlvFileTag {
  type: number;
  timestampMs: number;
  body: Buffer;
}

/** The tags of an FLV file (a clip FFmpeg made), for replaying through RtmpTestClient. */
export async function readFlvTags(file: string): Promise<FlvFileTag[]> {
  const { readFile } = await import("node:fs/promises");
  const data = await readFile(file);
  if (data.toString("latin1", 0, 3) !== "FLV") throw new Error(`${file} is not an FLV file`);
  const tags: FlvFileTag[] = [];
  let offset = data.readUInt32BE(5) + 4;
  while (offset + 11 <= data.length) {
    const size = data.readUIntBE(offset + 1, 3);
    if (offset + 11 + size > data.length) break;
    const timestampMs = ((data[offset + 7]! << 24) | data.readUIntBE(offset + 4, 3)) >>> 0;
    tags.push({ type: data[offset]!, timestampMs, body: data.subarray(offset + 11, offset + 11 + size) });
    offset += 11 + size + 4;
  }
  return tags;
}

/**
 * One FLV tag as the RTMP message a publisher sends (video 9 on chunk stream 6, audio 8 and
 * script data 18 on 4), optionally shifted in time; empty for any other tag type.
 */
export function encodeFlvTag(tag: FlvFileTag, streamId: number, offsetMs = 0): Buffer {
  const ts = tag.timestampMs + offsetMs;
  if (tag.type === TYPE_VIDEO) return encodeRtmpMessage(6, TYPE_VIDEO, streamId, ts, tag.body);
  if (tag.type === TYPE_AUDIO) return encodeRtmpMessage(4, TYPE_AUDIO, streamId, ts, tag.body);
  if (tag.type === TYPE_DATA_AMF0) return encodeRtmpMessage(4, TYPE_DATA_AMF0, streamId, ts, tag.body);
  return Buffer.alloc(0);
}

/** Sends FLV tags as RTMP messages (video 9, audio 8, script data 18), optionally shifted in time. */
export function sendFlvTags(client: RtmpTestClient, tags: readonly FlvFileTag[], offsetMs = 0): void {
  for (const tag of tags) {
    const message = encodeFlvTag(tag, client.messageStreamId, offsetMs);
    if (message.length > 0) client.sendRaw(message);
  }
}

/**
 * Sends FLV tags paced like a live encoder: each when the wall clock reaches its timestamp
 * (divided by `speed`), counted from the call. Resolves after the last tag.
 */
export async function sendFlvTagsLive(client: RtmpTestClient, tags: readonly FlvFileTag[], offsetMs = 0, speed = 1): Promise<void> {
  const startedAt = Date.now();
  const firstMs = tags[0]?.timestampMs ?? 0;
  for (const tag of tags) {
    const dueIn = (tag.timestampMs - firstMs) / speed - (Date.now() - startedAt);
    if (dueIn > 0) await new Promise((resolve) => setTimeout(resolve, dueIn));
    if (client.isClosed) return;
    sendFlvTags(client, [tag], offsetMs);
  }
}
