import { Command } from "commander";
import { createLogger } from "@live360/core";
import { startOrigin } from "@live360/origin";
import { addOriginOptions, originConfigFromFlags, recordingOptionsFromFlags, type OriginFlags } from "./origin-options.js";
import { closeOnSignal } from "./lifecycle.js";

export function originCommand(): Command {
  return addOriginOptions(
    new Command("origin").description(
      "RTMP ingest → one supervised FFmpeg per stream writing an ABR HLS ladder (source passed through), recording, HLS over HTTP",
    ),
  ).action(async (flags: OriginFlags) => {
    const config = originConfigFromFlags(flags);
    const origin = await startOrigin(config, recordingOptionsFromFlags(flags, createLogger("origin")));
    await closeOnSignal(() => origin.close());
  });
}
