import { describe, expect, test } from "@jest/globals";
import { BoxSplitter, Mp4BoxError, readMoof, type TrackDefaults } from "./boxes.js";
import { joinFragments, splitFragment, type ReceivedFragment } from "./chunk.js";
import { box, fullBox, u32, u64 } from "./fmp4.fixture.js";

const SYNC = 0x0200_0000;
const NON_SYNC = 0x0101_0000;
const defaultsOf = (id: number): TrackDefaults | undefined => (id === 1 || id === 2 ? { defaultSampleDuration: 0, defaultSampleFlags: NON_SYNC } : undefined);

/**
 * A fragment as FFmpeg writes it with default_base_moof: one traf per track with tfdt and a trun
 * (data offset, duration, size, flags, composition offset), then an mdat with the samples in traf order.
 */
function fragment(tracks: { id: number; tfdt: number; samples: { duration: number; bytes: Buffer; flags: number; cto?: number }[] }[], sequence = 1): ReceivedFragment {
  const trafFor = (t: (typeof tracks)[number], dataOffset: number): Buffer =>
    box(
      "traf",
      fullBox("tfhd", 0, 0x020000, u32(t.id)),
      fullBox("tfdt", 1, 0, u64(t.tfdt)),
      fullBox("trun", 1, 0xf01, u32(t.samples.length, dataOffset), ...t.samples.map((s) => u32(s.duration, s.bytes.length, s.flags, s.cto ?? 0))),
    );
  // Sizes do not depend on the offsets: lay out once to measure, then for real.
  const measure = box("moof", fullBox("mfhd", 0, 0, u32(sequence)), ...tracks.map((t) => trafFor(t, 0)));
  let offset = measure.length + 8;
  const trafs = tracks.map((t) => {
    const traf = trafFor(t, offset);
    offset += t.samples.reduce((n, s) => n + s.bytes.length, 0);
    return traf;
  });
  const moofBytes = box("moof", fullBox("mfhd", 0, 0, u32(sequence)), ...trafs);
  return received(Buffer.concat([moofBytes, box("mdat", ...tracks.flatMap((t) => t.samples.map((s) => s.bytes)))]));
}

/** A moof + mdat as the packager hands it over. */
function received(data: Buffer): ReceivedFragment {
  const [moof, mdat] = new BoxSplitter().push(data).boxes;
  const tracks = readMoof(moof!, defaultsOf);
  if (tracks instanceof Mp4BoxError) throw tracks;
  return { boxes: [moof!.bytes, mdat!.bytes], bytes: data.length, moof: moof!, mdat: mdat!, mdatAt: moof!.bytes.length, tracks };
}

const dataOf = (fragment: ReceivedFragment): Buffer => Buffer.concat(fragment.boxes);

const bytes = (text: string): Buffer => Buffer.from(text);

describe("joining fragments into one chunk", () => {
  test("one moof with a traf per track in track order and one mdat; every sample's bytes, flags and offsets kept; durations are the decode-time steps", () => {
    const first = fragment(
      [
        { id: 2, tfdt: 48_000, samples: [{ duration: 0, bytes: bytes("aac-1"), flags: SYNC }] },
        { id: 1, tfdt: 16_000, samples: [{ duration: 533, bytes: bytes("idr-frame"), flags: SYNC, cto: 1066 }] },
      ],
      7,
    );
    const second = fragment([
      { id: 1, tfdt: 16_533, samples: [{ duration: 533, bytes: bytes("p-frame"), flags: NON_SYNC, cto: -533 }] },
      { id: 2, tfdt: 49_024, samples: [{ duration: 1024, bytes: bytes("aac-2!"), flags: SYNC }] },
    ]);
    const joined = joinFragments([first, second]);
    if (joined instanceof Mp4BoxError) throw joined;
    const boxes = new BoxSplitter().push(joined).boxes;
    expect(boxes.map((b) => b.type)).toEqual(["moof", "mdat"]);
    const tracks = readMoof(boxes[0]!, defaultsOf);
    if (tracks instanceof Mp4BoxError) throw tracks;
    expect(tracks.map((t) => [t.trackId, t.baseMediaDecodeTime])).toEqual([
      [1, 16_000],
      [2, 48_000],
    ]);
    const [video, audio] = tracks;
    expect(video!.samples.map((s) => [s.duration, s.flags, s.compositionOffset])).toEqual([
      [533, SYNC, 1066],
      [533, NON_SYNC, -533],
    ]);
    // FFmpeg's zero duration for an audio packet whose successor it had not seen becomes the step to the next.
    expect(audio!.samples.map((s) => s.duration)).toEqual([1024, 1024]);
    const sampleText = (t: (typeof tracks)[number]): string[] => t.samples.map((s) => joined.subarray(s.offset!, s.offset! + s.size!).toString());
    expect(sampleText(video!)).toEqual(["idr-frame", "p-frame"]);
    expect(sampleText(audio!)).toEqual(["aac-1", "aac-2!"]);
    // The first fragment's sequence number.
    expect(joined.readUInt32BE(8 + 12)).toBe(7);
  });

  test("a single fragment is served as FFmpeg wrote it", () => {
    const only = fragment([{ id: 1, tfdt: 0, samples: [{ duration: 512, bytes: bytes("frame"), flags: SYNC }] }]);
    expect(joinFragments([only])).toEqual(dataOf(only));
  });

  test("fragments that place their data other than by moof-relative offsets are served one after the other", () => {
    const relative = fragment([{ id: 1, tfdt: 0, samples: [{ duration: 512, bytes: bytes("frame"), flags: SYNC }] }]);
    // No data offset in the trun: the reader cannot place the sample.
    const noOffset = box("moof", fullBox("mfhd", 0, 0, u32(2)), box("traf", fullBox("tfhd", 0, 0x020000, u32(1)), fullBox("tfdt", 1, 0, u64(512)), fullBox("trun", 0, 0x300, u32(1, 512, 5))));
    const data = Buffer.concat([noOffset, box("mdat", bytes("frame"))]);
    expect(joinFragments([relative, received(data)])).toEqual(Buffer.concat([dataOf(relative), data]));
  });

  test("a sample outside its fragment's mdat is a malformed fragment, not a read past the buffer", () => {
    const good = fragment([{ id: 1, tfdt: 0, samples: [{ duration: 512, bytes: bytes("frame"), flags: SYNC }] }]);
    // The trun says 5 bytes; the mdat holds 3.
    const cut = fragment([{ id: 1, tfdt: 512, samples: [{ duration: 512, bytes: bytes("frame"), flags: NON_SYNC }] }]);
    const short = box("mdat", bytes("fra"));
    const truncated = { ...cut, mdat: { type: "mdat", bytes: short, headerSize: 8 }, boxes: [cut.moof.bytes, short] };
    const error = joinFragments([good, truncated]);
    expect(error).toBeInstanceOf(Mp4BoxError);
    expect((error as Mp4BoxError).reason).toBe("malformed");
  });
});

describe("splitting a fragment where a part ends", () => {
  // Video (track 1) in 1/1000 s, 40 ms frames; audio (track 2) in 1/48000 s, 1024-sample packets (21.3 ms).
  const timescaleOf = (id: number): number => (id === 1 ? 1000 : 48_000);
  const twoFrames = (): ReceivedFragment =>
    fragment([
      { id: 1, tfdt: 10_000, samples: [{ duration: 40, bytes: bytes("key"), flags: SYNC, cto: 80 }, { duration: 40, bytes: bytes("frame-2"), flags: NON_SYNC, cto: 40 }, { duration: 40, bytes: bytes("frame-3"), flags: NON_SYNC }] },
      { id: 2, tfdt: 480_000, samples: [0, 1, 2, 3, 4, 5].map((i) => ({ duration: 1024, bytes: bytes(`aac-${i}`), flags: SYNC })) },
    ]);

  test("the lead track's first samples and the other tracks' samples that begin before the rest go first; joined, each piece is a valid chunk of its own samples", () => {
    const [head, tail] = splitFragment(twoFrames(), 1, 1, timescaleOf)!;
    const video = (f: ReceivedFragment) => f.tracks.find((t) => t.trackId === 1)!;
    const audio = (f: ReceivedFragment) => f.tracks.find((t) => t.trackId === 2)!;
    expect(video(head).samples.map((s) => s.size)).toEqual([3]);
    expect(video(tail).samples.map((s) => s.size)).toEqual([7, 7]);
    expect(video(tail)).toMatchObject({ baseMediaDecodeTime: 10_040, firstSampleIsSync: false, firstCompositionOffset: 40, duration: 80 });
    // The split is at 10.040 s: audio packets starting at 10.000 and 10.0213 s go first, 10.0427 s on go after.
    expect(audio(head).samples).toHaveLength(2);
    expect(audio(tail)).toMatchObject({ baseMediaDecodeTime: 480_000 + 2 * 1024, sampleCount: 4 });
    for (const [piece, expected] of [[head, ["key", "aac-0", "aac-1"]], [tail, ["frame-2", "frame-3", "aac-2", "aac-3", "aac-4", "aac-5"]]] as const) {
      const joined = joinFragments([piece]);
      if (joined instanceof Mp4BoxError) throw joined;
      const again = received(joined);
      expect(again.tracks.map((t) => t.baseMediaDecodeTime)).toEqual(piece.tracks.filter((t) => t.sampleCount > 0).map((t) => t.baseMediaDecodeTime));
      // Every sample's bytes, in the chunk's mdat, in track order.
      expect(again.mdat.bytes.subarray(8).toString()).toBe(expected.join(""));
    }
    // Pieces join with the fragments around them as whole fragments do.
    const joinedAll = joinFragments([head, tail]);
    if (joinedAll instanceof Mp4BoxError) throw joinedAll;
    expect(received(joinedAll).mdat.bytes.subarray(8).toString()).toBe("keyframe-2frame-3aac-0aac-1aac-2aac-3aac-4aac-5");
  });

  test("no split outside the lead track's samples, or without moof-relative sample places", () => {
    expect(splitFragment(twoFrames(), 1, 0, timescaleOf)).toBeUndefined();
    expect(splitFragment(twoFrames(), 1, 3, timescaleOf)).toBeUndefined();
    expect(splitFragment(twoFrames(), 7, 1, timescaleOf)).toBeUndefined();
    const placeless = twoFrames();
    const withoutOffsets = { ...placeless, tracks: placeless.tracks.map((t) => ({ ...t, samples: t.samples.map((s) => ({ ...s, offset: undefined })) })) };
    expect(splitFragment(withoutOffsets, 1, 1, timescaleOf)).toBeUndefined();
  });
});
