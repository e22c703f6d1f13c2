import { Counter, Gauge, createRegistry, type Registry } from "@live360/core";

/** The origin's Prometheus metrics; one set per origin instance. */
export interface OriginMetrics {
  registry: Registry;
  publishAccepted: Counter<string>;
  publishRefused: Counter<"reason">;
  streamErrors: Counter<"reason">;
  ingestLimits: Counter<"limit">;
  httpLimits: Counter<"limit">;
  streamsLive: Gauge<string>;
  ffmpegRestarts: Counter<"stream">;
  ffmpegStalls: Counter;
  ladderSkips: Counter;
  cmafPackagerErrors: Counter;
  ffmpegSpeed: Gauge<"stream">;
  segments: Counter<"stream" | "rendition">;
  inputBitrate: Gauge<"stream">;
  recordings: Counter<"result">;
  recordingUploadFailures: Counter<"step">;
  recordingsPending: Gauge<string>;
  httpRequests: Counter<"kind" | "status">;
}

export function createOriginMetrics(): OriginMetrics {
  const registry = createRegistry("live360_origin");
  const registers = [registry];
  return {
    registry,
    publishAccepted: new Counter({ name: "live360_origin_publish_accepted_total", help: "Publishes accepted", registers }),
    publishRefused: new Counter({
      name: "live360_origin_publish_refused_total",
      help: "Publishes refused, by reason",
      labelNames: ["reason"],
      registers,
    }),
    streamErrors: new Counter({
      name: "live360_origin_stream_errors_total",
      help: "Accepted publishes the origin ended, by reason (protocol-error, invalid-video-header, unsupported-video-codec, no-video, no-keyframe)",
      labelNames: ["reason"],
      registers,
    }),
    ingestLimits: new Counter({
      name: "live360_origin_ingest_limits_total",
      help: "RTMP connections closed or refused at a resource limit, by limit (max-connections, max-connections-per-address, publish-timeout, idle-timeout, message-too-long, too-many-chunk-streams)",
      labelNames: ["limit"],
      registers,
    }),
    httpLimits: new Counter({
      name: "live360_origin_http_limits_total",
      help: "HTTP connections closed or requests refused at a limit, by limit (max-connections, request-timeout, headers-too-large, bad-request, send-timeout)",
      labelNames: ["limit"],
      registers,
    }),
    cmafPackagerErrors: new Counter({
      name: "live360_origin_cmaf_packager_errors_total",
      help: "CMAF variants whose FFmpeg output the packager could not cut (the variant stalls until the ladder restarts)",
      registers,
    }),
    streamsLive: new Gauge({ name: "live360_origin_streams_live", help: "Streams with an active publisher", registers }),
    ffmpegRestarts: new Counter({
      name: "live360_origin_ffmpeg_restarts_total",
      help: "Ladder FFmpeg restarts after an unexpected exit",
      labelNames: ["stream"],
      registers,
    }),
    ffmpegStalls: new Counter({
      name: "live360_origin_ffmpeg_stalls_total",
      help: "Ladder FFmpegs killed because they stopped making progress with input waiting, or left too much input unread (each is then restarted)",
      registers,
    }),
    ladderSkips: new Counter({
      name: "live360_origin_ladder_skips_total",
      help: "Times a ladder FFmpeg fell behind its input (over 16 MiB unread) and was fed again only from a later keyframe",
      registers,
    }),
    ffmpegSpeed: new Gauge({
      name: "live360_origin_ffmpeg_speed",
      help: "Ladder FFmpeg processing speed (1 = real time)",
      labelNames: ["stream"],
      registers,
    }),
    segments: new Counter({
      name: "live360_origin_segments_total",
      help: "Segments that appeared in each variant playlist of a live stream (read once a second)",
      labelNames: ["stream", "rendition"],
      registers,
    }),
    inputBitrate: new Gauge({
      name: "live360_origin_input_bitrate_bits_per_second",
      help: "Publisher input bitrate",
      labelNames: ["stream"],
      registers,
    }),
    recordings: new Counter({
      name: "live360_origin_recordings_total",
      help: "Recordings finished, by result (delivered, failed, discarded: a refused stream's)",
      labelNames: ["result"],
      registers,
    }),
    recordingUploadFailures: new Counter({
      name: "live360_origin_recording_handoff_failures_total",
      help: "Failed attempts to hand a recording to the VOD pipeline, by step (upload, enqueue); each is retried",
      labelNames: ["step"],
      registers,
    }),
    recordingsPending: new Gauge({
      name: "live360_origin_recordings_pending",
      help: "Finished recordings not yet handed to the VOD pipeline (kept on disk)",
      registers,
    }),
    httpRequests: new Counter({
      name: "live360_origin_http_requests_total",
      help: "HTTP requests by kind (master, playlist, segment, other) and status",
      labelNames: ["kind", "status"],
      registers,
    }),
  };
}
