import { KubeConfig } from "@kubernetes/client-node";
import { ConfigError, type Logger } from "@live360/core";
import type { OperatorConfig } from "./config.js";
import { liveEventController, type FetchOriginStat } from "./liveevent/reconcile.js";
import { withRequestTimeout } from "./engine/client.js";
import { Manager, type ControllerFactory } from "./manager.js";
import type { OperatorRunConfig } from "./run-config.js";
import { resolveVodJobSettings, type VodJobSettings } from "./vodjob/settings.js";
import { vodJobController } from "./vodjob/reconcile.js";

/** `file`, else KUBECONFIG, ~/.kube/config or the pod's service account (client-node's default order). */
export function loadKubeConfig(file: string | undefined): KubeConfig {
  const kubeConfig = new KubeConfig();
  try {
    if (file) kubeConfig.loadFromFile(file);
    else kubeConfig.loadFromDefault();
  } catch (error) {
    throw new ConfigError("kubeconfig (--kubeconfig)", file, `give a readable kubeconfig file (${error instanceof Error ? error.message : String(error)})`);
  }
  if (!kubeConfig.getCurrentCluster()) {
    throw new ConfigError("kubeconfig (--kubeconfig)", file, "no cluster found: pass --kubeconfig, set KUBECONFIG, or run in a pod with a service account");
  }
  return withRequestTimeout(kubeConfig);
}

export interface StartOperatorOptions {
  kubeConfig: KubeConfig;
  run: OperatorRunConfig;
  config: OperatorConfig;
  logger: Logger;
  /** Tests on kwok nodes feed the origins' /stat; production reads it over HTTP. */
  fetchStat?: FetchOriginStat;
  /** The VodJob controller's settings; by default no VOD queue is polled and VodJobs need their own egress prefix. */
  vodJobs?: VodJobSettings;
}

/**
 * Every controller the operator runs. A new kind adds its factory here (its informers, reconcile
 * and background tasks come from the ManagerContext it is given); nothing else changes.
 */
export function operatorControllers(options: StartOperatorOptions): ControllerFactory[] {
  const { run, config, fetchStat } = options;
  const workers = run.workers;
  const resyncIntervalMs = run.resyncIntervalSeconds * 1000;
  return [
    liveEventController({ config, fetchStat, workers, resyncIntervalMs, statPollIntervalMs: run.statPollIntervalSeconds * 1000 }),
    vodJobController({ config, settings: options.vodJobs ?? resolveVodJobSettings(), namespaces: run.namespaces, workers, resyncIntervalMs }),
  ];
}

/** Starts the operator: HTTP endpoints at once, controllers when (and while) it leads. */
export async function startOperator(options: StartOperatorOptions): Promise<Manager> {
  const { run } = options;
  const manager = new Manager({
    kubeConfig: options.kubeConfig,
    namespaces: run.namespaces,
    identity: run.identity,
    leaderElection: run.leaderElection,
    httpPort: run.metricsPort === 0 ? undefined : run.metricsPort,
    bindAddress: run.bindAddress,
    logger: options.logger,
    controllers: operatorControllers(options),
  });
  await manager.start();
  options.logger.info("operator started", {
    identity: run.identity,
    namespaces: run.namespaces.length > 0 ? run.namespaces : "all",
    leaderElection: run.leaderElection ? `${run.leaderElection.namespace}/${run.leaderElection.leaseName}` : "off",
    metricsPort: manager.port,
  });
  return manager;
}
