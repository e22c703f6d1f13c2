/**
 * Just enough FLV to route live tags: what kind of tag it is, whether it is a keyframe or a
 * codec header, and the source's size from the H.264 SPS. Tags arrive whole from the ingest
 * (11-byte header, body, 4-byte previous-tag size).
 */
import { parseH264Sps } from "./nms.js";

export const FLV_FILE_HEADER = Buffer.from([0x46, 0x4c, 0x56, 0x01, 0x05, 0, 0, 0, 0x09, 0, 0, 0, 0]);

const TAG_AUDIO = 8;
const TAG_VIDEO = 9;
const TAG_SCRIPT = 18;
const CODEC_AVC = 7;
const SOUND_AAC = 10;

export type TagKind = "metadata" | "audio-header" | "video-header" | "keyframe" | "video" | "audio" | "other";

export function classifyTag(tag: Buffer): TagKind {
  const type = tag[0];
  const body = 11;
  if (type === TAG_SCRIPT) return "metadata";
  if (type === TAG_AUDIO) {
    const isAac = (tag[body]! >> 4) === SOUND_AAC;
    return isAac && tag[body + 1] === 0 ? "audio-header" : "audio";
  }
  if (type === TAG_VIDEO) {
    const frameType = tag[body]! >> 4;
    const codec = tag[body]! & 0x0f;
    if ((codec === CODEC_AVC || codec === 12) && tag[body + 1] === 0) return "video-header";
    return frameType === 1 ? "keyframe" : "video";
  }
  return "other";
}

/** Timestamp of a tag in milliseconds (24 bits + 8 extended bits). */
export function tagTimestampMs(tag: Buffer): number {
  return ((tag[7]! << 24) | (tag[4]! << 16) | (tag[5]! << 8) | tag[6]!) >>> 0;
}

export interface VideoCodecInfo {
  codec: "h264" | "hevc" | "other";
  width: number;
  height: number;
}

/** Reads codec and size from a video sequence header (AVCDecoderConfigurationRecord). */
export function videoInfoFromHeader(tag: Buffer): VideoCodecInfo {
  const codecId = tag[11]! & 0x0f;
  if (codecId !== CODEC_AVC) return { codec: codecId === 12 ? "hevc" : "other", width: 0, height: 0 };
  // body: [frame|codec][packetType][cts x3][version][profile][compat][level][lengthSize][numSps][spsLen x2][sps]
  const record = 11 + 5;
  const spsLength = tag.readUInt16BE(record + 6);
  const sps = tag.subarray(record + 8, record + 8 + spsLength);
  try {
    const { width, height } = parseH264Sps(sps);
    return { codec: "h264", width, height };
  } catch {
    return { codec: "h264", width: 0, height: 0 };
  }
}

export function audioIsAac(tag: Buffer): boolean {
  return (tag[11]! >> 4) === SOUND_AAC;
}
