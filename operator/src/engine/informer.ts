import { KubernetesObjectApi, Watch, type KubeConfig, type KubernetesObject } from "@kubernetes/client-node";
import { Backoff, Live360Error, sleep, type Logger } from "@live360/core";
import { collectionPath, objectKey, type ResourceType } from "./resources.js";

/** A consistent snapshot of a collection and the resourceVersion to watch it from. */
export interface ListResult<T> {
  items: T[];
  resourceVersion: string;
}

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";

/** How an informer reaches the API server: one list, then watches continuing from a resourceVersion. */
export interface ListWatch<T extends KubernetesObject> {
  list(): Promise<ListResult<T>>;
  /** Streams events until the server ends the watch (resolve), it fails (reject) or `signal` aborts (resolve). */
  watch(resourceVersion: string, onEvent: (type: WatchEventType, object: unknown) => void, signal: AbortSignal): Promise<void>;
}

/**
 * The watch's resourceVersion is gone from the server's history (HTTP 410, or a watch ERROR event
 * with code 410, after etcd compaction or a long disconnect): only a fresh list can resynchronise.
 */
export class ResourceVersionGoneError extends Live360Error {}

interface StatusLike {
  kind?: string;
  code?: number;
  reason?: string;
  message?: string;
}

function isGone(error: unknown): boolean {
  if (error instanceof ResourceVersionGoneError) return true;
  const status = error as { statusCode?: number; code?: number } | null;
  return status?.statusCode === 410 || status?.code === 410;
}

export interface InformerOptions {
  /** For logs: usually the kind. */
  name: string;
  logger: Logger;
  /** Delay between failed list/watch attempts (API server unreachable, RBAC missing...). */
  retry?: { initialMs: number; maxMs: number };
  /**
   * A watch that delivers nothing (no event, no bookmark) for this long is given up and resumed:
   * an API server behind a dropped route never ends it, and the server-side timeout needs the
   * server. Default: the watch's own timeout (5 min) plus a minute.
   */
  watchIdleMs?: number;
}

const DEFAULT_WATCH_IDLE_MS = 6 * 60_000;

/**
 * Keeps an in-memory copy of one collection current: list, then watch from the list's
 * resourceVersion, re-watch from the last seen resourceVersion when the server ends a watch, and
 * relist when that version is gone (410). Bookmarks keep the resourceVersion fresh on quiet
 * collections, so a re-watch rarely needs a relist.
 *
 * Handlers learn *which* object changed, never how: controllers are level-triggered, they read the
 * current state from the cache and act on that. A relist that finds an object missing reports it
 * like a deletion (the handler gets the last known copy).
 */
export class Informer<T extends KubernetesObject> {
  private readonly cache = new Map<string, T>();
  private readonly handlers: ((object: T) => void)[] = [];
  private readonly stopping = new AbortController();
  private running: Promise<void> | undefined;
  private syncedOnce = false;
  /** Where the next watch continues; undefined means a relist is needed. */
  private resourceVersion: string | undefined;
  private readonly syncWaiters: (() => void)[] = [];
  /** Lists so far; exposed for tests and the relist metric. */
  lists = 0;

  constructor(
    private readonly source: ListWatch<T>,
    private readonly options: InformerOptions,
  ) {}

  /** Calls `handler` with every object that was added, changed or removed. */
  onChange(handler: (object: T) => void): void {
    this.handlers.push(handler);
  }

  get(key: string): T | undefined {
    return this.cache.get(key);
  }

  list(): T[] {
    return [...this.cache.values()];
  }

  get hasSynced(): boolean {
    return this.syncedOnce;
  }

  /** Resolves after the first complete list has been loaded (or immediately once stopped). */
  waitForSync(): Promise<void> {
    if (this.syncedOnce || this.stopping.signal.aborted) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  start(): void {
    this.running ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    for (const waiter of this.syncWaiters.splice(0)) waiter();
    await this.running;
  }

  private async run(): Promise<void> {
    const log = this.options.logger;
    const backoff = new Backoff(this.options.retry ?? { initialMs: 500, maxMs: 30_000 });
    while (!this.stopping.signal.aborted) {
      try {
        this.resourceVersion ??= await this.relist();
        await this.watch(this.resourceVersion);
        backoff.reset();
      } catch (error) {
        if (this.stopping.signal.aborted) break;
        if (isGone(error)) {
          log.info("watch history expired; relisting", { informer: this.options.name, resourceVersion: this.resourceVersion });
          this.resourceVersion = undefined;
          continue;
        }
        // Resume from the last event seen: most interruptions (API server restart, network) need no relist.
        const delay = backoff.next();
        log.warn("list/watch failed; retrying", { informer: this.options.name, error, retryInMs: delay });
        await sleep(delay, this.stopping.signal);
      }
    }
  }

  /** Replaces the cache with a fresh list, reporting every difference. Returns the list's resourceVersion. */
  private async relist(): Promise<string> {
    const { items, resourceVersion } = await this.source.list();
    this.lists += 1;
    const previous = new Map(this.cache);
    this.cache.clear();
    for (const item of items) this.cache.set(objectKey(item), item);
    for (const [key, old] of previous) {
      if (!this.cache.has(key)) this.notify(old);
    }
    for (const [key, item] of this.cache) {
      if (previous.get(key)?.metadata?.resourceVersion !== item.metadata?.resourceVersion) this.notify(item);
    }
    if (!this.syncedOnce) {
      this.syncedOnce = true;
      for (const waiter of this.syncWaiters.splice(0)) waiter();
    }
    return resourceVersion;
  }

  /** Applies one watch's events to the cache, advancing the resourceVersion to continue from. */
  private async watch(resourceVersion: string): Promise<void> {
    let failure: unknown;
    const aborter = new AbortController();
    const stop = () => aborter.abort();
    this.stopping.signal.addEventListener("abort", stop, { once: true });
    const idleMs = this.options.watchIdleMs ?? DEFAULT_WATCH_IDLE_MS;
    let idle: NodeJS.Timeout | undefined;
    const armIdle = (): void => {
      clearTimeout(idle);
      idle = setTimeout(() => {
        failure = new Live360Error(`watch delivered nothing for ${Math.round(idleMs / 1000)} s; resuming it`);
        aborter.abort();
      }, idleMs);
    };
    armIdle();
    try {
      await this.source.watch(
        resourceVersion,
        (type, raw) => {
          if (aborter.signal.aborted) return;
          armIdle();
          if (type === "ERROR") {
            const status = raw as StatusLike;
            failure =
              status.code === 410
                ? new ResourceVersionGoneError(`resourceVersion ${this.resourceVersion} is gone: ${status.message ?? status.reason ?? "410"}`)
                : new Live360Error(`watch error ${status.code ?? "?"} ${status.reason ?? ""}: ${status.message ?? ""}`);
            aborter.abort();
            return;
          }
          const object = raw as T;
          this.resourceVersion = object.metadata?.resourceVersion ?? this.resourceVersion;
          if (type === "BOOKMARK") return;
          const key = objectKey(object);
          if (type === "DELETED") this.cache.delete(key);
          else this.cache.set(key, object);
          this.notify(object);
        },
        aborter.signal,
      );
    } finally {
      clearTimeout(idle);
      this.stopping.signal.removeEventListener("abort", stop);
    }
    if (failure !== undefined) throw failure;
  }

  private notify(object: T): void {
    for (const handler of this.handlers) {
      try {
        handler(object);
      } catch (error) {
        this.options.logger.error("informer handler failed", { informer: this.options.name, error });
      }
    }
  }
}

export interface ApiListWatchOptions {
  /** Watch one namespace; all namespaces when omitted. */
  namespace?: string;
  /** Only objects with these labels, e.g. the operator's own children. */
  labelSelector?: string;
  /** Page size of the initial list. */
  pageSize?: number;
  /** The server ends each watch after about this long; the informer then re-watches. */
  watchTimeoutSeconds?: number;
}

/** ListWatch over the real API server with client-node: paginated list, streaming watch with bookmarks. */
export function apiListWatch<T extends KubernetesObject>(
  kubeConfig: KubeConfig,
  type: ResourceType,
  options: ApiListWatchOptions = {},
): ListWatch<T> {
  const objects = KubernetesObjectApi.makeApiClient(kubeConfig);
  const watcher = new Watch(kubeConfig);
  const path = collectionPath(type, options.namespace);
  return {
    async list() {
      const items: T[] = [];
      let continueToken: string | undefined;
      let resourceVersion = "";
      do {
        const page = await objects.list<T>(
          type.apiVersion,
          type.kind,
          options.namespace,
          undefined,
          undefined,
          undefined,
          undefined,
          options.labelSelector,
          options.pageSize ?? 500,
          continueToken,
        );
        // List items carry no apiVersion/kind; the cache holds complete objects.
        for (const item of page.items) items.push({ ...item, apiVersion: type.apiVersion, kind: type.kind });
        resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
        continueToken = page.metadata?._continue || undefined;
      } while (continueToken);
      return { items, resourceVersion };
    },

    watch(resourceVersion, onEvent, signal) {
      return new Promise<void>((resolve, reject) => {
        let controller: AbortController | undefined;
        const abort = () => controller?.abort();
        const params = {
          resourceVersion,
          allowWatchBookmarks: true,
          labelSelector: options.labelSelector,
          timeoutSeconds: options.watchTimeoutSeconds ?? 300,
        };
        watcher
          .watch(path, params, (type: string, object: unknown) => onEvent(type as WatchEventType, object), (error: unknown) => {
            signal.removeEventListener("abort", abort);
            if (error && !signal.aborted) reject(error);
            else resolve();
          })
          .then((c) => {
            controller = c;
            if (signal.aborted) c.abort();
            else signal.addEventListener("abort", abort, { once: true });
          }, reject);
      });
    },
  };
}
