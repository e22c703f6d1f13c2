import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { ConfigError, integerInRange, matching, nonEmptyString, numberInRange, port } from "@live360/core";
import type { LeaderElectionConfig } from "./manager.js";

/** How the operator process runs (as opposed to OperatorConfig: what it deploys). */
export interface OperatorRunConfig {
  /** Namespaces to watch; empty: all namespaces (needs cluster-wide RBAC). */
  namespaces: string[];
  identity: string;
  leaderElection: LeaderElectionConfig | undefined;
  /** /metrics, /healthz, /readyz; 0 serves none. */
  metricsPort: number;
  bindAddress: string;
  /** LiveEvents reconciled in parallel. */
  workers: number;
  /** How often each event's origins' /stat is read while nothing else changes. */
  statPollIntervalSeconds: number;
  /** Every object is reconciled again this often, catching anything a watch missed. */
  resyncIntervalSeconds: number;
}

export interface OperatorRunConfigInput {
  namespaces?: string[];
  identity?: string;
  leaderElect?: boolean;
  leaderElectionNamespace?: string;
  leaderElectionId?: string;
  leaseDurationSeconds?: number;
  renewDeadlineSeconds?: number;
  retryPeriodSeconds?: number;
  metricsPort?: number;
  bindAddress?: string;
  workers?: number;
  statPollIntervalSeconds?: number;
  resyncIntervalSeconds?: number;
}

export const DEFAULT_LEASE = { name: "live360-operator", durationSeconds: 15, renewDeadlineSeconds: 10, retryPeriodSeconds: 2 } as const;
export const DEFAULT_METRICS_PORT = 8080;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Unique per process: two replicas on one host (or a restarted one) never share an identity. */
export function defaultIdentity(): string {
  return `${hostname()}_${randomBytes(4).toString("hex")}`;
}

/** Validates how the operator runs; every error names the field, its flag, the value and the fix. */
export function resolveOperatorRunConfig(input: OperatorRunConfigInput): OperatorRunConfig {
  const namespaces = (input.namespaces ?? []).map((ns) =>
    matching("namespaces (--namespace)", ns, DNS_LABEL, "give namespace names (lowercase letters, digits, '-'), or none to watch all namespaces"),
  );
  let leaderElection: LeaderElectionConfig | undefined;
  if (input.leaderElect) {
    const lease = numberInRange("leaseDurationSeconds (--lease-duration)", input.leaseDurationSeconds ?? DEFAULT_LEASE.durationSeconds, 1, 300);
    const renew = numberInRange("renewDeadlineSeconds (--renew-deadline)", input.renewDeadlineSeconds ?? DEFAULT_LEASE.renewDeadlineSeconds, 0.5, 300);
    const retry = numberInRange("retryPeriodSeconds (--retry-period)", input.retryPeriodSeconds ?? DEFAULT_LEASE.retryPeriodSeconds, 0.1, 60);
    if (!(renew < lease)) throw new ConfigError("renewDeadlineSeconds (--renew-deadline)", renew, `must be shorter than the lease duration (${lease} s): a leader has to step down before its lease can be taken`);
    if (!(retry < renew)) throw new ConfigError("retryPeriodSeconds (--retry-period)", retry, `must be shorter than the renew deadline (${renew} s): a leader needs several renewal attempts per deadline`);
    leaderElection = {
      namespace: matching(
        "leaderElectionNamespace (--leader-election-namespace)",
        input.leaderElectionNamespace ?? process.env.POD_NAMESPACE ?? "default",
        DNS_LABEL,
        "give the namespace the operator runs in (the Helm chart sets POD_NAMESPACE)",
      ),
      leaseName: matching("leaderElectionId (--leader-election-id)", input.leaderElectionId ?? DEFAULT_LEASE.name, DNS_LABEL, "give a Lease name such as live360-operator"),
      leaseDurationMs: lease * 1000,
      renewDeadlineMs: renew * 1000,
      retryPeriodMs: retry * 1000,
    };
  }
  const metricsPort = input.metricsPort ?? DEFAULT_METRICS_PORT;
  return {
    namespaces,
    identity: nonEmptyString("identity (--identity)", input.identity ?? defaultIdentity()),
    leaderElection,
    metricsPort: metricsPort === 0 ? 0 : port("metricsPort (--metrics-port)", metricsPort),
    bindAddress: nonEmptyString("bindAddress (--bind)", input.bindAddress ?? "0.0.0.0"),
    workers: integerInRange("workers (--workers)", input.workers ?? 4, 1, 64),
    statPollIntervalSeconds: numberInRange("statPollIntervalSeconds (--stat-poll-interval)", input.statPollIntervalSeconds ?? 10, 1, 3600),
    resyncIntervalSeconds: numberInRange("resyncIntervalSeconds (--resync-interval)", input.resyncIntervalSeconds ?? 600, 10, 86400),
  };
}
