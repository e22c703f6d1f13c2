import { Command } from "commander";
import { startOrigin } from "@live360/origin";
import { addOriginOptions, originConfigFromFlags, type OriginFlags } from "./origin-options.js";
import { closeOnSignal } from "./lifecycle.js";

export function originCommand(): Command {
  return addOriginOptions(
    new Command("origin").description(
      "RTMP ingest → one supervised FFmpeg per stream writing an ABR HLS ladder (source passed through), recording, HLS over HTTP",
    ),
  ).action(async (flags: OriginFlags) => {
    const origin = await startOrigin(originConfigFromFlags(flags));
    await closeOnSignal(() => origin.close());
  });
}
