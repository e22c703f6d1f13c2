import { Registry, collectDefaultMetrics } from "prom-client";

export { Counter, Gauge, Histogram, Registry } from "prom-client";

/**
 * One registry per workload instance rather than prom-client's global one, so that tests
 * can run several origins in one process and each /metrics shows only its own numbers.
 */
export function createRegistry(prefix: string, withProcessMetrics = true): Registry {
  const registry = new Registry();
  if (withProcessMetrics) collectDefaultMetrics({ register: registry, prefix: `${prefix}_` });
  return registry;
}
