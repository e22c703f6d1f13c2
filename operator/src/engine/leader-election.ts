import {
  CoordinationV1Api,
  Observable,
  V1MicroTime,
  type ConfigurationOptions,
  type KubeConfig,
  type ObservableMiddleware,
  type V1Lease,
} from "@kubernetes/client-node";
import { sleep, type Logger } from "@live360/core";

/** The fields of a coordination.k8s.io/v1 Lease that leader election reads and writes. */
export interface LeaseRecord {
  /** Empty when released: the next candidate may take it at once. */
  holderIdentity: string;
  leaseDurationSeconds: number;
  acquireTime: Date;
  renewTime: Date;
  leaseTransitions: number;
}

/**
 * A Lease with optimistic concurrency: `version` is the resourceVersion, and a stale one fails the
 * write. `signal` aborts the request itself, not only the wait for it: an attempt given up at the
 * renew deadline must not go on in the background and renew a lease its holder stopped acting on.
 */
export interface LeaseStore {
  get(signal: AbortSignal): Promise<{ record: LeaseRecord; version: string } | undefined>;
  create(record: LeaseRecord, signal: AbortSignal): Promise<string>;
  update(record: LeaseRecord, version: string, signal: AbortSignal): Promise<string>;
}

export interface LeaderElectionOptions {
  /** Unique per operator process: the pod name plus a random suffix. */
  identity: string;
  store: LeaseStore;
  logger: Logger;
  /** How long a lease stays valid without renewal; a follower waits this long after the last change it saw. */
  leaseDurationMs?: number;
  /** A leader that cannot renew for this long steps down (before its lease could be taken over). */
  renewDeadlineMs?: number;
  /** Pause between acquire and renew attempts. */
  retryPeriodMs?: number;
  /** Called when this process becomes leader; `signal` aborts when it stops leading. */
  onStartedLeading: (signal: AbortSignal) => void;
  /** Called once when leadership ends, lost or released. */
  onStoppedLeading: () => void;
}

/**
 * Leader election on a Lease, with client-go's rules so it interoperates with their semantics:
 * - expiry is judged by the follower's own clock from when it last saw the lease change, never
 *   by comparing its clock with the leader's timestamps (clocks drift);
 * - the leader renews every retry period and steps down if it has not renewed within the renew
 *   deadline, which is shorter than the lease duration: it stops acting before anyone else can
 *   take over, so two leaders never act at once;
 * - a leader that shuts down cleanly releases the lease so the other replica takes over at once;
 * - an attempt's requests are aborted at its deadline, so a leader that stepped down has no renewal
 *   left in flight. A request already on the wire when it was aborted may still reach the server
 *   late; it carries the resourceVersion the leader last saw, so once another replica has taken
 *   the lease it fails (409), and before that it can only delay the takeover by one lease duration:
 *   the replica that stepped down never acts on it (the operator exits, see Manager).
 */
export class LeaderElector {
  private observed: { version: string; record: LeaseRecord; at: number } | undefined;
  private leading = false;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;

  constructor(private readonly options: LeaderElectionOptions) {
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
    if (!(this.retryPeriodMs < this.renewDeadlineMs && this.renewDeadlineMs < this.leaseDurationMs)) {
      throw new RangeError("leader election needs retryPeriod < renewDeadline < leaseDuration");
    }
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Campaigns until `signal` aborts; leads while it can renew. Resolves when it stopped (and released). */
  async run(signal: AbortSignal): Promise<void> {
    const log = this.options.logger;
    while (!signal.aborted && !(await this.tryAcquireOrRenew())) await sleep(this.retryPeriodMs, signal);
    if (signal.aborted) return;

    this.leading = true;
    const leadership = new AbortController();
    log.info("became leader", { identity: this.options.identity });
    this.options.onStartedLeading(leadership.signal);
    let lastRenewal = Date.now();
    while (!signal.aborted) {
      await sleep(this.retryPeriodMs, signal);
      if (signal.aborted) break;
      if (await this.tryAcquireOrRenew(this.renewDeadlineMs - (Date.now() - lastRenewal))) {
        lastRenewal = Date.now();
      } else if (Date.now() - lastRenewal >= this.renewDeadlineMs) {
        log.error("lost leadership: could not renew the lease in time", { identity: this.options.identity, renewDeadlineMs: this.renewDeadlineMs });
        break;
      }
    }
    this.leading = false;
    leadership.abort();
    if (signal.aborted) await this.release();
    this.options.onStoppedLeading();
  }

  /** One attempt; true when this process holds the lease afterwards. Errors and timeouts count as "no". */
  private async tryAcquireOrRenew(timeoutMs = this.renewDeadlineMs): Promise<boolean> {
    const deadline = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => {
        deadline.abort(new Error(`lease attempt exceeded ${Math.round(timeoutMs)} ms`));
        resolve(false);
      }, Math.max(0, timeoutMs));
    });
    try {
      // The race keeps a store that ignores its signal from holding the loop past the deadline.
      return await Promise.race([this.acquireOrRenew(deadline.signal), timedOut]);
    } catch (error) {
      this.options.logger.debug("lease attempt failed", { identity: this.options.identity, error });
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  private async acquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const { identity, store } = this.options;
    const now = new Date();
    const current = await store.get(signal);
    const mine: LeaseRecord = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
      acquireTime: now,
      renewTime: now,
      leaseTransitions: 0,
    };
    if (current === undefined) {
      const version = await store.create(mine, signal);
      this.observed = { version, record: mine, at: now.getTime() };
      return true;
    }
    if (this.observed?.version !== current.version) this.observed = { ...current, at: now.getTime() };
    const { record } = current;
    const heldByMe = record.holderIdentity === identity;
    const held = record.holderIdentity !== "";
    if (held && !heldByMe && this.observed.at + record.leaseDurationSeconds * 1000 > now.getTime()) return false;
    const next: LeaseRecord = heldByMe
      ? { ...mine, acquireTime: record.acquireTime, leaseTransitions: record.leaseTransitions }
      : { ...mine, leaseTransitions: record.leaseTransitions + 1 };
    signal.throwIfAborted();
    const version = await store.update(next, current.version, signal);
    this.observed = { version, record: next, at: now.getTime() };
    return true;
  }

  /** Gives the lease up so the next candidate need not wait for it to expire. */
  private async release(): Promise<void> {
    const observed = this.observed;
    if (!observed || observed.record.holderIdentity !== this.options.identity) return;
    const now = new Date();
    try {
      await this.options.store.update(
        { ...observed.record, holderIdentity: "", leaseDurationSeconds: 1, renewTime: now, acquireTime: now },
        observed.version,
        AbortSignal.timeout(this.renewDeadlineMs),
      );
      this.options.logger.info("released leadership", { identity: this.options.identity });
    } catch (error) {
      this.options.logger.warn("could not release the lease; the other replica takes over when it expires", { error });
    }
  }
}

function statusCode(error: unknown): number | undefined {
  const e = error as { code?: number; statusCode?: number } | null;
  return e?.code ?? e?.statusCode;
}

function toRecord(lease: V1Lease): LeaseRecord {
  const spec = lease.spec ?? {};
  return {
    holderIdentity: spec.holderIdentity ?? "",
    leaseDurationSeconds: spec.leaseDurationSeconds ?? 0,
    acquireTime: new Date(spec.acquireTime ?? 0),
    renewTime: new Date(spec.renewTime ?? 0),
    leaseTransitions: spec.leaseTransitions ?? 0,
  };
}

function toSpec(record: LeaseRecord): V1Lease["spec"] {
  // Lease times are MicroTime: RFC 3339 with exactly six fractional digits.
  return {
    holderIdentity: record.holderIdentity,
    leaseDurationSeconds: record.leaseDurationSeconds,
    acquireTime: new V1MicroTime(record.acquireTime.getTime()),
    renewTime: new V1MicroTime(record.renewTime.getTime()),
    leaseTransitions: record.leaseTransitions,
  };
}

/** Per-call options that abort the request with `signal` as well as with the client's own deadline. */
function abortedBy(signal: AbortSignal): ConfigurationOptions {
  // The object-style API runs observable middleware (client-node's own minimal Observable).
  const middleware: ObservableMiddleware = {
    pre: (context) => {
      const own = context.getSignal();
      context.setSignal(own ? AbortSignal.any([own, signal]) : signal);
      return new Observable(Promise.resolve(context));
    },
    post: (response) => new Observable(Promise.resolve(response)),
  };
  return { middleware: [middleware], middlewareMergeStrategy: "append" };
}

/** The Lease `name` in `namespace` on the API server. */
export function apiLeaseStore(kubeConfig: KubeConfig, namespace: string, name: string): LeaseStore {
  const api = kubeConfig.makeApiClient(CoordinationV1Api);
  return {
    async get(signal) {
      try {
        const lease = await api.readNamespacedLease({ name, namespace }, abortedBy(signal));
        return { record: toRecord(lease), version: lease.metadata?.resourceVersion ?? "" };
      } catch (error) {
        if (statusCode(error) === 404) return undefined;
        throw error;
      }
    },
    async create(record, signal) {
      const lease = await api.createNamespacedLease({ namespace, body: { metadata: { name, namespace }, spec: toSpec(record) } }, abortedBy(signal));
      return lease.metadata?.resourceVersion ?? "";
    },
    async update(record, version, signal) {
      const lease = await api.replaceNamespacedLease(
        { name, namespace, body: { metadata: { name, namespace, resourceVersion: version }, spec: toSpec(record) } },
        abortedBy(signal),
      );
      return lease.metadata?.resourceVersion ?? "";
    },
  };
}
