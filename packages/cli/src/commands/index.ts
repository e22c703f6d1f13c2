import type { Command } from "commander";
import { edgeCommand, edgeMetricsCommand } from "./edge.js";
import { localCommand } from "./local.js";
import { operatorCommand } from "./operator.js";
import { originCommand } from "./origin.js";
import { testSourceCommand } from "./test-source.js";
import { vodWorkerCommand } from "./vod-worker.js";

/** Each subcommand lives in its own module beside this one and registers itself here. */
export function registerCommands(program: Command): void {
  program.addCommand(localCommand());
  program.addCommand(originCommand());
  program.addCommand(testSourceCommand());
  program.addCommand(vodWorkerCommand());
  for (const command of [edgeCommand(), edgeMetricsCommand()]) program.addCommand(command);
  program.addCommand(operatorCommand());
}
