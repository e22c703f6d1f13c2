/**
 * Camera arithmetic for looking around inside the video. Angles are radians in three.js's
 * sense: a positive yaw turns left, a positive pitch looks up.
 */
export interface ViewLimits {
  minFovDeg: number;
  maxFovDeg: number;
  /** Looking further up or down than straight up/down would flip the picture. */
  maxPitch: number;
}

export const DEFAULT_VIEW_LIMITS: ViewLimits = { minFovDeg: 30, maxFovDeg: 100, maxPitch: Math.PI / 2 };

export const DEFAULT_FOV_DEG = 80;

export interface Rotation {
  yaw: number;
  pitch: number;
}

/**
 * "Grab" dragging, as in 360 players viewers know: the picture follows the pointer. Moving the
 * pointer across the viewport's height turns the view by the vertical field of view, so the
 * point under the finger stays under it at any zoom.
 */
export function dragRotation(dxPx: number, dyPx: number, viewportHeightPx: number, fovDeg: number): Rotation {
  const radiansPerPixel = (fovDeg * Math.PI) / 180 / Math.max(1, viewportHeightPx);
  return { yaw: dxPx * radiansPerPixel, pitch: dyPx * radiansPerPixel };
}

export function clampPitch(pitch: number, limits: ViewLimits = DEFAULT_VIEW_LIMITS): number {
  return Math.max(-limits.maxPitch, Math.min(limits.maxPitch, pitch));
}

export function clampFov(fovDeg: number, limits: ViewLimits = DEFAULT_VIEW_LIMITS): number {
  return Math.max(limits.minFovDeg, Math.min(limits.maxFovDeg, fovDeg));
}

/** Scroll zoom: proportional, so each notch feels the same at any zoom; scrolling down widens. */
export function wheelFov(fovDeg: number, deltaYPx: number, limits: ViewLimits = DEFAULT_VIEW_LIMITS): number {
  return clampFov(fovDeg * Math.exp(deltaYPx * 0.001), limits);
}

/** Pinch zoom: spreading two fingers twice as far apart halves the field of view. */
export function pinchFov(startFovDeg: number, startDistancePx: number, distancePx: number, limits: ViewLimits = DEFAULT_VIEW_LIMITS): number {
  if (startDistancePx <= 0 || distancePx <= 0) return clampFov(startFovDeg, limits);
  return clampFov((startFovDeg * startDistancePx) / distancePx, limits);
}

export const KEY_STEP = (5 * Math.PI) / 180;

/** Arrow keys turn the view by a fixed step; any other key is not ours. */
export function keyRotation(key: string): Rotation | undefined {
  switch (key) {
    case "ArrowLeft":
      return { yaw: KEY_STEP, pitch: 0 };
    case "ArrowRight":
      return { yaw: -KEY_STEP, pitch: 0 };
    case "ArrowUp":
      return { yaw: 0, pitch: KEY_STEP };
    case "ArrowDown":
      return { yaw: 0, pitch: -KEY_STEP };
    default:
      return undefined;
  }
}
