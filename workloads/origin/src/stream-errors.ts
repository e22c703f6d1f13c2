/**
 * Why the origin ended a publish it had accepted: what the media turned out to be, or bytes
 * that broke the RTMP layer. The reasons double as metric labels
 * (`live360_origin_stream_errors_total{reason}`), so they form a closed set; the explanation is
 * what the log says and what the publisher is told in its RTMP `onStatus` error.
 */
export type StreamErrorReason = "protocol-error" | "invalid-video-header" | "unsupported-video-codec" | "no-video" | "no-keyframe";

export const STREAM_ERROR_EXPLANATIONS: Record<StreamErrorReason, string> = {
  "protocol-error": "the connection's RTMP messages could not be parsed",
  "invalid-video-header": "the H.264 sequence header (AVCDecoderConfigurationRecord with SPS and PPS) is malformed",
  "unsupported-video-codec": "the ladder takes H.264 video only (set the encoder to x264/H.264)",
  "no-video": "audio-only streams are not supported: the ladder needs H.264 video",
  "no-keyframe": "the video has no keyframe (set a keyframe interval of 1-2 s in the encoder)",
};

/** A stream the origin refused after accepting it; the recording of such a stream is discarded. */
export interface StreamRefusal {
  reason: Exclude<StreamErrorReason, "protocol-error">;
  detail: string;
}
