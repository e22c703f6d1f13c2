import { beforeAll, describe, expect, test } from "@jest/globals";
import { createHash } from "node:crypto";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { resolveBinary, runOnce } from "@live360/core";
import { keyframeTimes, makeTestClip, tempDir, videoFrameHashes } from "@live360/testkit";
import type { CmafInit, CmafPart, CmafSegment } from "../ll-hls/model.js";
import { BoxSplitter, Mp4BoxError, readMoof, type TrackFragment } from "./boxes.js";
import { box, feedAll, fullBox, makeLadderOutputs, oddChunks, u32, u64, type LadderOutputs } from "./fmp4.fixture.js";
import { fragmentSeconds } from "./output-args.js";
import { CmafPackager, CmafStreamError, type CmafEvent, type CmafPackagerOptions } from "./packager.js";

const PART_SECONDS = 0.3;
const SEGMENT_SECONDS = 2;
const FRAME_SECONDS = 1 / 30;
/** Timestamps are whole ticks of 1/16000 s (copied) or 1/15360 s (x264): a millisecond covers any rounding. */
const EPSILON = 0.001;
/** The stream's timeline starts at the encoder's first timestamp + 10 s (-output_ts_offset). */
const OFFSET_SECONDS = 10;
const EPOCH_MS = Date.UTC(2026, 0, 1);

/** As the origin will number: one number per segment target, rounded to the nearest, from a reference instant. */
const numberAt = (startSeconds: number): number => 5000 + Math.round((startSeconds - OFFSET_SECONDS) / SEGMENT_SECONDS);
const programDateTimeAt = (startSeconds: number): Date => new Date(EPOCH_MS + startSeconds * 1000);

function packager(over: Partial<CmafPackagerOptions> = {}): CmafPackager {
  return new CmafPackager({ segmentSeconds: SEGMENT_SECONDS, partTargetSeconds: PART_SECONDS, numberAt, programDateTimeAt, ...over });
}

/**
 * The stream's boxes up to the one whose arrival completes part `parts` (FFmpeg writes a fragment
 * per packet, so parts are known only by feeding): the init, then those fragments.
 */
function throughParts(output: Buffer, parts: number): { init: Buffer; fragments: Buffer } {
  const { boxes } = new BoxSplitter().push(output);
  const initEnd = boxes.findIndex((b) => b.type === "moof");
  const p = packager();
  let emitted = 0;
  for (let i = 0; i < boxes.length; i++) {
    emitted += p.push(boxes[i]!.bytes).filter((e) => e.type === "part").length;
    if (emitted === parts) return { init: Buffer.concat(boxes.slice(0, initEnd).map((b) => b.bytes)), fragments: Buffer.concat(boxes.slice(initEnd, i + 1).map((b) => b.bytes)) };
  }
  throw new Error(`the stream has fewer than ${parts} parts`);
}

interface Packaged {
  events: CmafEvent[];
  init: CmafInit;
  parts: CmafPart[];
  segments: CmafSegment[];
}

function packaged(events: CmafEvent[]): Packaged {
  const errors = events.filter((e) => e.type === "error");
  if (errors.length > 0) throw errors[0]!.error;
  const inits = events.flatMap((e) => (e.type === "init" ? [e.init] : []));
  expect(inits).toHaveLength(1);
  expect(events[0]!.type).toBe("init");
  return {
    events,
    init: inits[0]!,
    parts: events.flatMap((e) => (e.type === "part" ? [e.part] : [])),
    segments: events.flatMap((e) => (e.type === "segment" ? [e.segment] : [])),
  };
}

/** The video track fragment of a part, read independently of the packager's own bookkeeping. */
function videoOf(part: CmafPart): TrackFragment {
  const moof = new BoxSplitter().push(part.data).boxes.find((b) => b.type === "moof")!;
  const fragments = readMoof(moof, () => ({ defaultSampleDuration: 0, defaultSampleFlags: 0 }));
  if (fragments instanceof Mp4BoxError) throw fragments;
  return fragments.find((f) => f.trackId === 1)!;
}

const presentationStart = (part: CmafPart, timescale: number): number => {
  const video = videoOf(part);
  return (video.baseMediaDecodeTime + video.firstCompositionOffset) / timescale;
};

/** Parts and segments with their bytes as digests: jest compares large Buffers element by element, slowly. */
const digest = (data: Buffer): string => createHash("sha256").update(data).digest("hex");
const partsOf = (parts: readonly CmafPart[]): object[] => parts.map((part) => ({ ...part, data: digest(part.data) }));
const segmentsOf = (segments: readonly CmafSegment[]): object[] => segments.map((s) => ({ ...s, parts: partsOf(s.parts) }));

async function playable(dir: string, name: string, p: Packaged): Promise<string> {
  const file = path.join(dir, `${name}.mp4`);
  await writeFile(file, Buffer.concat([p.init.data, ...p.parts.map((part) => part.data)]));
  return file;
}

/** Indices (decode order) of the keyframes of a file's first video stream, as ffprobe reads them. */
async function keyframeIndices(file: string): Promise<number[]> {
  const ffprobe = await resolveBinary("ffprobe");
  const { stdout } = await runOnce(ffprobe, ["-v", "error", "-select_streams", "v:0", "-show_entries", "packet=flags", "-of", "csv=p=0", file], { timeoutMs: 60_000 });
  return stdout
    .split("\n")
    .filter((l) => l !== "")
    .flatMap((l, i) => (l.includes("K") ? [i] : []));
}

/** MD5 of every compressed video packet: equal lists mean bit-identical samples. */
async function packetHashes(file: string): Promise<string[]> {
  const ffmpeg = await resolveBinary("ffmpeg");
  const { stdout } = await runOnce(ffmpeg, ["-hide_banner", "-loglevel", "error", "-i", file, "-map", "0:v:0", "-c", "copy", "-f", "framemd5", "-"], { timeoutMs: 60_000 });
  return stdout
    .split("\n")
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => l.split(",").pop()!.trim());
}

describe("CMAF packager on FFmpeg's fragmented MP4", () => {
  let dir: string;
  let clip: string;
  let outputs: LadderOutputs;
  let copied: Packaged;
  let gop1s: Packaged;
  let aligned: Packaged;

  beforeAll(async () => {
    dir = await tempDir("cmaf-packager");
    // 6 s of H.264 (2 s GOP, as an encoder sends it) + AAC.
    clip = await makeTestClip(dir, { width: 320, height: 160, seconds: 6, gopSeconds: 2 });
    outputs = await makeLadderOutputs(clip);
    copied = packaged(feedAll(packager(), oddChunks(outputs.copied, 1)));
    gop1s = packaged(feedAll(packager(), oddChunks(outputs.gop1s, 2)));
    aligned = packaged(feedAll(packager(), oddChunks(outputs.aligned, 3)));
  }, 180_000);

  test("the init comes first, once, with the codecs and timescales the master playlist needs", () => {
    for (const p of [copied, gop1s, aligned]) {
      expect(p.init.codecs).toHaveLength(2);
      expect(p.init.codecs[0]).toMatch(/^avc1\.64[0-9a-f]{4}$/);
      expect(p.init.codecs[1]).toBe("mp4a.40.2");
      expect(p.init.timescales.soun).toBe(48_000);
    }
    expect(copied.init.timescales.vide).toBe(16_000);
  });

  test("parts follow the GOP's plan: within PART-TARGET, the middle ones ≥ 85 % of it, the remainder shared by the first and last", () => {
    for (const p of [copied, gop1s, aligned]) {
      // The stream's first GOP is planned before the encoder's GOP is known (as long as a segment):
      // the 85 % holds from the second on.
      const secondGop = p.parts.findIndex((part, i) => i > 0 && part.independent);
      p.parts.forEach((part, i) => {
        expect(part.durationSeconds).toBeLessThanOrEqual(PART_SECONDS + EPSILON);
        const next = p.parts.slice(i + 1).find((later) => later.videoFrames > 0);
        // Neither independent nor a segment's last: rfc8216bis 4.4.4.9's 85 %.
        if (i >= secondGop && !part.independent && next && !(next.independent && next.index === 0)) expect(part.durationSeconds).toBeGreaterThanOrEqual(0.85 * PART_SECONDS - EPSILON);
      });
      // Part starts are contiguous decode times (the video's: the stream's audio after its last frame is a part of its own).
      const video = p.parts.filter((part) => part.videoFrames > 0);
      expect(p.parts.length - video.length).toBe(1);
      expect(p.parts.at(-1)!.videoFrames).toBe(0);
      video.slice(1).forEach((part, i) => expect(Math.abs(part.startSeconds - (video[i]!.startSeconds + video[i]!.durationSeconds))).toBeLessThan(EPSILON));
    }
    const frames = (p: Packaged): number[][] => p.segments.map((s) => s.parts.filter((part) => part.videoFrames > 0).map((part) => part.videoFrames));
    // 30 fps, 0.3 s parts (at most 9 frames, at least 8 in the middle): a 2 s GOP (60 frames) is
    // 9 + 9 + 9 + 8 + 8 + 8 + 9 — not 6 × 9 + 6 as a cut at the target gives.
    for (const p of [copied, aligned]) expect(frames(p)).toEqual([[9, 9, 9, 8, 8, 8, 9], [9, 9, 9, 8, 8, 8, 9], [9, 9, 9, 8, 8, 8, 9]]);
    // A 1 s GOP inside a 2 s segment: the first GOP's last part is not exempt (the middle keyframe
    // begins a part, not a segment), so its remainder all goes first: 6 + 3 × 8; the second GOP
    // ends the segment: 7 + 8 + 8 + 7. The stream's first GOP was planned as a whole segment.
    expect(frames(gop1s)).toEqual([[9, 9, 9, 3, 7, 8, 8, 7], [6, 8, 8, 8, 7, 8, 8, 7], [6, 8, 8, 8, 7, 8, 8, 7]]);
  });

  test("FFmpeg's fragments of two or three frames make the same parts as a fragment per packet: the packager splits one where its plan ends a part", async () => {
    /**
     * Video frames per part with the parts' place (and, for the copied rung, every video sample's
     * size; x264's threads make each run's sizes differ a little): what the plan decides. From the second GOP: the first is planned on its frames' average duration so far
     * until its first part ends, which the fragments' arrival decides.
     */
    const shape = (p: Packaged, withSizes: boolean): object[] =>
      p.parts
        .slice(p.parts.findIndex((part, i) => i > 0 && part.independent))
        .filter((part) => part.videoFrames > 0)
        .map((part) => ({
          at: `${part.segment}.${part.index}`,
          independent: part.independent,
          frames: part.videoFrames,
          startMs: Math.round(part.startSeconds * 1000),
          durationMs: Math.round(part.durationSeconds * 1000),
          ...(withSizes ? { sizes: videoOf(part).samples.map((s) => s.size) } : {}),
        }));
    for (const seconds of [fragmentSeconds(30), 0.09]) {
      const coarse = await makeLadderOutputs(clip, seconds);
      // FFmpeg did write several frames into one fragment.
      const framesPerFragment = new BoxSplitter()
        .push(coarse.copied)
        .boxes.filter((b) => b.type === "moof")
        .map((moof) => (readMoof(moof, () => ({ defaultSampleDuration: 0, defaultSampleFlags: 0 })) as TrackFragment[]).find((f) => f.trackId === 1)?.sampleCount ?? 0);
      expect(Math.max(...framesPerFragment)).toBeGreaterThanOrEqual(2);
      const fine: Record<keyof LadderOutputs, Packaged> = { copied, gop1s, aligned };
      for (const rendition of ["copied", "gop1s", "aligned"] as const) {
        const p = packaged(feedAll(packager(), oddChunks(coarse[rendition], 4)));
        const withSizes = rendition === "copied";
        expect({ rendition, seconds, parts: shape(p, withSizes) }).toEqual({ rendition, seconds, parts: shape(fine[rendition], withSizes) });
      }
      // The copied rung stays the encoder's bytes, pieces and all.
      const coarseCopied = packaged(feedAll(packager(), oddChunks(coarse.copied, 5)));
      expect(await packetHashes(await playable(dir, `coarse-${seconds}`, coarseCopied))).toEqual(await packetHashes(await playable(dir, "fine-copied", copied)));
    }
  }, 120_000);

  test("INDEPENDENT exactly where the keyframes are", async () => {
    // The copied rung: the source's own keyframes, at the source's own times (+ the timeline offset).
    const sourceKeyframes = await keyframeTimes(clip);
    expect(sourceKeyframes.length).toBe(3);
    const independentAt = (p: Packaged): number[] => p.parts.filter((part) => part.independent).map((part) => presentationStart(part, p.init.timescales.vide!));
    expect(independentAt(copied)).toHaveLength(sourceKeyframes.length);
    independentAt(copied).forEach((t, i) => expect(Math.abs(t - (sourceKeyframes[i]! + OFFSET_SECONDS))).toBeLessThan(EPSILON));
    // The 1 s GOP rung: a keyframe every second from the first.
    const gop1sAt = independentAt(gop1s);
    expect(gop1sAt).toHaveLength(6);
    gop1sAt.forEach((t, i) => expect(Math.abs(t - (gop1sAt[0]! + i))).toBeLessThan(EPSILON));

    // Counted in frames, against ffprobe's reading of the packaged output: the first frame of every
    // independent part is a keyframe, and every keyframe begins an independent part.
    for (const [name, p] of [
      ["copied", copied],
      ["gop1s", gop1s],
      ["aligned", aligned],
    ] as const) {
      const firstFrames: number[] = [];
      let frames = 0;
      for (const part of p.parts) {
        if (part.independent) firstFrames.push(frames);
        frames += part.videoFrames > 0 ? videoOf(part).sampleCount : 0;
      }
      expect(await keyframeIndices(await playable(dir, name, p))).toEqual(firstFrames);
    }
  });

  test("segments start with a keyframe, last the target and are numbered from numberAt, then by one", () => {
    for (const p of [copied, gop1s, aligned]) {
      expect(p.segments).toHaveLength(3);
      p.segments.forEach((segment, i) => {
        // The last also holds the audio after the stream's last frame.
        const audioAfter = i === 2 ? segment.parts.at(-1)!.durationSeconds : 0;
        expect(audioAfter).toBeLessThan(PART_SECONDS);
        expect(Math.abs(segment.durationSeconds - audioAfter - SEGMENT_SECONDS)).toBeLessThan(EPSILON);
        expect(segment.parts[0]!.independent).toBe(true);
        expect(segment.parts.map((part) => part.index)).toEqual(segment.parts.map((_, k) => k));
        expect(segment.parts.every((part) => part.segment === segment.number)).toBe(true);
        const start = presentationStart(segment.parts[0]!, p.init.timescales.vide!);
        expect(segment.number).toBe(5000 + i);
        expect(segment.number).toBe(numberAt(start));
        expect(segment.programDateTime).toEqual(programDateTimeAt(start));
      });
      // Every part is in exactly one segment, in order: segments are the parts' bytes, nothing more.
      expect(p.segments.flatMap((s) => s.parts).every((part, i) => part === p.parts[i])).toBe(true);
      expect(p.segments.flatMap((s) => s.parts)).toHaveLength(p.parts.length);
      // A segment is announced just before the part that opens the next one (or at the end).
      const order = p.events.filter((e) => e.type !== "init").map((e) => (e.type === "part" ? `p${e.part.segment}.${e.part.index}` : e.type === "segment" ? `s${e.segment.number}` : e.type));
      expect(order.indexOf("s5000")).toBe(order.indexOf("p5001.0") - 1);
      expect(order.at(-1)).toBe("s5002");
    }
    // The 1 s GOP rung has an independent part in the middle of each 2 s segment.
    expect(gop1s.segments.map((s) => s.parts.filter((p) => p.independent).length)).toEqual([2, 2, 2]);
  });

  test("a part is handed out when its last frame arrives: a segment's parts are all out before the keyframe that closes it", () => {
    for (const output of [outputs.copied, outputs.aligned]) {
      const { boxes } = new BoxSplitter().push(output);
      const p = packager();
      const events: CmafEvent[] = [];
      for (const b of boxes) {
        const next = p.push(b.bytes);
        // The fragment that closes segment 5000 is the next segment's keyframe; no part is cut with it.
        if (next.some((e) => e.type === "segment")) {
          expect(next.map((e) => e.type)).toEqual(["segment"]);
          expect(events.filter((e) => e.type === "part")).toHaveLength(7);
          break;
        }
        events.push(...next);
      }
    }
  });

  test("each part is one moof + mdat however many fragments FFmpeg wrote for it", () => {
    for (const p of [copied, gop1s, aligned]) {
      for (const part of p.parts) expect(new BoxSplitter().push(part.data).boxes.map((b) => b.type)).toEqual(["moof", "mdat"]);
    }
    // FFmpeg wrote a fragment per packet: far more moofs than parts.
    const moofs = new BoxSplitter().push(outputs.copied).boxes.filter((b) => b.type === "moof").length;
    expect(moofs).toBeGreaterThan(5 * copied.parts.length);
  });

  test("renditions with aligned keyframes cut at the same instants with the same numbers", () => {
    const cuts = (p: Packaged): number[][] => p.segments.map((s) => [s.number, presentationStart(s.parts[0]!, p.init.timescales.vide!), s.durationSeconds]);
    for (const other of [aligned, gop1s]) {
      expect(cuts(other).map((c) => c[0])).toEqual(cuts(copied).map((c) => c[0]));
      cuts(other).forEach(([, start, duration], i) => {
        // x264's timestamps are in 1/30 s (the encoder's time base), the copied ones in ms: ≤ 0.4 ms apart.
        expect(Math.abs(start! - cuts(copied)[i]![1]!)).toBeLessThan(EPSILON);
        expect(Math.abs(duration! - cuts(copied)[i]![2]!)).toBeLessThan(EPSILON);
      });
    }
  });

  test("the parts concatenated after the init are an MP4 FFmpeg decodes; the copied rung's samples are the source's, bit for bit", async () => {
    const ffmpeg = await resolveBinary("ffmpeg");
    const files = { copied: await playable(dir, "copied", copied), gop1s: await playable(dir, "gop1s", gop1s), aligned: await playable(dir, "aligned", aligned) };
    for (const file of Object.values(files)) {
      const { stderr } = await runOnce(ffmpeg, ["-hide_banner", "-loglevel", "error", "-xerror", "-i", file, "-f", "null", "-"], { timeoutMs: 60_000 });
      expect(stderr).toBe("");
    }
    const sourceHashes = await videoFrameHashes(clip);
    expect(sourceHashes).toHaveLength(180);
    expect(await videoFrameHashes(files.copied)).toEqual(sourceHashes);
    expect(await packetHashes(files.copied)).toEqual(await packetHashes(clip));
    expect(await videoFrameHashes(files.gop1s)).toHaveLength(180);
    expect(await videoFrameHashes(files.aligned)).toHaveLength(180);
  });

  test("chunking does not matter: one chunk, single bytes and odd sizes give the same parts", () => {
    const whole = packaged(feedAll(packager(), [outputs.copied]));
    expect(partsOf(whole.parts)).toEqual(partsOf(copied.parts));
    expect(segmentsOf(whole.segments)).toEqual(segmentsOf(copied.segments));
    // The init and two parts, fed a byte at a time.
    const { init, fragments } = throughParts(outputs.copied, 2);
    const head = Buffer.concat([init, fragments]);
    const bytewise = packaged(feedAll(packager(), [...head].map((b) => Buffer.from([b]))));
    const headWhole = packaged(feedAll(packager(), [head]));
    expect(bytewise.parts).toHaveLength(2);
    expect(partsOf(bytewise.parts)).toEqual(partsOf(headWhole.parts));
  });

  test("memory: what the packager holds is the open segment and one box, handed over as segments close", () => {
    const p = packager();
    let maxBuffered = 0;
    for (const chunk of oddChunks(outputs.copied, 4)) {
      p.push(chunk);
      maxBuffered = Math.max(maxBuffered, p.bufferedBytes);
    }
    const largestSegment = Math.max(...copied.segments.map((s) => s.parts.reduce((n, part) => n + part.data.length, 0)));
    const largestPart = Math.max(...copied.parts.map((part) => part.data.length));
    expect(maxBuffered).toBeLessThanOrEqual(largestSegment + largestPart);
    p.end();
    expect(p.bufferedBytes).toBe(0);
  });

  test("an origin that joins mid-stream drops parts until a keyframe and numbers the same media the same", () => {
    const { boxes } = new BoxSplitter().push(outputs.copied);
    const initEnd = boxes.findIndex((b) => b.type === "moof");
    // The init, then fragments from the middle of the first GOP on.
    const late = Buffer.concat([...boxes.slice(0, initEnd), ...boxes.slice(initEnd + 2 * 3)].map((b) => b.bytes));
    const backup = packaged(feedAll(packager(), oddChunks(late, 5)));
    expect(backup.parts[0]!.independent).toBe(true);
    expect(backup.segments.map((s) => s.number)).toEqual([5001, 5002]);
    expect(segmentsOf(backup.segments)).toEqual(segmentsOf(copied.segments.slice(1)));
  });

  test("keyframes further apart than the target make longer segments, still numbered without gaps", () => {
    const p = packaged(feedAll(packager({ segmentSeconds: 1 }), oddChunks(outputs.copied, 6)));
    expect(p.segments.map((s) => Number(s.durationSeconds.toFixed(3)))).toEqual(copied.segments.map((s) => Number(s.durationSeconds.toFixed(3))));
    expect(p.segments.slice(0, 2).map((s) => Number(s.durationSeconds.toFixed(3)))).toEqual([2, 2]);
    // numberAt would say 5000, 5001, 5002 for a 1 s target, but it is asked once: 5000 then by one.
    expect(p.segments.map((s) => s.number)).toEqual([5000, 5001, 5002]);
  });

  test("end of stream closes the open segment; a stream cut inside a part keeps what was complete", () => {
    const p = packager();
    const cut = outputs.copied.subarray(0, outputs.copied.length - 1000);
    const events = [...p.push(cut), ...p.end()];
    const last = events.at(-1)!;
    expect(last.type).toBe("error");
    expect(last.type === "error" && last.error.message).toMatch(/ended .* into a box/);
    const segments = events.flatMap((e) => (e.type === "segment" ? [e.segment] : []));
    expect(segments.map((s) => s.number)).toEqual([5000, 5001, 5002]);
    // The final segment lacks only what the cut-off fragments held: its last frame or two.
    const lost = copied.segments[2]!.durationSeconds - segments[2]!.durationSeconds;
    expect(lost).toBeGreaterThan(FRAME_SECONDS - EPSILON);
    expect(lost).toBeLessThan(3 * FRAME_SECONDS);
    expect(segmentsOf(segments.slice(0, 2))).toEqual(segmentsOf(copied.segments.slice(0, 2)));
    expect(p.push(Buffer.alloc(10))).toEqual([]);
  });

  test("the open segment is visible while it is written", () => {
    const p = packager();
    const { init, fragments } = throughParts(outputs.copied, 3);
    p.push(Buffer.concat([init, fragments]));
    const open = p.open!;
    expect({ ...open, parts: partsOf(open.parts) }).toEqual({ number: 5000, parts: partsOf(copied.parts.slice(0, 3)), programDateTime: copied.segments[0]!.programDateTime });
  });
});

describe("CMAF packager on hostile or unexpected streams", () => {
  let outputs: LadderOutputs;
  let init: Buffer;
  let firstParts: Buffer;

  beforeAll(async () => {
    const dir = await tempDir("cmaf-hostile");
    const clip = await makeTestClip(dir, { width: 320, height: 160, seconds: 3, gopSeconds: 2 });
    outputs = await makeLadderOutputs(clip);
    ({ init, fragments: firstParts } = throughParts(outputs.copied, 2));
  }, 180_000);

  function errorOf(events: CmafEvent[]): Error {
    const errors = events.flatMap((e) => (e.type === "error" ? [e.error] : []));
    expect(errors).toHaveLength(1);
    expect(events.at(-1)!.type).toBe("error");
    return errors[0]!;
  }

  /** An audio-only fragment (track 2, AAC) of `samples` packets: the video paused, the audio went on. */
  const audioOnly = (tfdt: number, samples = 15): Buffer =>
    Buffer.concat([
      box("moof", fullBox("mfhd", 0, 0, u32(99)), box("traf", fullBox("tfhd", 0, 0x020028, u32(2, 1024, 0x0200_0000)), fullBox("tfdt", 1, 0, u64(tfdt)), fullBox("trun", 1, 0x201, u32(samples, 0, ...Array<number>(samples).fill(10))))),
      box("mdat", Buffer.alloc(10 * samples)),
    ]);

  test("random bytes after the init: one typed error, later input ignored, nothing thrown", () => {
    const p = packager();
    const events = p.push(Buffer.concat([init, firstParts, Buffer.from("\x00\x00\x00\x00garbage that is not a box at all")]));
    expect(events[0]!.type).toBe("init");
    expect(events.filter((e) => e.type === "part")).toHaveLength(2);
    const error = errorOf(events);
    expect(error).toBeInstanceOf(Mp4BoxError);
    expect(p.error).toBe(error);
    expect(p.push(firstParts)).toEqual([]);
    expect(p.end()).toEqual([]);
    expect(p.bufferedBytes).toBe(0);
  });

  test.each([
    ["a fragment before the init", () => Buffer.concat([firstParts, init]), "unexpected-box"],
    ["a second init", () => Buffer.concat([init, firstParts, init]), "unexpected-box"],
    ["an mdat without a moof", () => Buffer.concat([init, box("mdat", Buffer.alloc(8))]), "unexpected-box"],
    ["two moofs in a row", () => Buffer.concat([init, firstParts.subarray(0, firstParts.readUInt32BE(0)), firstParts]), "unexpected-box"],
    ["a fragment without samples", () => Buffer.concat([init, box("moof", fullBox("mfhd", 0, 0, u32(1))), box("mdat")]), "empty-fragment"],
  ])("%s is a CmafStreamError", (_name, stream, reason) => {
    const error = errorOf(packager().push(stream()));
    expect(error).toBeInstanceOf(CmafStreamError);
    expect((error as CmafStreamError).reason).toBe(reason);
  });

  test.each([
    ["before its init segment was complete", () => init.subarray(0, init.readUInt32BE(0)), /before its init segment's moov/],
    ["between a moof and its mdat", () => Buffer.concat([init, firstParts.subarray(0, firstParts.readUInt32BE(0))]), /between a moof and its mdat/],
  ])("a stream that ends %s is truncated", (_name, stream, message) => {
    const p = packager();
    const error = errorOf([...p.push(stream()), ...p.end()]);
    expect((error as Mp4BoxError).reason).toBe("truncated");
    expect(error.message).toMatch(message);
    expect(p.bufferedBytes).toBe(0);
  });

  test("a fragment of a track the init does not declare is a malformed-box error", () => {
    const foreign = Buffer.concat([box("moof", fullBox("mfhd", 0, 0, u32(1)), box("traf", fullBox("tfhd", 0, 0, u32(7)), fullBox("tfdt", 0, 0, u32(0)), fullBox("trun", 0, 0, u32(1)))), box("mdat")]);
    const error = errorOf(packager().push(Buffer.concat([init, foreign])));
    expect((error as Mp4BoxError).reason).toBe("malformed");
  });

  test("no keyframe within maxSegmentSeconds stops the packager instead of holding the segment forever", () => {
    const error = errorOf(feedAll(packager({ maxSegmentSeconds: 1 }), [outputs.copied]));
    expect((error as CmafStreamError).reason).toBe("segment-too-long");
  });

  test("a numberAt that cannot name a segment is an error", () => {
    const error = errorOf(packager({ numberAt: () => Number.NaN }).push(Buffer.concat([init, firstParts])));
    expect((error as CmafStreamError).reason).toBe("bad-number");
  });

  test("a fragment stream with bytes changed anywhere never throws, keeps its memory bounded and yields only typed errors", () => {
    const { fragments } = throughParts(outputs.copied, 8);
    for (let seed = 1; seed <= 300; seed++) {
      let state = seed;
      const next = (): number => {
        state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
        return state / 2_147_483_648;
      };
      const mutated = Buffer.from(fragments);
      for (let flips = 1 + Math.floor(next() * 4); flips > 0; flips--) mutated[Math.floor(next() * mutated.length)] = Math.floor(next() * 256);
      const p = packager();
      let maxBuffered = 0;
      const events: CmafEvent[] = [];
      for (const chunk of oddChunks(Buffer.concat([init, mutated]), seed)) {
        events.push(...p.push(chunk));
        maxBuffered = Math.max(maxBuffered, p.bufferedBytes);
      }
      events.push(...p.end());
      expect(maxBuffered).toBeLessThanOrEqual(init.length + mutated.length);
      expect(p.bufferedBytes).toBe(0);
      for (const event of events) {
        if (event.type === "error") expect(event.error instanceof Mp4BoxError || event.error instanceof CmafStreamError).toBe(true);
        // Every part handed out is one moof + mdat the reader accepts (or the fragments as they came).
        if (event.type === "part") expect(new BoxSplitter().push(event.part.data).error).toBeUndefined();
      }
    }
  });

  test("audio a whole part target ahead of the video is a part of its own, timed by its audio, never independent; before any keyframe it is dropped", () => {
    const p = packager();
    const events = p.push(Buffer.concat([init, firstParts, audioOnly(48_000 * 11)]));
    const parts = events.flatMap((e) => (e.type === "part" ? [e.part] : []));
    expect(parts).toHaveLength(3);
    expect(parts[2]).toMatchObject({ segment: 5000, index: 2, independent: false, startSeconds: 11, durationSeconds: (15 * 1024) / 48_000 });
    // Less audio than a part waits for the video.
    expect(packager().push(Buffer.concat([init, firstParts, audioOnly(48_000 * 11, 3)])).filter((e) => e.type === "part")).toHaveLength(2);
    expect(packager().push(Buffer.concat([init, audioOnly(0)]))).toEqual([expect.objectContaining({ type: "init" })]);
  });
});
