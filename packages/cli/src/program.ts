import { Command, CommanderError } from "commander";
import { Live360Error } from "@live360/core";

/** Builds the `live360` program from `register` and runs it on this process's arguments. */
export async function runCli(register: (program: Command) => void): Promise<void> {
  const program = new Command()
    .name("live360")
    .description("Live and on-demand 360° video streaming: local mode, workloads and the Kubernetes operator")
    .version("0.1.0")
    .showHelpAfterError()
    .exitOverride();
  register(program);
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) process.exit(err.exitCode);
    // Explained failures (bad flag values, missing ffmpeg) print one readable line, not a stack.
    if (err instanceof Live360Error) {
      process.stderr.write(`live360: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}
