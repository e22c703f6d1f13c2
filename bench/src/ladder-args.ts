import path from "node:path";
import { DEFAULT_LADDER, FfmpegArgs, LIVE_X264_PARAMS, ladderForSource, type Rendition } from "@live360/core";

/** The ladder every stack makes from the bench input: live360's default ladder for that size. */
export function benchLadder(source: { width: number; height: number }): Rendition[] {
  return ladderForSource(DEFAULT_LADDER, source);
}

/**
 * How the floor and the reference stack encode a rung: the same x264 settings live360 uses
 * (veryfast with LIVE_X264_PARAMS, bitrate capped with a 1.5 s buffer, keyframes exactly where the source has
 * them and nowhere else), so the stacks differ only in how they are put together.
 * `spec` is the stream specifier the options apply to, e.g. `:v:1` or `:v`.
 */
function x264Options(args: FfmpegArgs, rung: Rendition, spec: string): void {
  const kbps = rung.videoBitrateKbps;
  args
    .opt(`-c${spec}`, "libx264")
    .opt(`-preset${spec}`, "veryfast")
    .opt(`-profile${spec}`, "high")
    .opt(`-pix_fmt${spec}`, "yuv420p")
    .opt(`-b${spec}`, `${kbps}k`)
    .opt(`-maxrate${spec}`, `${kbps}k`)
    .opt(`-bufsize${spec}`, `${Math.round(kbps * 1.5)}k`)
    .opt(`-sc_threshold${spec}`, 0)
    .opt(`-g${spec}`, 100_000)
    .opt(`-force_key_frames${spec}`, "source")
    .opt(`-x264-params${spec}`, LIVE_X264_PARAMS);
}

/** Decode once, split, scale each transcoded rung: the labels are [v0], [v1], ... */
function scaleGraph(encoded: readonly Rendition[]): string {
  const splits = encoded.map((_, i) => `[s${i}]`).join("");
  const scales = encoded.map((r, i) => `[s${i}]scale=${r.width}:${r.height}:flags=bicubic[v${i}]`);
  return `[0:v]split=${encoded.length}${splits};${scales.join(";")}`;
}

function encodedRungs(ladder: readonly Rendition[]): Rendition[] {
  return ladder.filter((r) => !r.passthrough);
}

/**
 * The floor: one FFmpeg reading FLV on stdin (as from the encoder) and writing the whole
 * ladder as HLS, the top rung copied. Nothing cheaper can produce the same renditions.
 */
export function floorArgs(ffmpegInput: string, ladder: readonly Rendition[], outDir: string, segmentSeconds: number): string[] {
  const encoded = encodedRungs(ladder);
  const args = new FfmpegArgs().opt("-hide_banner").opt("-loglevel", "error").opt("-f", "flv").input(ffmpegInput);
  if (encoded.length > 0) args.opt("-filter_complex", scaleGraph(encoded));
  const ordered = [...ladder.filter((r) => r.passthrough), ...encoded];
  ordered.forEach((r) => args.opt("-map", r.passthrough ? "0:v:0" : `[v${encoded.indexOf(r)}]`));
  ordered.forEach(() => args.opt("-map", "0:a:0"));
  ordered.forEach((r, i) => (r.passthrough ? args.opt(`-c:v:${i}`, "copy") : x264Options(args, r, `:v:${i}`)));
  args
    .opt("-c:a", "copy")
    .opt("-f", "hls")
    .opt("-hls_time", segmentSeconds)
    .opt("-hls_list_size", 6)
    .opt("-hls_flags", "delete_segments+independent_segments+temp_file")
    .opt("-master_pl_name", "master.m3u8")
    .opt("-hls_segment_filename", path.join(outDir, "%v", "seg_%05d.ts"))
    .opt("-var_stream_map", ordered.map((r, i) => `v:${i},a:${i},name:${r.name}`).join(" "));
  return args.output(path.join(outDir, "%v", "index.m3u8")).build();
}

/**
 * The reference architecture's `exec ffmpeg`: read the stream back from nginx-rtmp and
 * publish each rendition to application `show` as `<name>_<suffix>` (there nginx writes the
 * HLS). `$app`/`$name` are nginx-rtmp's variables, filled in per stream.
 */
export function referenceExecArgs(ffmpegPath: string, rtmpPort: number, ladder: readonly Rendition[]): string[] {
  const encoded = encodedRungs(ladder);
  const args = new FfmpegArgs().opt("-hide_banner").opt("-loglevel", "error").input(`rtmp://127.0.0.1:${rtmpPort}/$app/$name`);
  if (encoded.length > 0) args.opt("-filter_complex", scaleGraph(encoded));
  for (const r of ladder) {
    if (r.passthrough) args.opt("-map", "0:v:0").opt("-map", "0:a:0").opt("-c:v", "copy");
    else {
      args.opt("-map", `[v${encoded.indexOf(r)}]`).opt("-map", "0:a:0");
      x264Options(args, r, ":v");
    }
    args.opt("-c:a", "copy").opt("-f", "flv").output(`rtmp://127.0.0.1:${rtmpPort}/show/$name${referenceSuffix(r)}`);
  }
  return [ffmpegPath, ...args.build()];
}

/** `hls_variant` matches streams by name suffix. */
export function referenceSuffix(rung: Rendition): string {
  return rung.passthrough ? "_src" : `_${rung.height}`;
}
