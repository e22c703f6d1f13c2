import { randomBytes } from "node:crypto";
import { mkdir, readFile, readdir, rename, rm, stat, unlink } from "node:fs/promises";
import path from "node:path";
import { sleep } from "../backoff.js";
import { syncDirectory, writeFileAtomic } from "../atomic-file.js";
import {
  MAX_DELAY_SECONDS,
  MAX_RECEIVE_BATCH,
  MAX_VISIBILITY_TIMEOUT_SECONDS,
  MAX_WAIT_TIME_SECONDS,
  QueueArgumentError,
  ReceiptHandleInvalidError,
  checkRange,
  type JobQueue,
  type QueueCounts,
  type QueueMessage,
  type ReceiveOptions,
  type SendOptions,
} from "./queue.js";

export interface FileQueueOptions {
  /** The queue's directory; created if missing. */
  dir: string;
  /** How long a received message stays hidden unless the receive says otherwise. SQS's default is 30 s. */
  visibilityTimeoutSeconds?: number;
  /** Like an SQS redrive policy. The dead-letter directory must be on the same filesystem. */
  deadLetter?: { dir: string; maxReceiveCount: number };
}

export const DEFAULT_VISIBILITY_TIMEOUT_SECONDS = 30;
/** SQS's message size limit, kept locally so local mode does not accept what SQS would refuse. */
export const MAX_MESSAGE_BYTES = 256 * 1024;
/** SQS's limit for a redrive policy's maxReceiveCount. */
const MAX_RECEIVE_COUNT = 1000;
/** How often a long poll looks for messages that arrived or became visible again. */
const POLL_INTERVAL_MS = 100;
/** Temporary files older than this were left by a crash and are removed when the queue opens. */
const STALE_PARTIAL_MS = 60 * 60 * 1000;

/**
 * A durable JobQueue in a directory, for `live360 local`, with SQS's semantics and no server.
 *
 * Each message is one file in `messages/` holding the body; its state lives in the file's name:
 *
 *   <id>.<receiveCount>.<receipt nonce>.<visibleAtMs>      id = <sentAtMs, 13 digits>-<random>
 *
 * Every state change is a single rename() of that file, which POSIX makes atomic, so any number
 * of processes can share the queue without a lock: when two consumers race for a message, the
 * rename succeeds for exactly one and the other gets ENOENT and moves on. A receive that expired
 * (the consumer died) is taken over the same way. A crash at any point leaves either the old name
 * or the new one, never a torn message; new files are flushed and renamed into place.
 * Failure reasons live in `notes/<id>.json` beside the messages.
 */
export class FileQueue implements JobQueue {
  readonly name: string;

  private constructor(
    private readonly dir: string,
    private readonly visibilityTimeoutSeconds: number,
    private readonly deadLetter: { queue: FileQueue; maxReceiveCount: number } | undefined,
  ) {
    this.name = dir;
  }

  static async open(options: FileQueueOptions): Promise<FileQueue> {
    const visibility = checkRange(
      "visibilityTimeoutSeconds",
      options.visibilityTimeoutSeconds ?? DEFAULT_VISIBILITY_TIMEOUT_SECONDS,
      0,
      MAX_VISIBILITY_TIMEOUT_SECONDS,
    );
    await prepareDirectories(options.dir);
    let deadLetter: { queue: FileQueue; maxReceiveCount: number } | undefined;
    if (options.deadLetter) {
      const maxReceiveCount = checkRange("deadLetter.maxReceiveCount", options.deadLetter.maxReceiveCount, 1, MAX_RECEIVE_COUNT);
      const queue = await FileQueue.open({ dir: options.deadLetter.dir });
      // Dead-lettering is a rename between the two directories, which only works within a filesystem.
      const [source, target] = await Promise.all([stat(options.dir), stat(options.deadLetter.dir)]);
      if (source.dev !== target.dev) {
        throw new QueueArgumentError(`dead-letter directory ${options.deadLetter.dir} must be on the same filesystem as ${options.dir}`);
      }
      deadLetter = { queue, maxReceiveCount };
    }
    return new FileQueue(options.dir, visibility, deadLetter);
  }

  async send(body: string, options: SendOptions = {}): Promise<{ id: string }> {
    const delay = checkRange("delaySeconds", options.delaySeconds ?? 0, 0, MAX_DELAY_SECONDS);
    const bytes = Buffer.byteLength(body);
    if (bytes > MAX_MESSAGE_BYTES) throw new QueueArgumentError(`message is ${bytes} bytes; the limit is ${MAX_MESSAGE_BYTES}`);
    const now = Date.now();
    const id = `${String(now).padStart(13, "0")}-${randomBytes(8).toString("hex")}`;
    await writeFileAtomic(this.messagePath(formatName({ id, receiveCount: 0, nonce: "0", visibleAt: now + delay * 1000 })), body);
    return { id };
  }

  async receive(options: ReceiveOptions = {}): Promise<QueueMessage[]> {
    const max = checkRange("maxMessages", options.maxMessages ?? 1, 1, MAX_RECEIVE_BATCH);
    const wait = checkRange("waitTimeSeconds", options.waitTimeSeconds ?? 0, 0, MAX_WAIT_TIME_SECONDS);
    const visibility = checkRange(
      "visibilityTimeoutSeconds",
      options.visibilityTimeoutSeconds ?? this.visibilityTimeoutSeconds,
      0,
      MAX_VISIBILITY_TIMEOUT_SECONDS,
    );
    const deadline = Date.now() + wait * 1000;
    while (!options.signal?.aborted) {
      const messages = await this.claim(max, visibility);
      const left = deadline - Date.now();
      if (messages.length > 0 || left <= 0) return messages;
      await sleep(Math.min(POLL_INTERVAL_MS, left), options.signal);
    }
    return [];
  }

  async changeVisibility(receiptHandle: string, timeoutSeconds: number): Promise<void> {
    const timeout = checkRange("timeoutSeconds", timeoutSeconds, 0, MAX_VISIBILITY_TIMEOUT_SECONDS);
    const current = await this.locate(receiptHandle);
    try {
      await rename(this.messagePath(formatName(current)), this.messagePath(formatName({ ...current, visibleAt: Date.now() + timeout * 1000 })));
    } catch (error) {
      throw this.lostRace(error, receiptHandle);
    }
    await syncDirectory(this.messagesDirectory());
  }

  async release(receiptHandle: string, options: { reason: string; retryAfterSeconds?: number }): Promise<void> {
    const current = await this.locate(receiptHandle);
    await this.writeNote(current.id, { ...(await this.readNote(current.id)), lastFailure: options.reason });
    await this.changeVisibility(receiptHandle, options.retryAfterSeconds ?? 0);
  }

  async delete(receiptHandle: string): Promise<void> {
    const current = await this.locate(receiptHandle);
    try {
      await unlink(this.messagePath(formatName(current)));
    } catch (error) {
      throw this.lostRace(error, receiptHandle);
    }
    await rm(this.notePath(current.id), { force: true });
    await syncDirectory(this.messagesDirectory());
  }

  async counts(): Promise<QueueCounts> {
    const now = Date.now();
    const counts: QueueCounts = { visible: 0, inFlight: 0, delayed: 0 };
    for (const entry of await this.entries()) {
      if (entry.visibleAt <= now) counts.visible++;
      else if (entry.receiveCount > 0) counts.inFlight++;
      else counts.delayed++;
    }
    return counts;
  }

  deadLetterQueue(): Promise<JobQueue | undefined> {
    return Promise.resolve(this.deadLetter?.queue);
  }

  /** Takes up to `max` visible messages, oldest first, dead-lettering those received too often. */
  private async claim(max: number, visibilitySeconds: number): Promise<QueueMessage[]> {
    const now = Date.now();
    const visible = (await this.entries()).filter((entry) => entry.visibleAt <= now).sort((a, b) => (a.id < b.id ? -1 : 1));
    const claimed: QueueMessage[] = [];
    for (const entry of visible) {
      if (claimed.length >= max) break;
      if (this.deadLetter && entry.receiveCount >= this.deadLetter.maxReceiveCount) {
        await this.moveToDeadLetter(entry, this.deadLetter);
        continue;
      }
      const next: MessageName = { id: entry.id, receiveCount: entry.receiveCount + 1, nonce: randomBytes(8).toString("hex"), visibleAt: now + visibilitySeconds * 1000 };
      try {
        await rename(this.messagePath(formatName(entry)), this.messagePath(formatName(next)));
      } catch (error) {
        if (isMissing(error)) continue; // another consumer took it first
        throw error;
      }
      const body = await readFile(this.messagePath(formatName(next)), "utf8").catch((error: unknown) => {
        // Received with a zero visibility timeout, it may already belong to someone else.
        if (isMissing(error)) return undefined;
        throw error;
      });
      if (body === undefined) continue;
      const note = await this.readNote(entry.id);
      claimed.push({
        id: entry.id,
        receiptHandle: receiptHandle(next),
        body,
        receiveCount: next.receiveCount,
        sentAt: new Date(Number(entry.id.slice(0, 13))),
        ...(note.deadLetterReason === undefined ? {} : { deadLetterReason: note.deadLetterReason }),
      });
    }
    if (claimed.length > 0) await syncDirectory(this.messagesDirectory());
    return claimed;
  }

  private async moveToDeadLetter(entry: MessageName, deadLetter: { queue: FileQueue; maxReceiveCount: number }): Promise<void> {
    const { lastFailure } = await this.readNote(entry.id);
    const reason = `received ${entry.receiveCount} times (maxReceiveCount ${deadLetter.maxReceiveCount})${lastFailure ? `; last failure: ${lastFailure}` : ""}`;
    // The reason is written first so a dead-lettered message is never without one. If another
    // consumer wins the rename below, the note is an orphan that the next dead-lettering of this id overwrites.
    await deadLetter.queue.writeNote(entry.id, { deadLetterReason: reason });
    try {
      await rename(this.messagePath(formatName(entry)), deadLetter.queue.messagePath(formatName({ ...entry, nonce: "0", visibleAt: Date.now() })));
    } catch (error) {
      if (isMissing(error)) return;
      throw error;
    }
    await syncDirectory(deadLetter.queue.messagesDirectory());
    await syncDirectory(this.messagesDirectory());
    await rm(this.notePath(entry.id), { force: true });
  }

  /** The message's current state, if `handle` is still its latest receive. */
  private async locate(handle: string): Promise<MessageName> {
    const id = handle.split(".")[0] ?? "";
    const current = (await this.entries()).find((entry) => entry.id === id);
    if (current === undefined) throw new ReceiptHandleInvalidError(handle, "the message was deleted or dead-lettered");
    if (receiptHandle(current) !== handle || current.receiveCount === 0) {
      throw new ReceiptHandleInvalidError(handle, "the message was received again since");
    }
    return current;
  }

  private lostRace(error: unknown, handle: string): Error {
    if (isMissing(error)) return new ReceiptHandleInvalidError(handle, "the message was received again or deleted meanwhile", { cause: error });
    return error as Error;
  }

  private async entries(): Promise<MessageName[]> {
    const entries: MessageName[] = [];
    for (const name of await readdir(this.messagesDirectory())) {
      const parsed = parseName(name);
      if (parsed) entries.push(parsed);
    }
    return entries;
  }

  private async readNote(id: string): Promise<Note> {
    try {
      return JSON.parse(await readFile(this.notePath(id), "utf8")) as Note;
    } catch (error) {
      if (isMissing(error)) return {};
      throw error;
    }
  }

  private async writeNote(id: string, note: Note): Promise<void> {
    await writeFileAtomic(this.notePath(id), JSON.stringify(note));
  }

  private messagesDirectory(): string {
    return path.join(this.dir, "messages");
  }

  private messagePath(name: string): string {
    return path.join(this.dir, "messages", name);
  }

  private notePath(id: string): string {
    return path.join(this.dir, "notes", `${id}.json`);
  }
}

interface MessageName {
  id: string;
  receiveCount: number;
  /** New for every receive, so an old receive's handle stops matching. "0" before the first receive. */
  nonce: string;
  visibleAt: number;
}

interface Note {
  lastFailure?: string;
  deadLetterReason?: string;
}

const MESSAGE_NAME = /^(\d{13}-[0-9a-f]{16})\.(\d+)\.([0-9a-f]+)\.(\d+)$/;

function parseName(name: string): MessageName | undefined {
  const match = MESSAGE_NAME.exec(name);
  if (!match) return undefined;
  const [, id = "", receiveCount = "", nonce = "", visibleAt = ""] = match;
  return { id, receiveCount: Number(receiveCount), nonce, visibleAt: Number(visibleAt) };
}

function formatName(name: MessageName): string {
  return `${name.id}.${name.receiveCount}.${name.nonce}.${name.visibleAt}`;
}

/** Stable across visibility changes, different for every receive: like an SQS receipt handle. */
function receiptHandle(name: MessageName): string {
  return `${name.id}.${name.receiveCount}.${name.nonce}`;
}

async function prepareDirectories(dir: string): Promise<void> {
  for (const sub of ["messages", "notes"]) {
    const directory = path.join(dir, sub);
    await mkdir(directory, { recursive: true });
    // Temporary files of writes interrupted by a crash (see writeFileAtomic).
    for (const name of await readdir(directory)) {
      if (!name.endsWith(".partial")) continue;
      const file = path.join(directory, name);
      const stats = await stat(file).catch(() => undefined);
      if (stats && Date.now() - stats.mtimeMs > STALE_PARTIAL_MS) await rm(file, { force: true });
    }
  }
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === "ENOENT";
}
