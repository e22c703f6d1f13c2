/**
 * Just enough FLV to route live tags: what kind of tag it is, whether it is a keyframe or a
 * codec header, which video codec it carries, and the source's size from the H.264 SPS. Tags
 * arrive whole from the ingest (11-byte header, body, 4-byte previous-tag size), but their
 * bodies are whatever a network client sent: every read here is bounds-checked, and nothing
 * in this module throws on a short, empty or nonsensical body.
 */
import { parseH264Sps } from "./nms.js";

export const FLV_FILE_HEADER = Buffer.from([0x46, 0x4c, 0x56, 0x01, 0x05, 0, 0, 0, 0x09, 0, 0, 0, 0]);

/**
 * The FLV file header for a ladder FFmpeg: its flags say which tracks there are, and FFmpeg's
 * probing waits for every track the flags announce. A video-only stream announced with audio
 * left the ladder probing for minutes (found by the latency bench's video-only encoder).
 */
export function flvFileHeader(tracks: { audio: boolean }): Buffer {
  const header = Buffer.from(FLV_FILE_HEADER);
  header[4] = tracks.audio ? 0x05 : 0x01;
  return header;
}

const TAG_AUDIO = 8;
const TAG_VIDEO = 9;
const TAG_SCRIPT = 18;
const TAG_HEADER_BYTES = 11;
const CODEC_AVC = 7;
/** Not in Adobe's FLV spec; Chinese CDNs' HEVC-in-FLV convention, which some encoders send. */
const CODEC_HEVC_LEGACY = 12;
const SOUND_AAC = 10;
const FRAME_KEY = 1;
/** Enhanced RTMP (veovera): the top bit of a video tag's first byte announces a FourCC header. */
const EX_HEADER = 0x80;
const EX_PACKET_SEQUENCE_START = 0;
const EX_PACKET_CODED_FRAMES = 1;
const EX_PACKET_CODED_FRAMES_X = 3;
const FOURCC_CODECS: Record<string, VideoCodec> = { avc1: "h264", hvc1: "hevc", av01: "av1", vp09: "vp9" };

export type TagKind = "metadata" | "audio-header" | "video-header" | "keyframe" | "video" | "audio" | "other";
export type VideoCodec = "h264" | "hevc" | "av1" | "vp9" | "other";

/** A tag's body (without the header and the trailing previous-tag size), never past the buffer. */
function tagBody(tag: Buffer): Buffer {
  if (tag.length < TAG_HEADER_BYTES) return Buffer.alloc(0);
  const declared = tag.readUIntBE(1, 3);
  return tag.subarray(TAG_HEADER_BYTES, Math.min(tag.length, TAG_HEADER_BYTES + declared));
}

/** Whether two tags carry the same body (a re-sent codec header), whatever their timestamps. */
export function sameTagBody(a: Buffer, b: Buffer): boolean {
  return tagBody(a).equals(tagBody(b));
}

interface VideoTagHeader {
  codec: VideoCodec;
  isSequenceHeader: boolean;
  isKeyframe: boolean;
}

/** The first bytes of a video tag, legacy or enhanced RTMP; undefined when too short to say. */
function videoTagHeader(body: Buffer): VideoTagHeader | undefined {
  if (body.length < 1) return undefined;
  const first = body[0]!;
  const frameType = (first >> 4) & 0x07;
  if ((first & EX_HEADER) !== 0) {
    if (body.length < 5) return undefined;
    const packetType = first & 0x0f;
    const codec = FOURCC_CODECS[body.toString("latin1", 1, 5)] ?? "other";
    const coded = packetType === EX_PACKET_CODED_FRAMES || packetType === EX_PACKET_CODED_FRAMES_X;
    return { codec, isSequenceHeader: packetType === EX_PACKET_SEQUENCE_START, isKeyframe: coded && frameType === FRAME_KEY };
  }
  const codecId = first & 0x0f;
  const codec: VideoCodec = codecId === CODEC_AVC ? "h264" : codecId === CODEC_HEVC_LEGACY ? "hevc" : "other";
  if (codec !== "h264" && codec !== "hevc") return { codec, isSequenceHeader: false, isKeyframe: frameType === FRAME_KEY };
  if (body.length < 2) return undefined;
  return { codec, isSequenceHeader: body[1] === 0, isKeyframe: body[1] === 1 && frameType === FRAME_KEY };
}

export function classifyTag(tag: Buffer): TagKind {
  const type = tag[0];
  const body = tagBody(tag);
  if (type === TAG_SCRIPT) return "metadata";
  if (type === TAG_AUDIO) {
    if (body.length < 1) return "other";
    const isAac = body[0]! >> 4 === SOUND_AAC;
    return isAac && body[1] === 0 ? "audio-header" : "audio";
  }
  if (type === TAG_VIDEO) {
    const header = videoTagHeader(body);
    if (!header) return "other";
    if (header.isSequenceHeader) return "video-header";
    return header.isKeyframe ? "keyframe" : "video";
  }
  return "other";
}

/** The codec of a video tag; undefined for a tag too short to say (or not video). */
export function videoCodecOf(tag: Buffer): VideoCodec | undefined {
  return tag[0] === TAG_VIDEO ? videoTagHeader(tagBody(tag))?.codec : undefined;
}

/** Timestamp of a tag in milliseconds (24 bits + 8 extended bits). */
export function tagTimestampMs(tag: Buffer): number {
  if (tag.length < 8) return 0;
  return ((tag[7]! << 24) | (tag[4]! << 16) | (tag[5]! << 8) | tag[6]!) >>> 0;
}

export interface VideoCodecInfo {
  codec: VideoCodec;
  width: number;
  height: number;
  /**
   * H.264 only: the SPS's profile_idc, constraint flags and level_idc as the RFC 6381 codec
   * string `avc1.PPCCLL`, as the sequence header's AVCDecoderConfigurationRecord carries them.
   */
  avcCodecString?: string;
}

/** Why a video sequence header cannot be used: a stream refusal reason. */
export class VideoHeaderError extends Error {
  constructor(readonly detail: string) {
    super(`invalid H.264 sequence header: ${detail}`);
    this.name = "VideoHeaderError";
  }
}

const NAL_SPS = 7;
/** profile_idc values of ITU-T H.264 (A.2, G.10, H.10): an SPS with another is not one. */
const H264_PROFILES = new Set([44, 66, 77, 83, 86, 88, 100, 110, 118, 122, 128, 134, 135, 138, 139, 244]);

const hex2 = (n: number): string => n.toString(16).toUpperCase().padStart(2, "0");

/**
 * Reads codec and size from a video sequence header. An H.264 header must hold an
 * AVCDecoderConfigurationRecord with at least one whole SPS that parses; anything less throws
 * VideoHeaderError (the stream is refused with that reason, the process is untouched). Other
 * codecs are reported as such, without a size: the ladder accepts H.264 only.
 */
export function videoInfoFromHeader(tag: Buffer): VideoCodecInfo {
  const body = tagBody(tag);
  const header = videoTagHeader(body);
  if (!header) throw new VideoHeaderError(`a video tag of ${body.length} bytes`);
  if (header.codec !== "h264") return { codec: header.codec, width: 0, height: 0 };
  // Five bytes before the record either way: legacy [frame|codec][packetType][cts x3], enhanced [ex|packetType][FourCC x4].
  const record = body.subarray(5);
  // [version][profile][compat][level][lengthSize][numSps][spsLen x2][sps]
  if (record.length < 8) throw new VideoHeaderError(`an AVCDecoderConfigurationRecord of ${record.length} bytes`);
  if (record[0] !== 1) throw new VideoHeaderError(`configurationVersion ${record[0]} (must be 1)`);
  if ((record[5]! & 0x1f) === 0) throw new VideoHeaderError("no SPS in the record");
  const spsLength = record.readUInt16BE(6);
  if (spsLength < 4 || 8 + spsLength > record.length) throw new VideoHeaderError(`an SPS of ${spsLength} bytes in a record of ${record.length}`);
  const sps = record.subarray(8, 8 + spsLength);
  if ((sps[0]! & 0x1f) !== NAL_SPS) throw new VideoHeaderError(`the record's SPS is a NAL of type ${sps[0]! & 0x1f}`);
  if (!H264_PROFILES.has(sps[1]!)) throw new VideoHeaderError(`profile_idc ${sps[1]} is not an H.264 profile`);
  let size: { width: number; height: number };
  try {
    size = parseH264Sps(sps);
  } catch (err) {
    throw new VideoHeaderError(`the SPS does not parse (${(err as Error).message})`);
  }
  if (!(size.width > 0 && size.height > 0 && size.width <= 16384 && size.height <= 16384)) {
    throw new VideoHeaderError(`the SPS gives ${size.width}x${size.height}`);
  }
  return { codec: "h264", width: size.width, height: size.height, avcCodecString: `avc1.${hex2(sps[1]!)}${hex2(sps[2]!)}${hex2(sps[3]!)}` };
}

export function audioIsAac(tag: Buffer): boolean {
  const body = tagBody(tag);
  return body.length > 0 && body[0]! >> 4 === SOUND_AAC;
}
