import { describe, expect, test } from "@jest/globals";
import { resolveTestSourceConfig } from "./config.js";
import { buildTestSourceArgs, teeOutput } from "./pattern.js";

const primary = "rtmp://primary:1935/live/test";
const backup = "rtmp://backup:1935/live/test";
const config = resolveTestSourceConfig({ urls: [primary, backup], width: 640, height: 320 });

/** The arguments up to the first output option, which every target shares: one encode. */
function encoding(args: string[]): string[] {
  return args.slice(0, args.indexOf("-ac") + 2);
}

describe("test source FFmpeg arguments", () => {
  test("one URL: FLV straight to it, as ever", () => {
    const args = buildTestSourceArgs(config, undefined, { kind: "rtmp", urls: [primary], seconds: 5 });
    expect(args.slice(encoding(args).length)).toEqual(["-t", "5.000", "-flvflags", "no_duration_filesize", "-f", "flv", primary]);
  });

  test("several URLs: the same encode, teed through a self-healing fifo per URL", () => {
    const one = buildTestSourceArgs(config, undefined, { kind: "rtmp", urls: [primary], seconds: undefined });
    const both = buildTestSourceArgs(config, undefined, { kind: "rtmp", urls: [primary, backup], seconds: undefined });
    expect(encoding(both)).toEqual(encoding(one));
    expect(both.slice(encoding(both).length)).toEqual([
      "-flags:v", "+global_header",
      "-flags:a", "+global_header",
      "-f", "tee",
      "-use_fifo", "1",
      "-fifo_options", "attempt_recovery=1:recover_any_error=1:restart_with_keyframe=1:drop_pkts_on_overflow=1:recovery_wait_time=1",
      `[f=flv:flvflags=no_duration_filesize:onfail=ignore]${primary}|[f=flv:flvflags=no_duration_filesize:onfail=ignore]${backup}`,
    ]);
  });

  test("a duration applies to every output", () => {
    const args = buildTestSourceArgs(config, undefined, { kind: "rtmp", urls: [primary, backup], seconds: 2.5 });
    expect(args.indexOf("-t")).toBeLessThan(args.indexOf("tee"));
    expect(args[args.indexOf("-t") + 1]).toBe("2.500");
  });

  test("tee outputs escape what FFmpeg's tokenizer would split or unquote, and keep the rest verbatim", () => {
    expect(teeOutput("rtmp://h/live/a|b'c\\d[e]:f?key=g")).toBe("[f=flv:flvflags=no_duration_filesize:onfail=ignore]rtmp://h/live/a\\|b\\'c\\\\d[e]:f?key=g");
  });

  test("the check run encodes to nowhere", () => {
    const args = buildTestSourceArgs(config, undefined, { kind: "null", frames: 1 });
    expect(args.slice(-5)).toEqual(["-frames:v", "1", "-f", "null", "-"]);
    expect(args).not.toContain("tee");
  });
});
