import { createHash } from "node:crypto";
import {
  Backoff,
  InvalidJobMessageError,
  Live360Error,
  ReceiptHandleInvalidError,
  isValidStreamName,
  parseJobMessage,
  sleep,
  transcodeDeadlineSeconds,
  type JobQueue,
  type Logger,
  type QueueMessage,
} from "@live360/core";
import { ACTIVE_DEADLINE_SECONDS, API_VERSION, DEFAULT_BACKOFF_LIMIT, VOD_JOB, type HlsEncryption, type VodJob, type VodJobSpecInput } from "../api/v1alpha1/index.js";
import { MANAGED_BY } from "../liveevent/names.js";
import type { VodJobSettings } from "./settings.js";

/** A VodJob as the poller creates it: what the operator's settings leave unset takes the CRD's defaults. */
export interface VodJobManifest {
  apiVersion: string;
  kind: typeof VOD_JOB.kind;
  metadata: { name: string; namespace: string; labels: Record<string, string>; finalizers: string[] };
  spec: Pick<VodJobSpecInput, "source" | "hls" | "resources" | "capacityType" | "nodeSelector" | "activeDeadlineSeconds" | "ttlSecondsAfterFinished">;
}

export const STREAM_LABEL = "live360.io/stream";
/**
 * On a VodJob made from a queue message: the VodJob stays until its message is settled. Deleting it
 * by hand means "do not transcode this": the message is deleted rather than left to come back after
 * its visibility timeout and make the VodJob again (the recording stays in the ingest bucket).
 */
export const QUEUE_LEASE_FINALIZER = "live360.io/queue-lease";
/**
 * Long poll. Never aborted: a receive the client abandons can still take messages on the server,
 * hiding them for a visibility timeout and spending one of their receives. So this also bounds
 * how long a stopping operator waits for its last receive.
 */
const WAIT_TIME_SECONDS = 10;
/** A message that cannot become a VodJob comes back after this, doubled per receive, until the dead-letter queue takes it. */
const RETRY_DELAY_SECONDS = 5;
const MAX_RETRY_DELAY_SECONDS = 900;
/** How often a full poller looks for a free slot even if no VodJob change woke it. */
const FULL_RECHECK_MS = 5_000;

/**
 * The VodJob for a recording: its name is a hash of the source, so every delivery of the same
 * recording (SQS redelivers; the origin may send twice) names the same VodJob and never makes a second.
 */
export function vodJobName(source: string): string {
  return `vod-${createHash("sha256").update(source).digest("hex").slice(0, 24)}`;
}

/** Scheduling (a Spot node pool scaled from zero takes minutes), image pull, download and upload, per Job. */
const JOB_OVERHEAD_SECONDS = 900;
/** A Job for a recording of unknown length: bounded all the same, by a day. */
const UNKNOWN_LENGTH_JOB_DEADLINE_SECONDS = 86_400;

/**
 * activeDeadlineSeconds of a queue-made VodJob when the cluster sets none: every attempt the
 * VodJob allows (its default backoffLimit + 1) at the worker's own transcode deadline, plus the
 * Job's overhead. A hung attempt is killed by the worker long before; this bounds the whole Job,
 * so it never holds a place in maxConcurrentJobs forever.
 */
export function defaultJobDeadlineSeconds(durationSeconds: number | undefined): number {
  if (durationSeconds === undefined) return UNKNOWN_LENGTH_JOB_DEADLINE_SECONDS;
  const attempts = DEFAULT_BACKOFF_LIMIT + 1;
  const seconds = Math.ceil(attempts * transcodeDeadlineSeconds(durationSeconds) + JOB_OVERHEAD_SECONDS);
  return Math.min(ACTIVE_DEADLINE_SECONDS.maximum, Math.max(ACTIVE_DEADLINE_SECONDS.minimum, seconds));
}

/** A LiveEvent with spec.hls.encryption, as the poller is told of it. */
export interface EncryptedLiveEvent {
  namespace: string;
  name: string;
  encryption: HlsEncryption;
}

/**
 * A recording of an encrypted LiveEvent that no VodJob in the VodJobs' namespace could encrypt:
 * a clear VodJob would publish what the event keeps encrypted, so none is made.
 */
export class EncryptedElsewhereError extends Live360Error {}

/**
 * The origin's recording key, `recordings/<stream>/<UTC start>.mp4` (workloads/origin
 * recordingKey): an S3 event names only the object, and its recording must not escape its
 * event's encryption for want of a stream name.
 */
const RECORDING_KEY = /^recordings\/([^/]+)\/[^/]+\.mp4$/;

/** The stream a message's recording belongs to: from live360's own message, else from the origin's key layout. */
export function recordingStream(key: string, recording?: { stream?: string }): string | undefined {
  if (recording?.stream) return recording.stream;
  const stream = RECORDING_KEY.exec(key)?.[1];
  return stream !== undefined && isValidStreamName(stream) ? stream : undefined;
}

/**
 * The encryption of a queue-made VodJob for a recording of `stream`, given the encrypted
 * LiveEvents of that stream: an event's in `namespace` (the VodJobs' namespace, the only place the
 * Job pod can mount the Secret from; several there: the first by name, for a stable choice), or
 * none when no event of the stream is encrypted. Throws EncryptedElsewhereError when the encrypted
 * events are all in other namespaces, or when there is none but the origin said it encrypted the
 * stream live (`encryptedLive`: the event was deleted before its recording was taken).
 */
export function recordingEncryption(stream: string, events: readonly EncryptedLiveEvent[], namespace: string, encryptedLive = false): HlsEncryption | undefined {
  const byName = [...events].sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
  const here = byName.find((event) => event.namespace === namespace);
  if (here) return here.encryption;
  const [elsewhere] = byName;
  if (!elsewhere && encryptedLive) {
    // The event is gone (or no longer encrypted) but its origin encrypted the stream: the secret
    // cannot be found here, and a clear VodJob would publish what the event kept encrypted.
    throw new EncryptedElsewhereError(
      `stream ${stream} was encrypted live (its origin says so in the message), but no LiveEvent of that stream with spec.hls.encryption exists now to take the secret from, and a clear VodJob would publish the recording unencrypted: re-create the LiveEvent with its spec.hls.encryption in ${namespace}, or create the VodJob by hand with spec.hls.encryption`,
    );
  }
  if (!elsewhere) return undefined;
  throw new EncryptedElsewhereError(
    `stream ${stream} is encrypted by LiveEvent ${elsewhere.namespace}/${elsewhere.name} (spec.hls.encryption), but VodJobs from the queue are made in ${namespace}, where the Job cannot mount its Secret, and a clear VodJob would publish the recording unencrypted: put the LiveEvent in ${namespace} or create the VodJob by hand in its namespace (${elsewhere.namespace}) with spec.hls.encryption`,
  );
}

export function vodJobForSource(
  source: string,
  settings: VodJobSettings,
  recording?: { stream?: string; durationSeconds?: number },
  encryption?: HlsEncryption,
): VodJobManifest {
  const stream = recording?.stream;
  return {
    apiVersion: API_VERSION,
    kind: VOD_JOB.kind,
    metadata: {
      name: vodJobName(source),
      namespace: settings.namespace,
      labels: { ...MANAGED_BY, ...(stream ? { [STREAM_LABEL]: stream } : {}) },
      finalizers: [QUEUE_LEASE_FINALIZER],
    },
    spec: {
      source,
      ...(encryption ? { hls: { encryption } } : {}),
      resources: settings.jobResources,
      capacityType: settings.jobCapacityType,
      nodeSelector: settings.jobNodeSelector,
      activeDeadlineSeconds: settings.jobActiveDeadlineSeconds ?? defaultJobDeadlineSeconds(recording?.durationSeconds),
      ttlSecondsAfterFinished: settings.jobTtlSecondsAfterFinished,
    },
  };
}

export interface VodQueuePollerOptions {
  queue: JobQueue;
  settings: VodJobSettings;
  logger: Logger;
  /** The VodJobs as the informer cache holds them, by `namespace/name`. */
  vodJobs: { get(key: string): VodJob | undefined; list(): VodJob[] };
  /** Creates the VodJob, or leaves an existing one as it is (server-side apply). */
  createVodJob(manifest: VodJobManifest): Promise<void>;
  /** The LiveEvents (in the informer cache) whose spec.streamName is `stream` and which have spec.hls.encryption. */
  encryptionForStream(stream: string): EncryptedLiveEvent[];
}

/** The messages naming one VodJob (more than one when a recording was announced twice), by message id. */
interface Held {
  source: string;
  messages: Map<string, QueueMessage>;
  /** The VodJob was deleted without waiting for its messages (it had no finalizer). */
  cancelled?: boolean;
}

const isFinished = (vodJob: VodJob | undefined): boolean => vodJob?.status?.phase === "Succeeded" || vodJob?.status?.phase === "Failed";

/** What becomes of a VodJob's held messages: deleted once it succeeded or was deleted (cancelled), released once it failed, else kept. */
function settlementOf(vodJob: VodJob): "succeeded" | "cancelled" | "failed" | undefined {
  if (vodJob.status?.phase === "Succeeded") return "succeeded";
  if (vodJob.metadata.deletionTimestamp) return "cancelled";
  return vodJob.status?.phase === "Failed" ? "failed" : undefined;
}

/**
 * Turns VOD queue messages into VodJobs and holds each message while its VodJob works: a heartbeat
 * keeps it invisible, it is deleted once the VodJob Succeeded, and a Failed VodJob's message is
 * released to come back until the queue's redrive policy moves it to the dead-letter queue. If the
 * operator dies, held messages reappear after one visibility timeout and the next leader finds
 * their VodJobs by name and holds them again.
 *
 * Deleting an unfinished VodJob cancels it: its messages are deleted too, never left to come back
 * and make it again (the recording stays in the ingest bucket). VodJobs made from messages carry
 * QUEUE_LEASE_FINALIZER so the deletion waits for that; the VodJob controller removes it once
 * settle() says no message of theirs can still be out. A restarted operator holds nothing yet: the
 * messages the one before held come back within one visibility timeout (its heartbeats ended
 * before this one started) and are settled then. A VodJob this operator made or received a message
 * for is accounted for; for the others, once a receive after that time finds the queue empty, no
 * earlier lease can be left (settled, dead-lettered or expired).
 *
 * No message is received while maxConcurrentJobs VodJobs are unfinished (counting those made by
 * hand, not those being deleted), so the queue itself is the backlog. A long poll that was already
 * waiting when VodJobs made by hand filled the room still hands its messages over, and they are
 * taken: a recording never pays for the operator's capacity with a receive count (which would
 * push it towards the dead-letter queue).
 */
export class VodQueuePoller {
  private readonly held = new Map<string, Held>();
  /** Per VodJob, the settle in progress: settles of one VodJob run one after the other. */
  private readonly settling = new Map<string, Promise<boolean>>();
  private wakeUp: (() => void) | undefined;
  private startedAt = Number.POSITIVE_INFINITY;
  /** A receive found the queue empty after every message an earlier operator held was visible again. */
  private earlierLeasesGone = false;
  /** VodJobs this operator made or received a message for since it started: their earlier leases came back. */
  private readonly accountedFor = new Set<string>();

  constructor(private readonly options: VodQueuePollerOptions) {}

  /**
   * Receives and holds messages until `signal` aborts (leadership ends). Held messages then stay
   * hidden until their timeout, after which the next leader receives them and finds their VodJobs.
   */
  async run(signal: AbortSignal): Promise<void> {
    this.startedAt = Date.now();
    this.earlierLeasesGone = false;
    this.accountedFor.clear();
    const heartbeat = setInterval(() => void this.beat(), this.options.settings.heartbeatSeconds * 1000);
    try {
      await this.poll(signal);
    } finally {
      clearInterval(heartbeat);
      this.held.clear();
    }
  }

  /** Called with every VodJob the informer reports: a held message may now be finished with. */
  vodJobChanged(vodJob: VodJob): void {
    const key = `${vodJob.metadata.namespace}/${vodJob.metadata.name}`;
    const gone = !this.options.vodJobs.get(key);
    if (gone) this.accountedFor.delete(key);
    const held = this.held.get(key);
    if (held) {
      // Reported but no longer cached: deleted without waiting for its messages (e.g. made by hand without the finalizer).
      if (gone) held.cancelled = true;
      void this.settleKey(key);
    }
    this.wakeUp?.();
  }

  /**
   * Settles the messages held for `vodJob` as it stands now and says whether it may drop
   * QUEUE_LEASE_FINALIZER: true once nothing of it is held and no earlier operator's lease can be
   * left. Never throws: a failed delete or release stays held and is tried again.
   */
  settle(vodJob: VodJob): Promise<boolean> {
    return this.settleKey(`${vodJob.metadata.namespace}/${vodJob.metadata.name}`);
  }

  /** Messages kept invisible by the heartbeat right now. */
  get heldMessages(): number {
    let count = 0;
    for (const { messages } of this.held.values()) count += messages.size;
    return count;
  }

  /** VodJobs unfinished or not yet seen by the informer: what counts against maxConcurrentJobs. */
  get activeJobs(): number {
    const active = new Set(this.held.keys());
    for (const vodJob of this.options.vodJobs.list()) {
      // A deleted VodJob is cancelled; it may wait for its message to come back, which needs room.
      if (!isFinished(vodJob) && !vodJob.metadata.deletionTimestamp) active.add(`${vodJob.metadata.namespace}/${vodJob.metadata.name}`);
    }
    return active.size;
  }

  private async poll(signal: AbortSignal): Promise<void> {
    const { queue, settings, logger } = this.options;
    const backoff = new Backoff({ initialMs: 1000, maxMs: 30_000 });
    while (!signal.aborted) {
      const room = settings.maxConcurrentJobs - this.activeJobs;
      if (room <= 0) {
        await this.waitForChange(FULL_RECHECK_MS, signal);
        continue;
      }
      let messages: QueueMessage[];
      const receivedAt = Date.now();
      try {
        messages = await queue.receive({
          maxMessages: Math.min(10, room),
          waitTimeSeconds: WAIT_TIME_SECONDS,
          visibilityTimeoutSeconds: settings.visibilityTimeoutSeconds,
        });
        backoff.reset();
        // The earlier operator's heartbeats stopped before this one started: its messages are visible by now.
        if (messages.length === 0 && receivedAt >= this.startedAt + settings.visibilityTimeoutSeconds * 1000) this.earlierLeasesGone = true;
      } catch (error) {
        const retryInMs = backoff.next();
        logger.warn("VOD queue receive failed; retrying", { queue: queue.name, error, retryInMs });
        await sleep(retryInMs, signal);
        continue;
      }
      if (signal.aborted) {
        // Received as leadership ended: back to the queue at once, for the next leader.
        for (const message of messages) await queue.changeVisibility(message.receiptHandle, 0).catch(() => undefined);
        break;
      }
      for (const message of messages) {
        try {
          await this.handle(message);
        } catch (error) {
          // Not held: the message comes back after its visibility timeout and is tried again.
          logger.warn("could not turn a VOD queue message into a VodJob; it returns after its visibility timeout", { messageId: message.id, error });
        }
      }
    }
  }

  private async handle(message: QueueMessage): Promise<void> {
    const { settings, logger, vodJobs } = this.options;
    let parsed;
    try {
      parsed = parseJobMessage(message.body);
    } catch (error) {
      if (!(error instanceof InvalidJobMessageError)) throw error;
      await this.release(message, `not a job: ${error.reason}`);
      return;
    }
    if (parsed.kind === "s3-test-event") {
      await this.options.queue.delete(message.receiptHandle);
      logger.info("deleted S3's test event (it names no recording)");
      return;
    }
    const source = `s3://${parsed.job.bucket}/${parsed.job.key}`;
    const key = `${settings.namespace}/${vodJobName(source)}`;
    const existing = vodJobs.get(key);
    if (existing && existing.spec.source !== source) {
      await this.release(message, `VodJob ${key} exists for another source (${existing.spec.source})`);
      return;
    }
    if (!existing) {
      const stream = recordingStream(parsed.job.key, parsed.job.recording);
      let encryption: HlsEncryption | undefined;
      try {
        encryption = stream === undefined ? undefined : recordingEncryption(stream, this.options.encryptionForStream(stream), settings.namespace, parsed.job.recording?.encrypted);
      } catch (error) {
        if (!(error instanceof EncryptedElsewhereError)) throw error;
        await this.release(message, error.message);
        return;
      }
      await this.options.createVodJob(vodJobForSource(source, settings, parsed.job.recording, encryption));
      logger.info("VodJob created from the VOD queue", { vodJob: key, source, messageId: message.id });
    }
    const held = this.held.get(key) ?? { source, messages: new Map<string, QueueMessage>() };
    // The same message received again (its visibility ran out) replaces the old receipt, which no longer works.
    held.messages.set(message.id, message);
    this.held.set(key, held);
    this.accountedFor.add(key);
    // An existing VodJob may be finished or deleted: its message is done with at once.
    if (existing) await this.settleKey(key);
  }

  /** Runs after the settles of `key` already under way. */
  private settleKey(key: string): Promise<boolean> {
    const next = (this.settling.get(key) ?? Promise.resolve(true)).then(() => this.settleNow(key));
    this.settling.set(key, next);
    void next.then(() => {
      if (this.settling.get(key) === next) this.settling.delete(key);
    });
    return next;
  }

  private async settleNow(key: string): Promise<boolean> {
    const { queue, logger, vodJobs } = this.options;
    const held = this.held.get(key);
    const vodJob = vodJobs.get(key);
    // Neither cached nor reported deleted: just created, and the informer has not seen it yet.
    const settlement = held?.cancelled ? "cancelled" : vodJob && settlementOf(vodJob);
    if (held && settlement) {
      for (const message of [...held.messages.values()]) {
        try {
          if (settlement === "failed") await this.release(message, `VodJob ${key} failed`);
          else await queue.delete(message.receiptHandle);
          held.messages.delete(message.id);
          if (settlement === "succeeded") logger.info("VodJob succeeded; its message is deleted", { vodJob: key, messageId: message.id });
          if (settlement === "cancelled") {
            logger.warn("VodJob deleted before it finished; its message is deleted, so the recording is not transcoded (it stays in the ingest bucket)", {
              vodJob: key,
              source: held.source,
              messageId: message.id,
            });
          }
        } catch (error) {
          if (error instanceof ReceiptHandleInvalidError) {
            // Received again meanwhile (by a new leader): whoever holds it now settles it.
            held.messages.delete(message.id);
            continue;
          }
          logger.warn("could not settle a VodJob's message; it stays held and is tried again", { vodJob: key, messageId: message.id, error });
        }
      }
      if (held.messages.size === 0) {
        this.held.delete(key);
        this.wakeUp?.();
      }
    }
    return !this.held.has(key) && (this.accountedFor.has(key) || this.earlierLeasesGone);
  }

  /** Back to the queue after a delay growing per receive: after maxReceiveCount receives it is dead-lettered, never lost. */
  private async release(message: QueueMessage, reason: string): Promise<void> {
    const retryAfterSeconds = Math.min(MAX_RETRY_DELAY_SECONDS, RETRY_DELAY_SECONDS * 2 ** (message.receiveCount - 1));
    this.options.logger.warn("VOD queue message released towards the dead-letter queue", { messageId: message.id, receiveCount: message.receiveCount, reason, retryAfterSeconds });
    await this.options.queue.release(message.receiptHandle, { reason, retryAfterSeconds });
  }

  private async beat(): Promise<void> {
    const { queue, settings, logger, vodJobs } = this.options;
    for (const [key, held] of this.held) {
      const { messages } = held;
      // A settle that failed earlier is tried again rather than kept alive.
      const vodJob = vodJobs.get(key);
      if (held.cancelled || (vodJob && settlementOf(vodJob))) {
        void this.settleKey(key);
        continue;
      }
      for (const message of [...messages.values()]) {
        try {
          await queue.changeVisibility(message.receiptHandle, settings.visibilityTimeoutSeconds);
        } catch (error) {
          if (!(error instanceof ReceiptHandleInvalidError)) {
            logger.warn("heartbeat failed; retrying at the next beat", { vodJob: key, messageId: message.id, error });
            continue;
          }
          // Someone else received it (a new leader after a partition): it is theirs now.
          messages.delete(message.id);
          if (messages.size === 0) this.held.delete(key);
        }
      }
    }
  }

  private waitForChange(timeoutMs: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done(): void {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      }
      this.wakeUp = done;
      signal.addEventListener("abort", done, { once: true });
    });
  }
}
