/**
 * Joins consecutive fragments of FFmpeg's fragmented MP4 into one CMAF chunk: one `moof` (a `traf`
 * per track) and one `mdat`. FFmpeg writes short fragments of about two frames (output-args.ts),
 * and splitFragment cuts one where a part ends inside it, so that the packager chooses where
 * parts end; served as they come, each fragment would cost a ~110-byte `moof` + `mdat` header and
 * every player would parse a dozen or more fragments a second. Joined, a part has the shape of one
 * fragment, as every player already plays it.
 *
 * Only boxes are rewritten: every sample's bytes are copied unchanged, in the same order per
 * track, so the pass-through rung stays bit-identical to the encoder's.
 */
import {
  Mp4BoxError,
  TFHD_DEFAULT_BASE_IS_MOOF,
  TRUN_COMPOSITION_OFFSET,
  TRUN_DATA_OFFSET,
  TRUN_DURATION,
  TRUN_FLAGS,
  TRUN_SIZE,
  moofSequenceNumber,
  trackFragmentOf,
  type FragmentSample,
  type Mp4Box,
  type TrackFragment,
} from "./boxes.js";

/** One fragment as the packager received it. */
export interface ReceivedFragment {
  /** Its boxes' bytes, in order: any before the moof (styp, prft…), the moof, …, the mdat. Kept apart: no copy per fragment. */
  boxes: readonly Buffer[];
  /** Their total length. */
  bytes: number;
  moof: Mp4Box;
  mdat: Mp4Box;
  /** Bytes from the moof's first byte to the mdat's (the moof and any boxes between them). */
  mdatAt: number;
  tracks: readonly TrackFragment[];
  /** A piece of a fragment (splitFragment): its boxes hold samples of other pieces too, so it is always rebuilt. */
  piece?: true;
}

const bytesOf = (fragments: readonly ReceivedFragment[]): Buffer => Buffer.concat(fragments.flatMap((f) => f.boxes));

interface TrackRun {
  trackId: number;
  baseMediaDecodeTime: number;
  /** Decode time of each sample (the fragment's tfdt + the durations before it), for the durations between fragments. */
  decodeTimes: number[];
  samples: FragmentSample[];
  bytes: Buffer[];
}

/** A box of `type` around `body`: `box("moof", box("mfhd", …), …)`. */
export function box(type: string, ...body: Buffer[]): Buffer {
  const size = 8 + body.reduce((sum, b) => sum + b.length, 0);
  const header = Buffer.allocUnsafe(8);
  header.writeUInt32BE(size, 0);
  header.write(type, 4, "latin1");
  return Buffer.concat([header, ...body]);
}

/** A full box: version and 24-bit flags before the body. */
export function fullBox(type: string, version: number, flags: number, ...body: Buffer[]): Buffer {
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32BE((((version & 0xff) << 24) | (flags & 0xff_ffff)) >>> 0, 0);
  return box(type, head, ...body);
}

/** Every per-sample field, and the data offset. */
const TRUN_ALL = TRUN_DATA_OFFSET | TRUN_DURATION | TRUN_SIZE | TRUN_FLAGS | TRUN_COMPOSITION_OFFSET;
/** moof header (8) + mfhd (16). */
const MOOF_LEAD_BYTES = 24;
/** traf header (8) + tfhd (16) + tfdt v1 (20) + trun header, flags, count, data offset (20). */
const TRAF_FIXED_BYTES = 64;
const TRUN_ENTRY_BYTES = 16;

/**
 * One chunk holding every sample of `fragments`, in order; a single fragment is returned as it
 * came. Samples whose place FFmpeg's fragments do not give by moof-relative offsets (other
 * muxers' layouts) make the fragments be served one after the other instead, which CMAF also
 * allows. A sample outside its fragment's mdat is an error: the fragment is corrupt.
 */
export function joinFragments(fragments: readonly ReceivedFragment[]): Buffer | Mp4BoxError {
  if (fragments.length === 1 && !fragments[0]!.piece) return bytesOf(fragments);
  const runs = new Map<number, TrackRun>();
  for (const fragment of fragments) {
    for (const track of fragment.tracks) {
      if (track.samples.length === 0) continue;
      let run = runs.get(track.trackId);
      if (!run) {
        run = { trackId: track.trackId, baseMediaDecodeTime: track.baseMediaDecodeTime, decodeTimes: [], samples: [], bytes: [] };
        runs.set(track.trackId, run);
      }
      let decodeTime = track.baseMediaDecodeTime;
      for (const sample of track.samples) {
        // (splitFragment never makes pieces of such fragments.)
        if (sample.offset === undefined || sample.size === undefined) return bytesOf(fragments);
        const mdat = fragment.mdat;
        const start = sample.offset - fragment.mdatAt;
        if (start < mdat.headerSize || start + sample.size > mdat.bytes.length) {
          return new Mp4BoxError("malformed", `a sample of track ${track.trackId} (${sample.size} bytes at ${sample.offset} from its moof) lies outside its mdat`);
        }
        run.decodeTimes.push(decodeTime);
        run.samples.push(sample);
        run.bytes.push(mdat.bytes.subarray(start, start + sample.size));
        decodeTime += sample.duration;
      }
    }
  }
  // In track order, as FFmpeg writes its trafs (a part may begin with either track's fragment).
  const tracks = [...runs.values()].sort((a, b) => a.trackId - b.trackId);
  // A version-1 trun holds signed composition offsets; an unsigned one of 2^31 or more does not fit.
  if (tracks.some((t) => t.samples.some((s) => s.compositionOffset > 0x7fff_ffff))) return bytesOf(fragments);

  const moofBytes = MOOF_LEAD_BYTES + tracks.reduce((sum, t) => sum + TRAF_FIXED_BYTES + TRUN_ENTRY_BYTES * t.samples.length, 0);
  // The mdat's header (8 bytes) sits between the moof and the first sample.
  let dataOffset = moofBytes + 8;
  const trafs = tracks.map((track) => {
    const entries = Buffer.allocUnsafe(TRUN_ENTRY_BYTES * track.samples.length);
    track.samples.forEach((sample, i) => {
      // Within the chunk a sample lasts until the next one's decode time, as FFmpeg writes it
      // inside one fragment; the last keeps the duration FFmpeg gave it.
      const next = track.decodeTimes[i + 1];
      const duration = next === undefined ? sample.duration : next - track.decodeTimes[i]!;
      entries.writeUInt32BE(Math.max(0, Math.min(0xffff_ffff, duration)), TRUN_ENTRY_BYTES * i);
      entries.writeUInt32BE(sample.size!, TRUN_ENTRY_BYTES * i + 4);
      entries.writeUInt32BE(sample.flags >>> 0, TRUN_ENTRY_BYTES * i + 8);
      entries.writeInt32BE(sample.compositionOffset, TRUN_ENTRY_BYTES * i + 12);
    });
    const tfhd = Buffer.allocUnsafe(4);
    tfhd.writeUInt32BE(track.trackId, 0);
    const tfdt = Buffer.allocUnsafe(8);
    tfdt.writeBigUInt64BE(BigInt(track.baseMediaDecodeTime), 0);
    const trunHead = Buffer.allocUnsafe(8);
    trunHead.writeUInt32BE(track.samples.length, 0);
    trunHead.writeInt32BE(dataOffset, 4);
    dataOffset += track.bytes.reduce((sum, b) => sum + b.length, 0);
    return box("traf", fullBox("tfhd", 0, TFHD_DEFAULT_BASE_IS_MOOF, tfhd), fullBox("tfdt", 1, 0, tfdt), fullBox("trun", 1, TRUN_ALL, trunHead, entries));
  });
  const sequence = Buffer.allocUnsafe(4);
  sequence.writeUInt32BE(moofSequenceNumber(fragments[0]!.moof) ?? 0, 0);
  const moof = box("moof", fullBox("mfhd", 0, 0, sequence), ...trafs);
  return Buffer.concat([moof, box("mdat", ...tracks.flatMap((t) => t.bytes))]);
}

/**
 * Splits a fragment before the `at`-th sample of the lead track, so a part can end inside a
 * fragment FFmpeg wrote for several frames (output-args.ts): the lead track's first `at` samples
 * and every other track's samples that begin before the first of the rest go first. Both pieces
 * keep pointing into the fragment's bytes; joinFragments rebuilds each. Undefined where the split
 * is impossible: `at` not inside the lead track's samples, or samples without moof-relative
 * places (then the part takes the whole fragment).
 */
export function splitFragment(
  fragment: ReceivedFragment,
  leadTrackId: number,
  at: number,
  timescaleOf: (trackId: number) => number,
): [ReceivedFragment, ReceivedFragment] | undefined {
  const lead = fragment.tracks.find((t) => t.trackId === leadTrackId);
  if (!lead || at <= 0 || at >= lead.samples.length) return undefined;
  if (fragment.tracks.some((t) => t.samples.some((s) => s.offset === undefined || s.size === undefined))) return undefined;
  const leadHeadDuration = lead.samples.slice(0, at).reduce((sum, s) => sum + s.duration, 0);
  const splitSeconds = (lead.baseMediaDecodeTime + leadHeadDuration) / timescaleOf(leadTrackId);
  const heads: TrackFragment[] = [];
  const tails: TrackFragment[] = [];
  for (const track of fragment.tracks) {
    const timescale = timescaleOf(track.trackId);
    let count = 0;
    let decodeTime = track.baseMediaDecodeTime;
    if (track === lead) {
      count = at;
      decodeTime += leadHeadDuration;
    } else {
      // Other tracks by time: a sample goes with the lead samples it starts among.
      while (count < track.samples.length && decodeTime / timescale < splitSeconds) decodeTime += track.samples[count++]!.duration;
    }
    heads.push(trackFragmentOf(track.trackId, track.baseMediaDecodeTime, track.samples.slice(0, count)));
    tails.push(trackFragmentOf(track.trackId, decodeTime, track.samples.slice(count)));
  }
  const sampleBytes = (tracks: readonly TrackFragment[]): number => tracks.reduce((sum, t) => sum + t.samples.reduce((s, x) => s + x.size!, 0), 0);
  const headBytes = sampleBytes(heads);
  return [
    { ...fragment, tracks: heads, bytes: headBytes, piece: true },
    { ...fragment, tracks: tails, bytes: fragment.bytes - headBytes, piece: true },
  ];
}
