#!/usr/bin/env node
import { registerCommands } from "./commands/index.js";
import { runCli } from "./program.js";

await runCli(registerCommands);
