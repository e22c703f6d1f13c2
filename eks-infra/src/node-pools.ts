/**
 * The managed node groups, as data: the stack builds one group per pool and the tests and the
 * README read the same table.
 *
 * One small on-demand pool for the operator, cluster add-ons and origins whose LiveEvent asks for
 * `capacityType: onDemand`; one Spot pool per live360 workload so each is sized for its job. Each
 * Spot pool lists instance types of one shape (equal vCPU and memory) across families and
 * generations: the more Spot pools EC2 may draw from, the rarer an interruption and the faster a
 * replacement. EKS sets the allocation strategy (capacity-optimized family) and Capacity
 * Rebalancing on each Spot group's Auto Scaling group itself.
 */

/** Node label (and taint key) naming the pool; LiveEvents select pools with it. */
export const POOL_LABEL = "live360.io/pool";

export type PoolName = "system" | "origin" | "edge" | "vod";

export interface NodePool {
  name: PoolName;
  capacityType: "ON_DEMAND" | "SPOT";
  instanceTypes: string[];
  /** vCPU and GiB of every instance type in the pool. */
  shape: { vcpu: number; memoryGiB: number };
  minSize: number;
  maxSize: number;
  desiredSize: number;
  /** Root volume: origins keep recordings and VOD workers their transcodes on the node until uploaded. */
  diskGiB: number;
  /**
   * Spot pools are tainted (NoSchedule) with `live360.io/pool=<name>`: only pods that tolerate it
   * land there, so cluster add-ons never sit on reclaimable capacity by accident.
   */
  tainted: boolean;
}

export const NODE_POOLS: readonly NodePool[] = [
  {
    name: "system",
    capacityType: "ON_DEMAND",
    instanceTypes: ["m7i.large", "m6i.large", "m6a.large"],
    shape: { vcpu: 2, memoryGiB: 8 },
    minSize: 2,
    maxSize: 6,
    desiredSize: 2,
    diskGiB: 20,
    tainted: false,
  },
  {
    // Origins transcode the ABR ladder (4K source, three x264 rungs): compute-optimised, 8 vCPU.
    name: "origin",
    capacityType: "SPOT",
    instanceTypes: ["c7i.2xlarge", "c6i.2xlarge", "c6a.2xlarge", "c5.2xlarge", "c5a.2xlarge"],
    shape: { vcpu: 8, memoryGiB: 16 },
    minSize: 0,
    maxSize: 20,
    desiredSize: 2,
    diskGiB: 100,
    tainted: true,
  },
  {
    // Edges are nginx caches bound by network throughput: 4 vCPU, c6in for its 30 Gbit/s networking when EC2 has it.
    name: "edge",
    capacityType: "SPOT",
    instanceTypes: ["c7i.xlarge", "c6i.xlarge", "c6in.xlarge", "c6a.xlarge", "c5.xlarge"],
    shape: { vcpu: 4, memoryGiB: 8 },
    minSize: 0,
    maxSize: 40,
    desiredSize: 2,
    diskGiB: 50,
    tainted: true,
  },
  {
    // VOD transcodes are batch work that scales from zero; bigger nodes finish a recording sooner.
    name: "vod",
    capacityType: "SPOT",
    instanceTypes: ["c7i.4xlarge", "c6i.4xlarge", "c6a.4xlarge", "c5.4xlarge", "c5a.4xlarge"],
    shape: { vcpu: 16, memoryGiB: 32 },
    minSize: 0,
    maxSize: 10,
    desiredSize: 0,
    diskGiB: 200,
    tainted: true,
  },
];
