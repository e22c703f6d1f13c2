/**
 * A typed FFmpeg argument builder. Arguments stay an array end to end (never a shell string
 * and never re-split), so values such as `-var_stream_map "v:0,a:0 v:1,a:1"` survive intact.
 */
export type ArgValue = string | number;

export class FfmpegArgs {
  private readonly args: string[] = [];

  /** Adds one option, with or without a value: `opt("-y")`, `opt("-c:v", "libx264")`. */
  opt(flag: `-${string}`, value?: ArgValue): this {
    this.args.push(flag);
    if (value !== undefined) this.args.push(String(value));
    return this;
  }

  /** Adds the same option once per value, e.g. several `-map` selections. */
  each(flag: `-${string}`, values: readonly ArgValue[]): this {
    for (const value of values) this.opt(flag, value);
    return this;
  }

  input(source: string): this {
    return this.opt("-i", source);
  }

  /** An output target: a file, a pattern or `pipe:1`; options before it apply to it. */
  output(target: string): this {
    this.args.push(target);
    return this;
  }

  build(): string[] {
    return [...this.args];
  }
}

/** The common prefix: quiet banner, errors on stderr, machine-readable progress on stdout. */
export function baseArgs(): FfmpegArgs {
  return new FfmpegArgs().opt("-hide_banner").opt("-nostats").opt("-loglevel", "error").opt("-progress", "pipe:1");
}

/** One block of FFmpeg's `-progress` output, parsed. */
export interface FfmpegProgress {
  frame: number;
  fps: number;
  /** Media time processed so far, in seconds. */
  outTimeSeconds: number;
  /** Processing speed relative to real time (1 = real time). */
  speed: number;
  totalSizeBytes: number;
  ended: boolean;
}

/** Parses one `key=value` block that ends with a `progress=continue|end` line. */
export function parseProgressBlock(lines: readonly string[]): FfmpegProgress {
  const fields = new Map<string, string>();
  for (const line of lines) {
    const eq = line.indexOf("=");
    if (eq > 0) fields.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  const num = (key: string): number => {
    const value = Number.parseFloat(fields.get(key) ?? "");
    return Number.isFinite(value) ? value : 0;
  };
  const outTimeUs = fields.get("out_time_us") ?? fields.get("out_time_ms");
  return {
    frame: num("frame"),
    fps: num("fps"),
    outTimeSeconds: outTimeUs && Number.isFinite(Number(outTimeUs)) ? Math.max(0, Number(outTimeUs)) / 1e6 : 0,
    speed: num("speed"),
    totalSizeBytes: num("total_size"),
    ended: fields.get("progress") === "end",
  };
}
