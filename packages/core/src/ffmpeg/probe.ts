import { resolveBinary } from "./resolve.js";
import { runOnce } from "./supervisor.js";

export interface ProbedStream {
  index: number;
  codec_type: "video" | "audio" | "data" | "subtitle";
  codec_name: string;
  profile?: string;
  level?: number;
  width?: number;
  height?: number;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  bit_rate?: string;
  duration?: string;
  /** Seconds, the stream's first presentation timestamp. */
  start_time?: string;
}

export interface ProbeResult {
  streams: ProbedStream[];
  format: { duration?: string; size?: string; bit_rate?: string; format_name?: string };
}

/** ffprobe as JSON; throws FfmpegRunError when the file is unreadable. */
export async function probe(file: string, timeoutMs = 30_000): Promise<ProbeResult> {
  const ffprobe = await resolveBinary("ffprobe");
  const { stdout } = await runOnce(
    ffprobe,
    ["-v", "error", "-print_format", "json", "-show_format", "-show_streams", file],
    { timeoutMs },
  );
  return JSON.parse(stdout) as ProbeResult;
}

/** "30000/1001" → 29.97; "0/0" → 0. */
export function parseFrameRate(rate: string | undefined): number {
  if (!rate) return 0;
  const [num, den] = rate.split("/").map(Number);
  if (!num || !den) return 0;
  return num / den;
}
