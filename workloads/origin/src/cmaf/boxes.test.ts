import { describe, expect, test } from "@jest/globals";
import { BoxSplitter, DEFAULT_MAX_BOX_BYTES, Mp4BoxError, readMoof, type Mp4Box, type TrackDefaults } from "./boxes.js";
import { box, fullBox, oddChunks, u32, u64 } from "./fmp4.fixture.js";

/** A box with a 64-bit size field (size 1, then the real size). */
function largeBox(type: string, body: Buffer): Buffer {
  const header = Buffer.alloc(16);
  header.writeUInt32BE(1, 0);
  header.write(type, 4, "latin1");
  header.writeBigUInt64BE(BigInt(16 + body.length), 8);
  return Buffer.concat([header, body]);
}

function split(chunks: readonly Buffer[], maxBoxBytes?: number): { boxes: Mp4Box[]; errors: Mp4BoxError[]; splitter: BoxSplitter; maxBuffered: number } {
  const splitter = new BoxSplitter(maxBoxBytes);
  const boxes: Mp4Box[] = [];
  const errors: Mp4BoxError[] = [];
  let maxBuffered = 0;
  for (const chunk of chunks) {
    const result = splitter.push(chunk);
    boxes.push(...result.boxes);
    if (result.error) errors.push(result.error);
    maxBuffered = Math.max(maxBuffered, splitter.bufferedBytes);
  }
  return { boxes, errors, splitter, maxBuffered };
}

/** A seeded generator, so a failing fuzz case can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4_294_967_296;
  };
}

function randomBytes(next: () => number, length: number): Buffer {
  return Buffer.from(Array.from({ length }, () => Math.floor(next() * 256)));
}

describe("box splitter", () => {
  const stream = Buffer.concat([
    box("ftyp", Buffer.from("iso6\0\0\0\0iso6cmfc")),
    box("moov", box("mvhd", Buffer.alloc(100))),
    box("moof", box("mfhd", u32(0, 1))),
    box("mdat", Buffer.alloc(3000, 7)),
    largeBox("mdat", Buffer.alloc(20, 9)),
    box("free"),
  ]);

  test("hands out the same complete boxes however the stream is chunked, 64-bit sizes included", () => {
    const whole = split([stream]);
    expect(whole.errors).toEqual([]);
    expect(whole.boxes.map((b) => [b.type, b.bytes.length, b.headerSize])).toEqual([
      ["ftyp", 24, 8],
      ["moov", 116, 8],
      ["moof", 24, 8],
      ["mdat", 3008, 8],
      ["mdat", 36, 16],
      ["free", 8, 8],
    ]);
    expect(Buffer.concat(whole.boxes.map((b) => b.bytes))).toEqual(stream);
    const bytewise = split([...stream].map((byte) => Buffer.from([byte])));
    const odd = split(oddChunks(stream, 7));
    for (const other of [bytewise, odd]) {
      expect(other.errors).toEqual([]);
      expect(other.boxes.map((b) => b.bytes)).toEqual(whole.boxes.map((b) => b.bytes));
      expect(other.splitter.bufferedBytes).toBe(0);
      expect(other.splitter.end()).toBeUndefined();
    }
  });

  test("holds at most the box being received", () => {
    const { maxBuffered } = split([...stream].map((byte) => Buffer.from([byte])));
    expect(maxBuffered).toBe(3007);
  });

  test.each([
    ["size 0 (to the end of the file)", u32(0, 0x6d646174), "size-zero"],
    ["a size below the 8-byte header", u32(4, 0x6d646174), "size-too-small"],
    ["a 64-bit size below the 16-byte header", Buffer.concat([u32(1, 0x6d646174), u64(12)]), "size-too-small"],
    ["a non-printable type", u32(16, 0x00ff0102), "bad-type"],
  ])("%s is a typed error, with the boxes before it kept", (_name, bad, reason) => {
    const good = box("moof", box("mfhd", u32(0, 1)));
    const { boxes, errors } = split([Buffer.concat([good, bad, Buffer.alloc(64)])]);
    expect(boxes.map((b) => b.type)).toEqual(["moof"]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(Mp4BoxError);
    expect(errors[0]!.reason).toBe(reason);
    expect(errors[0]!.offset).toBe(good.length);
  });

  test("a giant size fails at its header instead of being waited for", () => {
    for (const header of [u32(0xffff_fff0, 0x6d646174), Buffer.concat([u32(1, 0x6d646174), u64(2n ** 62n)])]) {
      const splitter = new BoxSplitter();
      const result = splitter.push(header);
      expect(result.error?.reason).toBe("too-large");
      expect(result.error?.message).toContain(String(DEFAULT_MAX_BOX_BYTES));
      expect(splitter.bufferedBytes).toBe(0);
    }
    const small = split([box("mdat", Buffer.alloc(2000))], 1024);
    expect(small.errors.map((e) => e.reason)).toEqual(["too-large"]);
  });

  test("a stream that ends inside a box is truncated", () => {
    const splitter = new BoxSplitter();
    expect(splitter.push(stream.subarray(0, 30)).boxes.map((b) => b.type)).toEqual(["ftyp"]);
    const error = splitter.end();
    expect(error?.reason).toBe("truncated");
    expect(error?.offset).toBe(24);
  });

  test("after an error the splitter buffers nothing and keeps reporting it", () => {
    const splitter = new BoxSplitter();
    const first = splitter.push(u32(0, 0x6d646174)).error;
    expect(first?.reason).toBe("size-zero");
    const again = splitter.push(Buffer.alloc(1_000_000));
    expect(again).toEqual({ boxes: [], error: first });
    expect(splitter.bufferedBytes).toBe(0);
    expect(splitter.end()).toBe(first);
  });

  test("random bytes in random chunks never throw, and memory stays under the limit", () => {
    const limit = 64 * 1024;
    for (let seed = 1; seed <= 300; seed++) {
      const next = random(seed);
      const data = randomBytes(next, 1 + Math.floor(next() * 4096));
      // Half the cases start with a plausible header, so the splitter gets past the first box.
      if (seed % 2 === 0) box("mdat", Buffer.alloc(Math.floor(next() * 100))).copy(data, 0);
      const { errors, maxBuffered, splitter } = split(oddChunks(data, seed), limit);
      expect(maxBuffered).toBeLessThanOrEqual(limit);
      const final = splitter.end();
      // Random bytes almost never form a whole stream of boxes; when they fail it is a typed error.
      for (const error of [...errors, ...(final ? [final] : [])]) expect(error).toBeInstanceOf(Mp4BoxError);
    }
  });
});

// Sample flags: a sync sample (sample_depends_on = 2) and a non-sync one (is_non_sync_sample set).
const SYNC = 0x0200_0000;
const NON_SYNC = 0x0101_0000;

const trex = new Map<number, TrackDefaults>([
  [1, { defaultSampleDuration: 0, defaultSampleFlags: NON_SYNC }],
  [2, { defaultSampleDuration: 1024, defaultSampleFlags: SYNC }],
]);
const defaultsOf = (id: number): TrackDefaults | undefined => trex.get(id);

function moof(...trafs: Buffer[]): Mp4Box {
  return { type: "moof", bytes: box("moof", fullBox("mfhd", 0, 0, u32(1)), ...trafs), headerSize: 8 };
}

describe("moof reader", () => {
  test("per-sample durations, first_sample_flags and signed composition offsets (FFmpeg's cmaf video traf)", () => {
    const video = box(
      "traf",
      fullBox("tfhd", 0, 0x020000, u32(1)),
      fullBox("tfdt", 1, 0, u64(161_072)),
      // data offset, first sample flags, then duration + size + composition offset per sample
      fullBox("trun", 1, 0xb05, u32(3, 100, SYNC), u32(544, 900, 0), u32(528, 300, 1584), u32(528, 200, -1072)),
    );
    expect(readMoof(moof(video), defaultsOf)).toEqual([
      {
        trackId: 1,
        baseMediaDecodeTime: 161_072,
        sampleCount: 3,
        duration: 1600,
        firstSampleIsSync: true,
        firstCompositionOffset: 0,
        // Data offset 100 from the moof (default-base-is-moof), then each sample after the one before.
        samples: [
          { duration: 544, size: 900, flags: SYNC, compositionOffset: 0, offset: 100 },
          { duration: 528, size: 300, flags: defaultsOf(1)!.defaultSampleFlags, compositionOffset: 1584, offset: 1000 },
          { duration: 528, size: 200, flags: defaultsOf(1)!.defaultSampleFlags, compositionOffset: -1072, offset: 1300 },
        ],
      },
    ]);
  });

  test("a first sample that is not sync, from trun first_sample_flags", () => {
    const traf = box("traf", fullBox("tfhd", 0, 0x020000, u32(1)), fullBox("tfdt", 1, 0, u64(5)), fullBox("trun", 1, 0x904, u32(1, NON_SYNC), u32(512, -1024)));
    // No data offset and no size: where the sample lies is not known.
    expect(readMoof(moof(traf), defaultsOf)).toEqual([
      { trackId: 1, baseMediaDecodeTime: 5, sampleCount: 1, duration: 512, firstSampleIsSync: false, firstCompositionOffset: -1024, samples: [{ duration: 512, size: undefined, flags: NON_SYNC, compositionOffset: -1024, offset: undefined }] },
    ]);
  });

  test("per-sample flags when there are no first_sample_flags", () => {
    const traf = box("traf", fullBox("tfhd", 0, 0, u32(1)), fullBox("tfdt", 0, 0, u32(90_000)), fullBox("trun", 0, 0x500, u32(2), u32(3000, SYNC), u32(3000, NON_SYNC)));
    expect(readMoof(moof(traf), defaultsOf)).toMatchObject([{ baseMediaDecodeTime: 90_000, sampleCount: 2, duration: 6000, firstSampleIsSync: true }]);
  });

  test("tfhd defaults, then the trex's, fill in what the trun leaves out", () => {
    // tfhd: default duration 1000 and default flags sync; trun: sizes only.
    const tfhdDefaults = box("traf", fullBox("tfhd", 0, 0x28, u32(1, 1000, SYNC)), fullBox("tfdt", 0, 0, u32(0)), fullBox("trun", 0, 0x200, u32(4, 1, 2, 3, 4)));
    expect(readMoof(moof(tfhdDefaults), defaultsOf)).toMatchObject([{ sampleCount: 4, duration: 4000, firstSampleIsSync: true }]);
    // The tfhd's default size (0x10) with a moof-relative data offset: every sample's place is known.
    const sizes = box("traf", fullBox("tfhd", 0, 0x020018, u32(2, 1024, 371)), fullBox("tfdt", 0, 0, u32(0)), fullBox("trun", 0, 0x01, u32(2, 64)));
    expect(readMoof(moof(sizes), defaultsOf)).toMatchObject([{ samples: [{ duration: 1024, size: 371, offset: 64 }, { duration: 1024, size: 371, offset: 435 }] }]);
    // Nothing in the tfhd or trun: track 2's trex says 1024 ticks, sync (AAC).
    const trexDefaults = box("traf", fullBox("tfhd", 0, 0, u32(2)), fullBox("tfdt", 0, 0, u32(480_000)), fullBox("trun", 0, 0, u32(22)));
    expect(readMoof(moof(trexDefaults), defaultsOf)).toMatchObject([{ trackId: 2, sampleCount: 22, duration: 22 * 1024, firstSampleIsSync: true }]);
    // Track 1's trex says non-sync.
    const nonSync = box("traf", fullBox("tfhd", 0, 0x08, u32(1, 500)), fullBox("tfdt", 0, 0, u32(0)), fullBox("trun", 0, 0, u32(3)));
    expect(readMoof(moof(nonSync), defaultsOf)).toMatchObject([{ duration: 1500, firstSampleIsSync: false }]);
  });

  test("every traf, and every trun of a traf, counts; an empty first trun does not decide the first sample", () => {
    const video = box("traf", fullBox("tfhd", 0, 0x08, u32(1, 500)), fullBox("tfdt", 0, 0, u32(0)), fullBox("trun", 0, 0x04, u32(0, NON_SYNC)), fullBox("trun", 0, 0x04, u32(2, SYNC)), fullBox("trun", 0, 0, u32(3)));
    const audio = box("traf", fullBox("tfhd", 0, 0, u32(2)), fullBox("tfdt", 0, 0, u32(7)), fullBox("trun", 0, 0, u32(5)));
    expect(readMoof(moof(video, audio), defaultsOf)).toMatchObject([
      { trackId: 1, sampleCount: 5, duration: 2500, firstSampleIsSync: true },
      { trackId: 2, baseMediaDecodeTime: 7, sampleCount: 5, duration: 5 * 1024 },
    ]);
  });

  test.each([
    ["a track the init does not declare", box("traf", fullBox("tfhd", 0, 0, u32(9)), fullBox("tfdt", 0, 0, u32(0)), fullBox("trun", 0, 0, u32(1)))],
    ["a traf without tfdt", box("traf", fullBox("tfhd", 0, 0, u32(1)), fullBox("trun", 0, 0, u32(1)))],
    ["a traf without tfhd", box("traf", fullBox("tfdt", 0, 0, u32(0)))],
    ["a trun claiming more samples than it holds", box("traf", fullBox("tfhd", 0, 0, u32(1)), fullBox("tfdt", 0, 0, u32(0)), fullBox("trun", 0, 0x100, u32(1_000_000, 5)))],
    ["a child box larger than its parent", Buffer.concat([u32(4096), Buffer.from("traf"), Buffer.alloc(16)])],
    ["a tfdt beyond 2^53", box("traf", fullBox("tfhd", 0, 0, u32(1)), fullBox("tfdt", 1, 0, u64(2n ** 60n)), fullBox("trun", 0, 0, u32(1)))],
  ])("%s is a malformed-box error, not an exception", (_name, traf) => {
    const result = readMoof(moof(traf), defaultsOf);
    expect(result).toBeInstanceOf(Mp4BoxError);
    expect((result as Mp4BoxError).reason).toBe("malformed");
  });

  test("a mutated moof never throws", () => {
    const valid = moof(box("traf", fullBox("tfhd", 0, 0x020028, u32(1, 512, NON_SYNC)), fullBox("tfdt", 1, 0, u64(1000)), fullBox("trun", 1, 0xb05, u32(2, 100, SYNC), u32(512, 10, 0), u32(512, 10, 512)))).bytes;
    for (let seed = 1; seed <= 2000; seed++) {
      const next = random(seed);
      const bytes = Buffer.from(valid);
      for (let flips = 1 + Math.floor(next() * 4); flips > 0; flips--) bytes[8 + Math.floor(next() * (bytes.length - 8))] = Math.floor(next() * 256);
      const result = readMoof({ type: "moof", bytes: bytes.subarray(0, 8 + Math.floor(next() * (bytes.length - 7))), headerSize: 8 }, defaultsOf);
      if (!(result instanceof Mp4BoxError)) expect(Array.isArray(result)).toBe(true);
    }
  });
});
