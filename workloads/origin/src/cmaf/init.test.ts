import { beforeAll, describe, expect, jest, test } from "@jest/globals";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { resolveBinary, runOnce } from "@live360/core";
import { makeTestClip, tempDir } from "@live360/testkit";
import { BoxSplitter } from "./boxes.js";
import { makeLadderOutputs, type LadderOutputs } from "./fmp4.fixture.js";
import { CmafInitError, parseInit, type ParsedInit } from "./init.js";

/** The boxes of an MP4 byte stream before its first moof or mdat: the init segment. */
function initOf(stream: Buffer): Buffer {
  const { boxes } = new BoxSplitter().push(stream);
  const end = boxes.findIndex((b) => b.type === "moof" || b.type === "mdat");
  return Buffer.concat(boxes.slice(0, end).map((b) => b.bytes));
}

function parsed(data: Buffer): ParsedInit {
  const result = parseInit(data);
  if (result instanceof CmafInitError) throw result;
  return result;
}

describe("init segment", () => {
  let dir: string;
  let clip: string;
  let outputs: LadderOutputs;

  beforeAll(async () => {
    dir = await tempDir("cmaf-init");
    clip = await makeTestClip(dir, { width: 320, height: 160, seconds: 2, gopSeconds: 1 });
    outputs = await makeLadderOutputs(clip);
  }, 120_000);

  test("codec strings, handlers, timescales and trex defaults of FFmpeg's fragmented MP4", async () => {
    const ffprobe = await resolveBinary("ffprobe");
    const { stdout } = await runOnce(ffprobe, ["-v", "error", "-select_streams", "v:0", "-show_entries", "stream=level", "-of", "csv=p=0", clip]);
    // avc1.PPCCLL: High profile (100 = 0x64), no constraint flags, the source's level.
    const sourceCodec = `avc1.6400${Number(stdout.trim()).toString(16).padStart(2, "0")}`;

    const copied = parsed(initOf(outputs.copied));
    expect(copied.init.codecs).toEqual([sourceCodec, "mp4a.40.2"]);
    expect(copied.tracks.map((t) => [t.id, t.handler])).toEqual([
      [1, "vide"],
      [2, "soun"],
    ]);
    // FFmpeg times copied FLV video (millisecond timestamps) in 16 kHz ticks; AAC in its sample rate.
    expect(copied.init.timescales).toEqual({ vide: 16_000, soun: 48_000 });
    // FFmpeg puts every default in each fragment's tfhd and leaves the trex at zero.
    expect(copied.tracks.map((t) => [t.defaultSampleDuration, t.defaultSampleFlags])).toEqual([
      [0, 0],
      [0, 0],
    ]);
    expect(copied.init.data.subarray(4, 8).toString()).toBe("ftyp");

    const transcoded = parsed(initOf(outputs.aligned));
    expect(transcoded.init.codecs).toHaveLength(2);
    expect(transcoded.init.codecs[0]).toMatch(/^avc1\.6400[0-9a-f]{2}$/);
    expect(transcoded.init.codecs[1]).toBe("mp4a.40.2");
    expect(transcoded.init.timescales.vide).toBeGreaterThan(0);
  });

  test("an MP4 that is not fragmented is refused with the fix", async () => {
    const ffmpeg = await resolveBinary("ffmpeg");
    const file = path.join(dir, "plain.mp4");
    await runOnce(ffmpeg, ["-hide_banner", "-loglevel", "error", "-i", clip, "-c", "copy", "-movflags", "+faststart", file], { timeoutMs: 60_000 });
    const result = parseInit(initOf(await readFile(file)));
    expect(result).toBeInstanceOf(CmafInitError);
    expect((result as CmafInitError).message).toContain("empty_moov");
  });

  test("garbage, an empty buffer and a cut-off moov are errors, never exceptions", () => {
    const init = initOf(outputs.copied);
    const cases = [Buffer.alloc(0), Buffer.from("definitely not an mp4 file, just text"), init.subarray(0, init.length - 40), init.subarray(0, 40)];
    for (let seed = 1; seed <= 50; seed++) {
      const mutated = Buffer.from(init);
      const at = 8 + ((seed * 7919) % (mutated.length - 8));
      mutated[at] = mutated[at]! ^ 0xff;
      cases.push(mutated);
    }
    // mp4box reports an invalid box type on console.error without calling onError: it cannot be
    // routed, so the test only keeps it out of the output and checks that it is mp4box's.
    const consoleError = jest.spyOn(console, "error").mockImplementation(() => undefined);
    try {
      for (const data of cases) {
        const result = parseInit(data);
        // A flipped byte in a field mp4box does not check can still parse; what matters is no throw.
        if (data.length < init.length - 8) expect(result).toBeInstanceOf(CmafInitError);
      }
      for (const call of consoleError.mock.calls) expect(String(call[1])).toBe("[BoxParser]");
    } finally {
      consoleError.mockRestore();
    }
  });
});
