import type { Command } from "commander";
import { localCommand } from "./local.js";
import { operatorCommand } from "./operator.js";
import { registerWorkloadCommands } from "./workloads.js";

/** Each subcommand lives in its own module beside this one and registers itself here. */
export function registerCommands(program: Command): void {
  program.addCommand(localCommand());
  registerWorkloadCommands(program);
  program.addCommand(operatorCommand());
}
