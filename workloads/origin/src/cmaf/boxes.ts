/**
 * ISO-BMFF (MP4) boxes as FFmpeg's fragmented-MP4 output delivers them through a pipe: an endless
 * byte stream cut into top-level boxes, and the few fields of a `moof` the CMAF packager needs.
 *
 * The bytes come from FFmpeg, but FFmpeg muxes what a publisher sent, crashes mid-write, and a
 * wiring mistake can hand the splitter anything; so nothing here throws out of `push()` or the
 * readers: every failure is an `Mp4BoxError` value, and memory stays bounded by the largest box
 * allowed however the input is chunked or whatever a size field claims.
 */
import { Live360Error } from "@live360/core";

/** A top-level box: its four-character type and all its bytes, header included. */
export interface Mp4Box {
  type: string;
  bytes: Buffer;
  /** 8, or 16 with a 64-bit size. */
  headerSize: number;
}

export type Mp4BoxErrorReason =
  /** Size 0 means "to the end of the file", which an endless pipe never reaches. */
  | "size-zero"
  | "size-too-small"
  | "too-large"
  /** The stream ended inside a box. */
  | "truncated"
  /** A type that is not four printable characters: not MP4, or the stream lost its place. */
  | "bad-type"
  /** A box's fields contradict its size or each other. */
  | "malformed";

/** The byte stream is not (or no longer) the MP4 box sequence it should be. */
export class Mp4BoxError extends Live360Error {
  constructor(
    readonly reason: Mp4BoxErrorReason,
    message: string,
    /** Where in the stream (bytes from its start) the offending box begins. */
    readonly offset?: number,
  ) {
    super(offset === undefined ? message : `${message} (at byte ${offset})`);
  }
}

/**
 * Large enough for any fragment FFmpeg writes for a live rendition (a 0.5 s part of a 50 Mbit/s
 * source is ~3 MiB; a whole 8 s GOP in one fragment ~50 MiB), small enough that a garbage size
 * field cannot make the origin buffer gigabytes.
 */
export const DEFAULT_MAX_BOX_BYTES = 64 * 1024 * 1024;

/** Top-level types are four printable ASCII characters in practice (ftyp, moov, moof, mdat, styp, sidx, prft, mfra…). */
function isPrintableType(bytes: Buffer): boolean {
  for (const byte of bytes) if (byte < 0x20 || byte > 0x7e) return false;
  return true;
}

export interface SplitResult {
  /** The boxes completed by this chunk, in stream order (also those before an error). */
  boxes: Mp4Box[];
  /** Set once the stream is broken; every later push returns it again and buffers nothing. */
  error?: Mp4BoxError;
}

/**
 * Cuts an endless byte stream into complete top-level boxes. Chunks of any size go in; a box is
 * handed out once all its bytes have arrived, as a view of the chunk when it lies within one (the
 * common case for moof) and copied together otherwise. At most one incomplete box is held, and a
 * header claiming more than `maxBoxBytes` fails at once instead of being waited for.
 */
export class BoxSplitter {
  private readonly pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Stream offset of the first pending byte, for error messages. */
  private offset = 0;
  private failure: Mp4BoxError | undefined;

  constructor(private readonly maxBoxBytes = DEFAULT_MAX_BOX_BYTES) {}

  /** Bytes held for the box being received: never more than `maxBoxBytes`. */
  get bufferedBytes(): number {
    return this.pendingBytes;
  }

  push(chunk: Buffer): SplitResult {
    if (this.failure) return { boxes: [], error: this.failure };
    if (chunk.length > 0) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
    }
    const boxes: Mp4Box[] = [];
    while (this.pendingBytes >= 8) {
      const header = this.peek(Math.min(16, this.pendingBytes));
      const size32 = header.readUInt32BE(0);
      const typeBytes = header.subarray(4, 8);
      if (!isPrintableType(typeBytes)) return this.fail(boxes, "bad-type", `box type 0x${typeBytes.toString("hex")} is not a four-character code`);
      const type = typeBytes.toString("latin1");
      let size: number;
      let headerSize = 8;
      if (size32 === 1) {
        if (header.length < 16) break;
        const large = header.readBigUInt64BE(8);
        if (large < 16n) return this.fail(boxes, "size-too-small", `${type} box's 64-bit size ${large} is smaller than its 16-byte header`);
        if (large > BigInt(this.maxBoxBytes)) return this.fail(boxes, "too-large", `${type} box of ${large} bytes exceeds the ${this.maxBoxBytes}-byte limit`);
        size = Number(large);
        headerSize = 16;
      } else if (size32 === 0) {
        return this.fail(boxes, "size-zero", `${type} box has size 0 (to the end of the file), which a live stream never has`);
      } else if (size32 < 8) {
        return this.fail(boxes, "size-too-small", `${type} box's size ${size32} is smaller than its 8-byte header`);
      } else {
        size = size32;
        if (size > this.maxBoxBytes) return this.fail(boxes, "too-large", `${type} box of ${size} bytes exceeds the ${this.maxBoxBytes}-byte limit`);
      }
      if (this.pendingBytes < size) break;
      boxes.push({ type, bytes: this.take(size), headerSize });
      this.offset += size;
    }
    return { boxes };
  }

  /** The stream ended: an error if it ended inside a box. */
  end(): Mp4BoxError | undefined {
    if (this.failure) return this.failure;
    if (this.pendingBytes === 0) return undefined;
    return this.fail([], "truncated", `the stream ended ${this.pendingBytes} bytes into a box`).error;
  }

  private fail(boxes: Mp4Box[], reason: Mp4BoxErrorReason, message: string): SplitResult {
    this.failure = new Mp4BoxError(reason, message, this.offset);
    // A byte stream cannot find the next box boundary again: drop what is held.
    this.pending.length = 0;
    this.pendingBytes = 0;
    return { boxes, error: this.failure };
  }

  /** The first `n` pending bytes, without consuming them (n ≤ 16: a header). */
  private peek(n: number): Buffer {
    const first = this.pending[0]!;
    if (first.length >= n) return first.subarray(0, n);
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    for (const piece of this.pending) {
      filled += piece.copy(out, filled, 0, Math.min(piece.length, n - filled));
      if (filled === n) break;
    }
    return out;
  }

  /** Removes and returns the first `n` pending bytes (n ≤ pendingBytes). */
  private take(n: number): Buffer {
    this.pendingBytes -= n;
    const first = this.pending[0]!;
    if (first.length >= n) {
      if (first.length === n) this.pending.shift();
      else this.pending[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const piece = this.pending[0]!;
      const used = Math.min(piece.length, n - filled);
      piece.copy(out, filled, 0, used);
      filled += used;
      if (used === piece.length) this.pending.shift();
      else this.pending[0] = piece.subarray(used);
    }
    return out;
  }
}

/** A track's sample defaults from the init segment's `trex` (moov/mvex). */
export interface TrackDefaults {
  defaultSampleDuration: number;
  defaultSampleFlags: number;
  defaultSampleSize?: number;
}

/** One sample of a track fragment, with every default resolved. */
export interface FragmentSample {
  /** In the track's timescale. */
  duration: number;
  /** Bytes; undefined when neither the trun, the tfhd nor the trex gives it. */
  size: number | undefined;
  /** ISO/IEC 14496-12 sample flags. */
  flags: number;
  /** Signed: its presentation time is its decode time + this. */
  compositionOffset: number;
  /**
   * Where its bytes begin, counted from the first byte of the moof; undefined when the fragment
   * places its data some other way than moof-relative offsets (CMAF's default-base-is-moof with
   * a data offset in every trun, which FFmpeg writes).
   */
  offset: number | undefined;
}

/** What the packager needs from one `traf` of a `moof`. */
export interface TrackFragment {
  trackId: number;
  /** tfdt, in the track's timescale. */
  baseMediaDecodeTime: number;
  sampleCount: number;
  /** Sum of the sample durations, in the track's timescale. */
  duration: number;
  /** The first sample is a sync sample (a keyframe). False when there are no samples. */
  firstSampleIsSync: boolean;
  /** The first sample's composition offset (trun v1 offsets are signed): its presentation time is tfdt + this. */
  firstCompositionOffset: number;
  /** Every sample, in decode order. */
  samples: FragmentSample[];
}

/** sample_is_non_sync_sample in ISO/IEC 14496-12 sample flags. */
const NON_SYNC_SAMPLE = 0x0001_0000;

/** A track fragment of `samples` (decode order) from `baseMediaDecodeTime`: a piece of a received one. */
export function trackFragmentOf(trackId: number, baseMediaDecodeTime: number, samples: FragmentSample[]): TrackFragment {
  const first = samples[0];
  return {
    trackId,
    baseMediaDecodeTime,
    sampleCount: samples.length,
    duration: samples.reduce((sum, sample) => sum + sample.duration, 0),
    firstSampleIsSync: first !== undefined && (first.flags & NON_SYNC_SAMPLE) === 0,
    firstCompositionOffset: first?.compositionOffset ?? 0,
    samples,
  };
}

// tfhd flags
const TFHD_BASE_DATA_OFFSET = 0x01;
const TFHD_SAMPLE_DESCRIPTION_INDEX = 0x02;
const TFHD_DEFAULT_DURATION = 0x08;
const TFHD_DEFAULT_SIZE = 0x10;
const TFHD_DEFAULT_FLAGS = 0x20;
export const TFHD_DEFAULT_BASE_IS_MOOF = 0x02_0000;
// trun flags
export const TRUN_DATA_OFFSET = 0x01;
const TRUN_FIRST_SAMPLE_FLAGS = 0x04;
export const TRUN_DURATION = 0x100;
export const TRUN_SIZE = 0x200;
export const TRUN_FLAGS = 0x400;
export const TRUN_COMPOSITION_OFFSET = 0x800;

interface Child {
  type: string;
  /** Body bounds (after the header) within the buffer. */
  start: number;
  end: number;
}

/** The boxes directly inside [start, end); throws Mp4BoxError (caught by readMoof) when sizes do not fit. */
function children(buf: Buffer, start: number, end: number): Child[] {
  const out: Child[] = [];
  let at = start;
  while (at < end) {
    if (end - at < 8) throw new Mp4BoxError("malformed", `${end - at} stray bytes inside a box`);
    let size = buf.readUInt32BE(at);
    const type = buf.toString("latin1", at + 4, at + 8);
    let header = 8;
    if (size === 1) {
      if (end - at < 16) throw new Mp4BoxError("malformed", `${type} box's 64-bit size is cut off`);
      const large = buf.readBigUInt64BE(at + 8);
      size = large > BigInt(end - at) ? Number.MAX_SAFE_INTEGER : Number(large);
      header = 16;
    } else if (size === 0) {
      size = end - at;
    }
    if (size < header || size > end - at) throw new Mp4BoxError("malformed", `${type} box's size ${size} does not fit its parent`);
    out.push({ type, start: at + header, end: at + size });
    at += size;
  }
  return out;
}

/** Reads big-endian fields from a box body, refusing to read past its end. */
class FieldReader {
  constructor(
    private readonly buf: Buffer,
    private at: number,
    private readonly end: number,
    private readonly box: string,
  ) {}

  get remaining(): number {
    return this.end - this.at;
  }

  need(bytes: number): void {
    if (bytes > this.end - this.at) throw new Mp4BoxError("malformed", `${this.box} box is too short for its fields`);
  }

  u8(): number {
    this.need(1);
    return this.buf.readUInt8(this.at++);
  }

  u24(): number {
    this.need(3);
    const value = this.buf.readUIntBE(this.at, 3);
    this.at += 3;
    return value;
  }

  u32(): number {
    this.need(4);
    const value = this.buf.readUInt32BE(this.at);
    this.at += 4;
    return value;
  }

  i32(): number {
    this.need(4);
    const value = this.buf.readInt32BE(this.at);
    this.at += 4;
    return value;
  }

  u64(): number {
    this.need(8);
    const value = this.buf.readBigUInt64BE(this.at);
    this.at += 8;
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new Mp4BoxError("malformed", `${this.box} box's 64-bit value ${value} is beyond 2^53`);
    return Number(value);
  }

  skip(bytes: number): void {
    this.need(bytes);
    this.at += bytes;
  }
}

interface Tfhd {
  trackId: number;
  /** Data offsets count from the moof (default-base-is-moof, no explicit base data offset). */
  moofRelative: boolean;
  defaultDuration?: number;
  defaultSize?: number;
  defaultFlags?: number;
}

function readTfhd(r: FieldReader): Tfhd {
  r.u8();
  const flags = r.u24();
  const tfhd: Tfhd = { trackId: r.u32(), moofRelative: (flags & TFHD_DEFAULT_BASE_IS_MOOF) !== 0 && (flags & TFHD_BASE_DATA_OFFSET) === 0 };
  if (flags & TFHD_BASE_DATA_OFFSET) r.skip(8);
  if (flags & TFHD_SAMPLE_DESCRIPTION_INDEX) r.skip(4);
  if (flags & TFHD_DEFAULT_DURATION) tfhd.defaultDuration = r.u32();
  if (flags & TFHD_DEFAULT_SIZE) tfhd.defaultSize = r.u32();
  if (flags & TFHD_DEFAULT_FLAGS) tfhd.defaultFlags = r.u32();
  return tfhd;
}

interface SampleDefaults {
  duration: number;
  size: number | undefined;
  flags: number;
  moofRelative: boolean;
}

/**
 * A hostile sample count must not become a huge loop: a count the trun's bytes cannot hold is
 * refused, and so is a count beyond this when the samples take no bytes of their own (all
 * defaults), where the box size bounds nothing. FFmpeg writes at most a fragment's frames.
 */
const MAX_SAMPLES_PER_TRUN = 100_000;

/** Folds one trun into the running fragment totals and its sample list. */
function readTrun(r: FieldReader, fragment: TrackFragment, defaults: SampleDefaults): void {
  const version = r.u8();
  const flags = r.u24();
  const count = r.u32();
  const dataOffset = flags & TRUN_DATA_OFFSET ? r.i32() : undefined;
  const firstFlags = flags & TRUN_FIRST_SAMPLE_FLAGS ? r.u32() : undefined;
  const entryBytes = [TRUN_DURATION, TRUN_SIZE, TRUN_FLAGS, TRUN_COMPOSITION_OFFSET].filter((f) => flags & f).length * 4;
  // Checked before the loop: a hostile count cannot make us iterate past the box.
  if (count * entryBytes > r.remaining) throw new Mp4BoxError("malformed", `trun claims ${count} samples that its ${r.remaining} bytes cannot hold`);
  if (count > MAX_SAMPLES_PER_TRUN) throw new Mp4BoxError("malformed", `trun claims ${count} samples, more than ${MAX_SAMPLES_PER_TRUN}`);
  // Without a data offset a run's data follows the previous run's, which this reader does not track.
  let offset = defaults.moofRelative && dataOffset !== undefined ? dataOffset : undefined;
  for (let i = 0; i < count; i++) {
    const duration = flags & TRUN_DURATION ? r.u32() : defaults.duration;
    const size = flags & TRUN_SIZE ? r.u32() : defaults.size;
    const sampleFlags = flags & TRUN_FLAGS ? r.u32() : defaults.flags;
    const compositionOffset = flags & TRUN_COMPOSITION_OFFSET ? (version === 0 ? r.u32() : r.i32()) : 0;
    // first_sample_flags stands for the first sample's own.
    fragment.samples.push({ duration, size, flags: i === 0 && firstFlags !== undefined ? firstFlags : sampleFlags, compositionOffset, offset });
    offset = offset !== undefined && size !== undefined ? offset + size : undefined;
    fragment.duration += duration;
  }
  const first = fragment.sampleCount === 0 ? fragment.samples[0] : undefined;
  if (first) {
    fragment.firstSampleIsSync = (first.flags & NON_SYNC_SAMPLE) === 0;
    fragment.firstCompositionOffset = first.compositionOffset;
  }
  fragment.sampleCount += count;
}

function readTraf(buf: Buffer, traf: Child, defaultsOf: (trackId: number) => TrackDefaults | undefined): TrackFragment {
  const boxes = children(buf, traf.start, traf.end);
  const tfhdBox = boxes.find((b) => b.type === "tfhd");
  if (!tfhdBox) throw new Mp4BoxError("malformed", "traf without tfhd");
  const tfhd = readTfhd(new FieldReader(buf, tfhdBox.start, tfhdBox.end, "tfhd"));
  const trex = defaultsOf(tfhd.trackId);
  if (!trex) throw new Mp4BoxError("malformed", `fragment of track ${tfhd.trackId}, which the init segment does not declare`);
  const tfdtBox = boxes.find((b) => b.type === "tfdt");
  // CMAF requires tfdt; without it a part's place on the timeline is unknown.
  if (!tfdtBox) throw new Mp4BoxError("malformed", `traf of track ${tfhd.trackId} without tfdt`);
  const tfdt = new FieldReader(buf, tfdtBox.start, tfdtBox.end, "tfdt");
  const version = tfdt.u8();
  tfdt.u24();
  const fragment: TrackFragment = {
    trackId: tfhd.trackId,
    baseMediaDecodeTime: version === 1 ? tfdt.u64() : tfdt.u32(),
    sampleCount: 0,
    duration: 0,
    firstSampleIsSync: false,
    firstCompositionOffset: 0,
    samples: [],
  };
  const defaults: SampleDefaults = {
    duration: tfhd.defaultDuration ?? trex.defaultSampleDuration,
    size: tfhd.defaultSize ?? trex.defaultSampleSize,
    flags: tfhd.defaultFlags ?? trex.defaultSampleFlags,
    moofRelative: tfhd.moofRelative,
  };
  for (const trun of boxes.filter((b) => b.type === "trun")) readTrun(new FieldReader(buf, trun.start, trun.end, "trun"), fragment, defaults);
  return fragment;
}

/**
 * The track fragments of a `moof`: per `traf`, its track, decode time, sample count, duration,
 * whether it starts with a sync sample, and every sample's duration, size, flags, composition
 * offset and place. Sample durations come from the trun, else the tfhd's
 * default, else the track's trex; the first sample's flags from trun first_sample_flags, else its
 * own flags, else the tfhd's then the trex's default. Returns an error for anything that does
 * not add up instead of throwing.
 */
export function readMoof(moof: Mp4Box, defaultsOf: (trackId: number) => TrackDefaults | undefined): TrackFragment[] | Mp4BoxError {
  if (moof.type !== "moof") return new Mp4BoxError("malformed", `expected a moof box, got ${moof.type}`);
  try {
    return children(moof.bytes, moof.headerSize, moof.bytes.length)
      .filter((b) => b.type === "traf")
      .map((traf) => readTraf(moof.bytes, traf, defaultsOf));
  } catch (error) {
    if (error instanceof Mp4BoxError) return error;
    // Every read above is bounds-checked, so this would be a bug here; still a value, not a throw,
    // as the caller is a stream handler.
    return new Mp4BoxError("malformed", `unreadable moof: ${String(error)}`);
  }
}

/** The moof's `mfhd` sequence number, if it has a readable one. */
export function moofSequenceNumber(moof: Mp4Box): number | undefined {
  try {
    const mfhd = children(moof.bytes, moof.headerSize, moof.bytes.length).find((b) => b.type === "mfhd");
    if (!mfhd) return undefined;
    const r = new FieldReader(moof.bytes, mfhd.start, mfhd.end, "mfhd");
    r.skip(4);
    return r.u32();
  } catch {
    return undefined;
  }
}
