#!/usr/bin/env node
// `live360` in the workload images (origin, vod-worker, test-source): every command but `local`
// and `operator`, so nothing loads the operator, which those images leave out.
import { registerWorkloadCommands } from "./commands/workloads.js";
import { runCli } from "./program.js";

await runCli(registerWorkloadCommands);
