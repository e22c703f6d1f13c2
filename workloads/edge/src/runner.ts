import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { createInterface } from "node:readline";
import { Live360Error, ListenError, TypedEmitter, createLogger, sleep, type Logger } from "@live360/core";
import { ORIGIN_VERIFY_ENV, SIGNING_KEYS_ENV, formatSigningKeys, type EdgeConfig } from "./config.js";
import type { PeerSource } from "./insight/peers.js";
import { startEdgeInsight, type InsightServer } from "./insight/server.js";
import { startLlHlsRelay, type LlHlsRelay } from "./ll-relay.js";
import { startEdgeMetrics, type EdgeMetricsServer } from "./metrics.js";
import { checkNginxSupports, resolveNginx, testNginxConf, type NginxBinary } from "./nginx-binary.js";
import { STUB_STATUS_PATH, drainFlagPath, insightSpoolDir, renderEdgeFiles } from "./nginx-conf.js";

/** nginx exited while the edge was supposed to be running. */
export class NginxExitedError extends Live360Error {
  constructor(
    readonly code: number | null,
    readonly signal: NodeJS.Signals | null,
    readonly stderrTail: string,
  ) {
    super(`nginx exited with ${signal ? `signal ${signal}` : `code ${code}`}${stderrTail ? `: ${stderrTail}` : ""}`);
  }
}

export interface EdgeRunnerEvents {
  /** nginx answers /healthz. */
  ready: [];
  /** Readiness now fails; nginx still serves. */
  draining: [];
  /** nginx exited on its own (not through close()). */
  failed: [NginxExitedError];
  closed: [];
}

export interface RunEdgeOptions {
  logger?: Logger;
  /** How long nginx may take to answer /healthz after starting. */
  startTimeoutMs?: number;
  /** Other edges whose heatmaps this one adds to its own (with insightPort). */
  insightPeers?: PeerSource;
}

const STDERR_TAIL_LINES = 10;

/**
 * Runs Debian's nginx with the generated configuration for local use, supervising it the
 * way a pod would: `nginx -t` before start, `daemon off` as a child, the metrics sidecar
 * in-process, and the Spot-safe stop sequence on close().
 */
export class EdgeRunner extends TypedEmitter<EdgeRunnerEvents> {
  private closePromise: Promise<void> | undefined;
  private drainingSince: number | undefined;
  private readonly stderrTail: string[] = [];
  private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private metrics: EdgeMetricsServer | undefined;
  private insight: InsightServer | undefined;
  private relay: LlHlsRelay | undefined;

  private constructor(
    readonly config: EdgeConfig,
    readonly nginx: NginxBinary,
    private readonly child: ChildProcess,
    private readonly log: Logger,
  ) {
    super();
    this.exited = new Promise((resolve) => child.once("close", (code, signal) => resolve({ code, signal })));
    createInterface({ input: child.stderr! }).on("line", (line) => {
      this.stderrTail.push(line);
      if (this.stderrTail.length > STDERR_TAIL_LINES) this.stderrTail.shift();
      this.log.warn("nginx", { line });
    });
    void this.exited.then(({ code, signal }) => {
      if (this.closePromise) return;
      const error = new NginxExitedError(code, signal, this.stderrTail.join(" | "));
      this.log.error("nginx exited unexpectedly", { error });
      this.emit("failed", error);
    });
  }

  static async start(requested: EdgeConfig, options: RunEdgeOptions = {}): Promise<EdgeRunner> {
    const log = options.logger ?? createLogger("edge");
    // Run as root, nginx would hand its workers to `nobody`, who cannot write the caller's
    // work dir: a local edge keeps the caller's identity unless a user is configured.
    const config = requested.user === undefined && process.getuid?.() === 0 ? { ...requested, user: "root" } : requested;
    const nginx = await resolveNginx();
    await checkNginxSupports(nginx, config);
    await mkdir(path.join(config.workDir, "tmp"), { recursive: true });
    if (config.insightPort !== undefined) await mkdir(insightSpoolDir(config), { recursive: true });
    await mkdir(config.cache.dir, { recursive: true });
    // A flag left behind by a previous run would keep a fresh edge out of the load balancer.
    await rm(drainFlagPath(config), { force: true });
    const confPath = path.join(config.workDir, "nginx.conf");
    for (const [name, text] of Object.entries(renderEdgeFiles(config))) await writeFile(path.join(config.workDir, name), text);
    const env: NodeJS.ProcessEnv = { ...process.env };
    if (config.signingKeys !== undefined) env[SIGNING_KEYS_ENV] = formatSigningKeys(config.signingKeys);
    if (config.originVerifyValues !== undefined) env[ORIGIN_VERIFY_ENV] = config.originVerifyValues.join("\n");
    await testNginxConf(nginx, config.workDir, confPath, env);
    const insight = config.insightPort === undefined ? undefined : await startEdgeInsight(config.insightPort, insightSpoolDir(config), log.child("insight"), options.insightPeers);
    const relay = config.llHlsRelayPort === undefined ? undefined : await startLlHlsRelay(config, config.llHlsRelayPort, log.child("ll-hls-relay"));
    const child = spawn(nginx.path, ["-p", config.workDir, "-c", confPath, "-g", "daemon off;"], {
      env,
      stdio: ["ignore", "ignore", "pipe"],
    });
    const runner = new EdgeRunner(config, nginx, child, log);
    runner.insight = insight?.server;
    runner.relay = relay;
    try {
      await runner.waitUntilServing(options.startTimeoutMs ?? 15_000);
      runner.metrics = await startEdgeMetrics({
        ...(insight ? { extraRegistry: insight.registry, extraRoute: insight.localHeatmapRoute } : {}),
        statusUrl: `http://127.0.0.1:${config.statusPort}${STUB_STATUS_PATH}`,
        port: config.metricsPort,
        bindAddress: config.listenAddress,
        logger: log.child("metrics"),
        isDraining: () => runner.draining,
      });
    } catch (err) {
      await runner.close();
      throw err;
    }
    log.info("edge ready", {
      listen: `http://${config.listenAddress}:${config.listenPort}/hls/<stream>/master.m3u8`,
      origins: config.origins.map((o) => `${o.name}=${o.hostPort}`),
      nginx: `${nginx.path} ${nginx.version.join(".")}`,
      metrics: `http://${config.listenAddress}:${config.metricsPort}/metrics`,
      signedUrls: config.signedUrls,
      cdnOnly: config.cdnOnly,
    });
    runner.emit("ready");
    return runner;
  }

  /** The LL-HLS relay run beside nginx (with llHlsRelayPort); undefined without one. */
  get llHlsRelay(): LlHlsRelay | undefined {
    return this.relay;
  }

  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** http://127.0.0.1:<listen port> (loopback even when listening on every address). */
  get url(): string {
    const host = this.config.listenAddress === "0.0.0.0" ? "127.0.0.1" : this.config.listenAddress;
    return `http://${host}:${this.config.listenPort}`;
  }

  private async waitUntilServing(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    void this.exited.then(() => (exited = true));
    while (Date.now() < deadline) {
      if (exited) {
        const tail = this.stderrTail.join(" | ");
        const bindFailure = /bind\(\) to (\S+) failed \((.*?)\)/.exec(tail);
        if (bindFailure) throw new ListenError("edge nginx", this.config.listenPort, new Error(`${bindFailure[1]}: ${bindFailure[2]}`));
        const { code, signal } = await this.exited;
        throw new NginxExitedError(code, signal, tail);
      }
      const ok = await fetch(`${this.url}/healthz`, { signal: AbortSignal.timeout(1000) }).then(
        (res) => res.status === 200,
        () => false,
      );
      if (ok) return;
      await sleep(50);
    }
    throw new Live360Error(`nginx did not answer ${this.url}/healthz within ${timeoutMs} ms: ${this.stderrTail.join(" | ")}`);
  }

  /** Makes /readyz fail (the load balancer stops sending viewers); nginx keeps serving. */
  async drain(): Promise<void> {
    if (this.drainingSince !== undefined) return;
    this.drainingSince = Date.now();
    await writeFile(drainFlagPath(this.config), `${new Date().toISOString()}\n`);
    this.log.info("draining: readiness fails from now on", { drainDelaySeconds: this.config.drainDelaySeconds });
    this.emit("draining");
  }

  /**
   * The Spot-safe stop (SIGTERM/preStop): readiness fails first, viewers keep being served
   * for the drain delay while the load balancer takes the edge out, then nginx quits
   * gracefully (SIGQUIT, what `nginx -s quit` sends), finishing in-flight downloads, and is
   * killed only if the shutdown grace runs out. Idempotent.
   */
  close(): Promise<void> {
    if (this.closePromise) return this.closePromise;
    const grace = this.config.shutdownGraceSeconds * 1000;
    const startedAt = Date.now();
    this.closePromise = (async () => {
      const running = this.child.exitCode === null && this.child.signalCode === null;
      if (running) {
        await this.drain().catch((err: unknown) => this.log.warn("could not write the drain flag", { error: err }));
        await Promise.race([sleep(this.config.drainDelaySeconds * 1000), this.exited]);
        this.log.info("stopping nginx gracefully (SIGQUIT)");
        this.child.kill("SIGQUIT");
        const remaining = Math.max(0, grace - (Date.now() - startedAt));
        const killer = setTimeout(() => {
          this.log.warn("shutdown grace exhausted: killing nginx", { graceSeconds: this.config.shutdownGraceSeconds });
          this.child.kill("SIGKILL");
        }, remaining);
        await this.exited;
        clearTimeout(killer);
      }
      await this.metrics?.close();
      await this.insight?.close();
      await this.relay?.close();
      await rm(drainFlagPath(this.config), { force: true });
      this.log.info("edge stopped", { afterMs: Date.now() - startedAt });
      this.emit("closed");
    })();
    return this.closePromise;
  }
}

export function runEdge(config: EdgeConfig, options?: RunEdgeOptions): Promise<EdgeRunner> {
  return EdgeRunner.start(config, options);
}
