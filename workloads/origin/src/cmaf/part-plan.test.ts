import { describe, expect, test } from "@jest/globals";
import { maxFramesPerPart, planGopParts } from "./part-plan.js";

const at = (fps: number, frames: number, partTargetSeconds: number, endsSegment = true): number[] => planGopParts({ frames, frameSeconds: 1 / fps, partTargetSeconds, endsSegment });

/**
 * rfc8216bis 4.4.4.9 for one GOP's plan: ≤ the target; ≥ 85 % unless first (independent) or the
 * segment's last — or, where no whole number of frames lies between 85 % and 100 % (0.2 s parts
 * at 24 fps: 4 frames are 0.167 s, 5 are 0.208 s), as many frames as fit.
 */
function conforms(plan: number[], fps: number, partTargetSeconds: number, endsSegment: boolean): boolean {
  const fit = maxFramesPerPart(1 / fps, partTargetSeconds);
  return plan.every((frames, i) => {
    const seconds = frames / fps;
    const exempt = i === 0 || (endsSegment && i === plan.length - 1);
    return seconds <= partTargetSeconds + 1e-9 && (exempt || seconds >= 0.85 * partTargetSeconds - 1e-9 || frames === fit) && frames >= 1;
  });
}

describe("part plan of a GOP", () => {
  test("25 fps, 1 s GOP, 0.33 s parts: 4 + 8 + 8 + 5 instead of FFmpeg's 8 + 8 + 8 + 1", () => {
    expect(at(25, 25, 0.33)).toEqual([4, 8, 8, 5]);
  });

  test.each([
    [30, 30, 0.33, [6, 9, 9, 6]],
    [24, 24, 0.33, [5, 7, 7, 5]],
    [24, 24, 0.334, [8, 8, 8]],
    [50, 50, 0.33, [10, 15, 15, 10]],
    [25, 50, 0.33, [5, 8, 8, 8, 8, 8, 5]],
    [25, 25, 0.5, [7, 11, 7]],
    [30, 60, 0.3, [9, 9, 9, 8, 8, 8, 9]],
    [25, 12, 0.33, [6, 6]],
    [25, 8, 0.33, [8]],
  ])("%i fps, %i frames, %f s parts → %j", (fps, frames, target, plan) => {
    expect(at(fps, frames, target)).toEqual(plan);
    expect(conforms(plan, fps, target, true)).toBe(true);
  });

  test("a GOP in the middle of a segment has no exempt last part: its remainder goes first", () => {
    expect(at(30, 30, 0.3, false)).toEqual([6, 8, 8, 8]);
    expect(at(25, 25, 0.33, false)).toEqual([1, 8, 8, 8]);
    expect(conforms(at(30, 30, 0.3, false), 30, 0.3, false)).toBe(true);
  });

  test("every plan from 1 to 400 frames at common rates and targets adds up and conforms", () => {
    for (const fps of [23.976, 24, 25, 29.97, 30, 50, 59.94, 60]) {
      for (const target of [0.2, 0.25, 0.33, 0.5, 1]) {
        for (let frames = 1; frames <= 400; frames++) {
          for (const endsSegment of [true, false]) {
            const plan = at(fps, frames, target, endsSegment);
            expect(plan.reduce((a, b) => a + b, 0)).toBe(frames);
            if (!conforms(plan, fps, target, endsSegment)) throw new Error(`${fps} fps, ${frames} frames, ${target} s, ends ${endsSegment}: ${plan.join("+")}`);
          }
        }
      }
    }
  });

  test("a part holds whole frames up to the target, never none; timestamps rounded to the millisecond still fit", () => {
    expect(maxFramesPerPart(1 / 30, 0.3)).toBe(9);
    expect(maxFramesPerPart(0.04, 0.33)).toBe(8);
    expect(maxFramesPerPart(0.5, 0.2)).toBe(1);
  });
});
