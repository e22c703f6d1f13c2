import { baseArgs } from "@live360/core";
import { keyframeIntervalFrames, type TestSourceConfig } from "./config.js";

/** Text burned into the picture; absent when FFmpeg lacks drawtext or the font is missing. */
export interface TextOverlay {
  fontFile: string;
  /** The frame counter continues from here, so it keeps counting across reconnects. */
  firstFrameNumber: number;
}

/** Where the encoded stream goes: the receivers, or nowhere (a quick check of the arguments). */
export type Target = { kind: "rtmp"; urls: readonly string[]; seconds: number | undefined } | { kind: "null"; frames: number };

/**
 * Where each viewing direction sits in an equirectangular frame, as a fraction of its width:
 * yaw 0 is the centre, yaw +90° (right) three quarters across, and the back straddles the
 * seam, so it is drawn at both edges and reads whole once wrapped onto the sphere.
 */
const DIRECTIONS: readonly { label: string; centres: readonly number[] }[] = [
  { label: "FRONT", centres: [0.5] },
  { label: "RIGHT", centres: [0.75] },
  { label: "BACK", centres: [0, 1] },
  { label: "LEFT", centres: [0.25] },
];

/**
 * UTC wall-clock time with milliseconds at the moment the frame is drawn (`time(0)`), and the
 * frame number. Each field is a separate evaluation microseconds apart, so a frame drawn just
 * as a second rolls over may show the neighbouring second; that is one frame in ~10^5.
 */
const TIMECODE =
  "UTC %{eif\\:mod(floor(time(0)/3600)\\,24)\\:d\\:2}\\:%{eif\\:mod(floor(time(0)/60)\\,60)\\:d\\:2}" +
  "\\:%{eif\\:mod(floor(time(0))\\,60)\\:d\\:2}.%{eif\\:mod(floor(time(0)*1000)\\,1000)\\:d\\:3}";
const FRAME_COUNTER = "frame %{eif\\:n\\:d\\:7}";

function drawDirection(label: string, centre: number, config: TestSourceConfig, overlay: TextOverlay): string {
  const fontSize = Math.max(10, Math.round(config.height / 28));
  // Above the horizon, where equirectangular distortion is smallest.
  const options = [
    `fontfile='${overlay.fontFile}'`,
    `fontsize=${fontSize}`,
    "fontcolor=white",
    "box=1",
    "boxcolor=black@0.6",
    `boxborderw=${Math.round(fontSize / 4)}`,
    `line_spacing=${Math.round(fontSize / 4)}`,
    `start_number=${overlay.firstFrameNumber}`,
    `x=${centre}*w-tw/2`,
    `y=h/2-th-${fontSize}`,
    `text='${label}\n${TIMECODE}\n${FRAME_COUNTER}'`,
  ];
  return `drawtext=${options.join(":")}`;
}

/**
 * The picture: FFmpeg's moving test pattern under a 30° longitude/latitude grid, a bright
 * horizon and the four viewing directions, so a 360 player's orientation and a stream's
 * latency can both be read off the screen. Audio: a steady sine tone.
 */
export function patternGraph(config: TestSourceConfig, overlay: TextOverlay | undefined): string {
  const horizon = Math.max(2, Math.round(config.height / 240) * 2);
  const video = [
    `testsrc2=size=${config.width}x${config.height}:rate=${config.fps}`,
    "drawgrid=w=iw/12:h=ih/6:t=2:c=white@0.5",
    `drawbox=x=0:y=ih/2-${horizon / 2}:w=iw:h=${horizon}:c=yellow@0.9:t=fill`,
  ];
  if (overlay) {
    for (const { label, centres } of DIRECTIONS) for (const centre of centres) video.push(drawDirection(label, centre, config, overlay));
  }
  return `${video.join(",")}[out0];sine=frequency=${config.toneHz}:sample_rate=48000[out1]`;
}

/**
 * The FFmpeg command. x264 `veryfast` without `zerolatency` (a realistic encoder keeps its
 * lookahead), but with a fixed GOP: a keyframe exactly every interval, no scene-cut
 * keyframes, and a fixed two-B-frame pattern without pyramid, so what origins receive is
 * predictable from run to run. Several URLs get one encode: the tee muxer sends the same
 * packets to each, so their origins cut the same segments.
 */
export function buildTestSourceArgs(config: TestSourceConfig, overlay: TextOverlay | undefined, target: Target): string[] {
  const gop = keyframeIntervalFrames(config);
  const args = baseArgs();
  // -re paces the synthetic source to real time, as a camera would deliver it.
  if (target.kind === "rtmp") args.opt("-re");
  args
    .opt("-f", "lavfi")
    .input(patternGraph(config, overlay))
    .opt("-map", "0:v")
    .opt("-map", "0:a")
    .opt("-c:v", "libx264")
    .opt("-preset", "veryfast")
    .opt("-profile:v", "high")
    .opt("-pix_fmt", "yuv420p")
    .opt("-b:v", `${config.videoBitrateKbps}k`)
    .opt("-maxrate", `${config.videoBitrateKbps}k`)
    .opt("-bufsize", `${config.videoBitrateKbps * 2}k`)
    .opt("-g", gop)
    .opt("-keyint_min", gop)
    .opt("-sc_threshold", 0)
    .opt("-bf", 2)
    .opt("-x264-params", "b-adapt=0:b-pyramid=none")
    .opt("-c:a", "aac")
    .opt("-b:a", `${config.audioBitrateKbps}k`)
    .opt("-ac", 2);
  if (target.kind === "null") return args.opt("-frames:v", target.frames).opt("-f", "null").output("-").build();
  if (target.seconds !== undefined) args.opt("-t", target.seconds.toFixed(3));
  if (target.urls.length === 1) return args.opt("-flvflags", FLV_FLAGS).opt("-f", "flv").output(target.urls[0]!).build();
  return args
    // A reconnected output starts over with an FLV header made from the streams' parameters,
    // which hold the codecs' configuration only when it is global: without it the output gets
    // no usable AVC sequence header (an origin made no segments of it).
    .opt("-flags:v", "+global_header")
    .opt("-flags:a", "+global_header")
    .opt("-f", "tee")
    .opt("-use_fifo", 1)
    .opt("-fifo_options", TEE_FIFO_OPTIONS)
    .output(target.urls.map(teeOutput).join("|"))
    .build();
}

/** RTMP is not seekable: without this the FLV muxer warns at the end that it cannot go back. */
const FLV_FLAGS = "no_duration_filesize";

/**
 * Options of the fifo the tee puts in front of every output, so each output connects, fails
 * and reconnects on its own thread: an unreachable receiver is retried every second and
 * resumes at a keyframe, while its packets are dropped instead of holding up the encoder and
 * the other outputs.
 */
const TEE_FIFO_OPTIONS = "attempt_recovery=1:recover_any_error=1:restart_with_keyframe=1:drop_pkts_on_overflow=1:recovery_wait_time=1";

/**
 * One output of the tee muxer: FLV as for a single URL, and a failure that leaves the others
 * publishing. The tee splits its list with FFmpeg's tokenizer, where `\`, `'` and `|` are
 * special, so those are escaped; everything after the `]` of the options is the URL verbatim.
 */
export function teeOutput(url: string): string {
  return `[f=flv:flvflags=${FLV_FLAGS}:onfail=ignore]${url.replace(/[\\'|]/g, "\\$&")}`;
}
