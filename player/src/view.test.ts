import { describe, expect, test } from "@jest/globals";
import { DEFAULT_VIEW_LIMITS, KEY_STEP, clampPitch, dragRotation, keyRotation, pinchFov, wheelFov } from "./view.js";

describe("view arithmetic", () => {
  test("dragging across the viewport's height turns by the field of view, picture following the pointer", () => {
    const turn = dragRotation(540, -540, 540, 90);
    // Dragging right turns the camera left (positive yaw), dragging up looks down.
    expect(turn.yaw).toBeCloseTo(Math.PI / 2, 12);
    expect(turn.pitch).toBeCloseTo(-Math.PI / 2, 12);
    expect(dragRotation(100, 0, 500, 40).yaw).toBeCloseTo(dragRotation(100, 0, 500, 80).yaw / 2, 12);
  });

  test("pitch stops at straight up and straight down", () => {
    expect(clampPitch(3)).toBe(Math.PI / 2);
    expect(clampPitch(-3)).toBe(-Math.PI / 2);
    expect(clampPitch(0.4)).toBe(0.4);
  });

  test("wheel and pinch zoom stay within the limits", () => {
    expect(wheelFov(80, -100)).toBeLessThan(80);
    expect(wheelFov(80, 100)).toBeGreaterThan(80);
    expect(wheelFov(80, 100_000)).toBe(DEFAULT_VIEW_LIMITS.maxFovDeg);
    expect(pinchFov(80, 100, 200)).toBe(40);
    expect(pinchFov(80, 100, 1000)).toBe(DEFAULT_VIEW_LIMITS.minFovDeg);
    expect(pinchFov(80, 0, 10)).toBe(80);
  });

  test("arrow keys turn by a fixed step; other keys are ignored", () => {
    expect(keyRotation("ArrowLeft")).toEqual({ yaw: KEY_STEP, pitch: 0 });
    expect(keyRotation("ArrowDown")).toEqual({ yaw: 0, pitch: -KEY_STEP });
    expect(keyRotation("a")).toBeUndefined();
  });
});
