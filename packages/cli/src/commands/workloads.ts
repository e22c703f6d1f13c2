import type { Command } from "commander";
import { edgeCommand, edgeMetricsCommand } from "./edge.js";
import { originCommand } from "./origin.js";
import { signUrlCommand } from "./sign-url.js";
import { testSourceCommand } from "./test-source.js";
import { vodWorkerCommand } from "./vod-worker.js";

/**
 * The commands the workload images run (origin, test-source, vod-worker, edge). Kept apart from
 * `local` and `operator` so that workloads-main.ts, the images' entry point, never loads the
 * operator: those images do not carry its Kubernetes client and cdk8s (test/images checks it).
 */
export function registerWorkloadCommands(program: Command): void {
  program.addCommand(originCommand());
  program.addCommand(testSourceCommand());
  program.addCommand(vodWorkerCommand());
  for (const command of [edgeCommand(), edgeMetricsCommand(), signUrlCommand()]) program.addCommand(command);
}
