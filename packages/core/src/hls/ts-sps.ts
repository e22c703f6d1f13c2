/**
 * The H.264 codec string of an MPEG-TS segment, read from the SPS it carries: profile_idc, the
 * constraint flags and level_idc exactly as encoded. A name-keyed table cannot do this (ffprobe
 * says "Constrained Baseline" for both 42C0 and 42E0 streams, and players check the flags).
 */
const PACKET = 188;
const SYNC = 0x47;
const STREAM_TYPE_H264 = 0x1b;
const NAL_SPS = 7;

/** Payload of one TS packet (after the adaptation field), or undefined for none. */
function payloadOf(ts: Buffer, at: number): Buffer | undefined {
  const control = (ts[at + 3]! >> 4) & 0x3;
  if ((control & 0x1) === 0) return undefined;
  let start = at + 4;
  if (control & 0x2) start += 1 + ts[at + 4]!;
  return start < at + PACKET ? ts.subarray(start, at + PACKET) : undefined;
}

const pidOf = (ts: Buffer, at: number): number => ((ts[at + 1]! & 0x1f) << 8) | ts[at + 2]!;
const startsUnit = (ts: Buffer, at: number): boolean => (ts[at + 1]! & 0x40) !== 0;

/** Section bytes after the pointer field, bounded by section_length. */
function section(payload: Buffer): Buffer {
  const body = payload.subarray(1 + payload[0]!);
  const length = ((body[1]! & 0x0f) << 8) | body[2]!;
  return body.subarray(0, Math.min(body.length, 3 + length));
}

/** The first H.264 elementary stream PID the PAT/PMT of `ts` name. */
function h264Pid(ts: Buffer): number | undefined {
  let pmtPid: number | undefined;
  for (let at = 0; at + PACKET <= ts.length; at += PACKET) {
    if (ts[at] !== SYNC || !startsUnit(ts, at)) continue;
    const payload = payloadOf(ts, at);
    if (!payload || payload.length < 1 + payload[0]! + 12) continue;
    const pid = pidOf(ts, at);
    if (pid === 0 && pmtPid === undefined) {
      const pat = section(payload);
      // Programs from byte 8 up to the CRC; program 0 is the network PID.
      for (let i = 8; i + 4 <= pat.length - 4; i += 4) {
        if (pat.readUInt16BE(i) !== 0) {
          pmtPid = pat.readUInt16BE(i + 2) & 0x1fff;
          break;
        }
      }
    } else if (pid === pmtPid) {
      const pmt = section(payload);
      const infoLength = pmt.readUInt16BE(10) & 0x0fff;
      for (let i = 12 + infoLength; i + 5 <= pmt.length - 4; ) {
        const streamType = pmt[i]!;
        const esPid = pmt.readUInt16BE(i + 1) & 0x1fff;
        if (streamType === STREAM_TYPE_H264) return esPid;
        i += 5 + (pmt.readUInt16BE(i + 3) & 0x0fff);
      }
      return undefined;
    }
  }
  return undefined;
}

/** `avc1.PPCCLL` from the first SPS in `ts` (an MPEG-TS file's bytes), or undefined if none is found. */
export function avcCodecStringFromTs(ts: Buffer): string | undefined {
  const pid = h264Pid(ts);
  if (pid === undefined) return undefined;
  // The video stream's bytes without PES headers, until an SPS turns up.
  const parts: Buffer[] = [];
  for (let at = 0; at + PACKET <= ts.length; at += PACKET) {
    if (ts[at] !== SYNC || pidOf(ts, at) !== pid) continue;
    let payload = payloadOf(ts, at);
    if (!payload) continue;
    if (startsUnit(ts, at)) {
      if (payload.length < 9 || payload[0] !== 0 || payload[1] !== 0 || payload[2] !== 1) continue;
      payload = payload.subarray(9 + payload[8]!);
    }
    parts.push(payload);
    const es = Buffer.concat(parts);
    for (let i = 0; i + 6 < es.length; i++) {
      if (es[i] === 0 && es[i + 1] === 0 && es[i + 2] === 1 && (es[i + 3]! & 0x1f) === NAL_SPS) {
        const hex = (n: number): string => n.toString(16).toUpperCase().padStart(2, "0");
        return `avc1.${hex(es[i + 4]!)}${hex(es[i + 5]!)}${hex(es[i + 6]!)}`;
      }
    }
    if (es.length > 256 * 1024) return undefined;
  }
  return undefined;
}
