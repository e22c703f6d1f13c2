import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { KubeConfig, KubernetesObject } from "@kubernetes/client-node";
import { Gauge, ListenError, createRegistry, type Logger, type Registry } from "@live360/core";
import { apiObjectWriter, type Cache, type ObjectWriter } from "./engine/client.js";
import { createControllerMetrics, type Controller, type ControllerMetrics } from "./engine/controller.js";
import { apiEventRecorder, type EventRecorder } from "./engine/events.js";
import { Informer, apiListWatch } from "./engine/informer.js";
import { LeaderElector, apiLeaseStore } from "./engine/leader-election.js";
import { splitKey, type ResourceType } from "./engine/resources.js";

/**
 * One collection watched across the operator's namespaces: one informer per watched namespace (so
 * RBAC can stay namespaced), or a single one over all namespaces or a cluster-scoped kind.
 * Reads route by the key's namespace.
 */
export class InformerSet<T extends KubernetesObject> implements Cache<T> {
  constructor(readonly informers: ReadonlyMap<string | undefined, Informer<T>>) {}

  get(key: string): T | undefined {
    const { namespace } = splitKey(key);
    return (this.informers.get(namespace) ?? this.informers.get(undefined))?.get(key);
  }

  list(): T[] {
    return [...this.informers.values()].flatMap((informer) => informer.list());
  }

  onChange(handler: (object: T) => void): void {
    for (const informer of this.informers.values()) informer.onChange(handler);
  }
}

/** What a controller factory gets from the manager: shared informers, the writer, events, metrics. */
export interface ManagerContext {
  kubeConfig: KubeConfig;
  logger: Logger;
  registry: Registry;
  controllerMetrics: ControllerMetrics;
  writer: ObjectWriter;
  events: EventRecorder;
  /** This process's identity (leader election, event reportingInstance). */
  identity: string;
  /** The shared informer for a kind (and label selector): asking twice returns the same one. */
  informer<T extends KubernetesObject>(type: ResourceType, options?: { labelSelector?: string }): InformerSet<T>;
  /** A background task run only while this replica leads (e.g. a queue poller); it stops when `signal` aborts. */
  addRunnable(name: string, run: (signal: AbortSignal) => Promise<void>): void;
}

/**
 * Creates one controller: asks the context for the informers it reads, wires them to a new
 * Controller (watchPrimary/watchRelated) and returns it. No network access here: the manager
 * starts informers and controllers only once it leads.
 */
export type ControllerFactory = (context: ManagerContext) => Controller;

export interface LeaderElectionConfig {
  namespace: string;
  leaseName: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

export interface ManagerOptions {
  kubeConfig: KubeConfig;
  /** Namespaces to watch; empty watches all of them. */
  namespaces: readonly string[];
  identity: string;
  /** Undefined runs without an election (a single replica). */
  leaderElection: LeaderElectionConfig | undefined;
  /** Port of /metrics, /healthz and /readyz; 0 picks a free one (see `port`), undefined serves none. */
  httpPort: number | undefined;
  bindAddress: string;
  logger: Logger;
  controllers: readonly ControllerFactory[];
}

/** Why run() ended: stop() was called, or the lease was lost (the process should exit and restart). */
export type ManagerExit = "stopped" | "lostLeadership";

/**
 * The operator process: shared informers, controllers and background tasks, run by the leader
 * only; /metrics, /healthz and /readyz; graceful shutdown. Standby replicas keep nothing in
 * memory but the election, so failover costs one list per watched collection.
 */
export class Manager {
  readonly registry: Registry;
  private readonly context: ManagerContext;
  private readonly informerSets = new Map<string, InformerSet<KubernetesObject>>();
  private readonly runnables: { name: string; run: (signal: AbortSignal) => Promise<void> }[] = [];
  private readonly controllers: Controller[];
  private readonly stopping = new AbortController();
  private readonly leadership = new AbortController();
  private running: Promise<void>[] = [];
  private server: Server | undefined;
  private leading = false;
  private synced = false;
  private exit: ((reason: ManagerExit) => void) | undefined;
  private electing: Promise<void> | undefined;
  private stopped: Promise<void> | undefined;
  /** Resolves when the manager has stopped, saying why. */
  readonly done: Promise<ManagerExit>;

  constructor(private readonly options: ManagerOptions) {
    this.registry = createRegistry("live360_operator");
    this.done = new Promise((resolve) => (this.exit = resolve));
    const isLeading = (): boolean => this.leading;
    new Gauge({
      name: "live360_operator_leader",
      help: "1 while this replica holds the leader lease and runs the controllers.",
      registers: [this.registry],
      collect() {
        this.set(isLeading() ? 1 : 0);
      },
    });
    this.context = {
      kubeConfig: options.kubeConfig,
      logger: options.logger,
      registry: this.registry,
      controllerMetrics: createControllerMetrics(this.registry),
      writer: apiObjectWriter(options.kubeConfig),
      events: apiEventRecorder(options.kubeConfig, { logger: options.logger, instance: options.identity }),
      identity: options.identity,
      informer: <T extends KubernetesObject>(type: ResourceType, informerOptions: { labelSelector?: string } = {}) =>
        this.informerFor(type, informerOptions.labelSelector) as unknown as InformerSet<T>,
      addRunnable: (name, run) => void this.runnables.push({ name, run }),
    };
    this.controllers = options.controllers.map((factory) => factory(this.context));
  }

  /** The HTTP port actually bound (when started with 0). */
  get port(): number | undefined {
    return (this.server?.address() as AddressInfo | null)?.port;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Serves HTTP and campaigns for leadership (or leads at once without an election). */
  async start(): Promise<void> {
    if (this.options.httpPort !== undefined) this.server = await this.serve(this.options.httpPort);
    const election = this.options.leaderElection;
    if (!election) {
      this.lead(this.leadership.signal);
      return;
    }
    const elector = new LeaderElector({
      identity: this.options.identity,
      store: apiLeaseStore(this.options.kubeConfig, election.namespace, election.leaseName),
      logger: this.options.logger.child("leader-election"),
      leaseDurationMs: election.leaseDurationMs,
      renewDeadlineMs: election.renewDeadlineMs,
      retryPeriodMs: election.retryPeriodMs,
      onStartedLeading: (signal) => this.lead(signal),
      onStoppedLeading: () => {
        if (this.leadership.signal.aborted) return;
        this.options.logger.error("leadership lost; stopping so a restart can campaign again", { identity: this.options.identity });
        void this.stop("lostLeadership");
      },
    });
    this.electing = elector.run(this.leadership.signal);
  }

  /**
   * Stops controllers (letting in-flight reconciles finish), background tasks and informers, and
   * only then releases the lease: the next leader never overlaps with this one's last writes.
   */
  stop(reason: ManagerExit = "stopped"): Promise<void> {
    this.stopped ??= (async () => {
      this.stopping.abort();
      await Promise.all(this.controllers.map((controller) => controller.stop()));
      await Promise.allSettled(this.running);
      await Promise.all([...this.informerSets.values()].flatMap((set) => [...set.informers.values()].map((informer) => informer.stop())));
      this.leading = false;
      this.leadership.abort();
      await this.electing;
      if (this.server) {
        const server = this.server;
        await new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
      }
      this.options.logger.info("operator stopped", { reason });
      this.exit?.(reason);
    })();
    return this.stopped;
  }

  private informerFor(type: ResourceType, labelSelector: string | undefined): InformerSet<KubernetesObject> {
    const id = `${type.apiVersion}/${type.kind}?${labelSelector ?? ""}`;
    let set = this.informerSets.get(id);
    if (!set) {
      const scopes: (string | undefined)[] = type.namespaced && this.options.namespaces.length > 0 ? [...this.options.namespaces] : [undefined];
      const informers = new Map(
        scopes.map((namespace): [string | undefined, Informer<KubernetesObject>] => [
          namespace,
          new Informer(apiListWatch(this.options.kubeConfig, type, { namespace, labelSelector }), {
            name: namespace ? `${type.kind}@${namespace}` : type.kind,
            logger: this.options.logger.child("informer"),
          }),
        ]),
      );
      set = new InformerSet(informers);
      this.informerSets.set(id, set);
    }
    return set;
  }

  private lead(signal: AbortSignal): void {
    if (this.stopping.signal.aborted) return;
    this.leading = true;
    const informers = [...this.informerSets.values()].flatMap((set) => [...set.informers.values()]);
    for (const informer of informers) informer.start();
    void Promise.all(informers.map((informer) => informer.waitForSync())).then(() => {
      if (signal.aborted || this.stopping.signal.aborted) return;
      this.synced = true;
      this.options.logger.info("caches synced; starting controllers", { informers: informers.length, controllers: this.controllers.length });
      for (const controller of this.controllers) controller.start();
      const stop = AbortSignal.any([signal, this.stopping.signal]);
      this.running = this.runnables.map(({ name, run }) =>
        run(stop).catch((error: unknown) => {
          this.options.logger.error("background task failed; stopping so a restart begins afresh", { task: name, error });
          void this.stop("lostLeadership");
        }),
      );
    });
  }

  private async serve(port: number): Promise<Server> {
    const server = createServer((req, res) => {
      const reply = (status: number, body: string, type = "text/plain; charset=utf-8"): void => {
        res.writeHead(status, { "Content-Type": type, "Cache-Control": "no-cache" });
        res.end(body);
      };
      switch ((req.url ?? "/").split("?", 1)[0]) {
        case "/metrics":
          this.registry.metrics().then(
            (text) => reply(200, text, this.registry.contentType),
            () => reply(500, "metrics unavailable\n"),
          );
          return;
        case "/healthz":
          return this.stopping.signal.aborted ? reply(503, "stopping\n") : reply(200, "ok\n");
        case "/readyz":
          // A standby is ready (it is healthy and waiting); a leader once its caches are loaded.
          if (this.stopping.signal.aborted) return reply(503, "stopping\n");
          if (this.leading && !this.synced) return reply(503, "syncing caches\n");
          return reply(200, this.leading ? "leading\n" : "standby\n");
        default:
          return reply(404, "not found\n");
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", (error) => reject(new ListenError("operator metrics/health server", port, error)));
      server.listen(port, this.options.bindAddress, resolve);
    });
    return server;
  }
}
