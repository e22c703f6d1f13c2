import type { VideoScene } from "./scene.js";
import { clampFov, clampPitch, dragRotation, keyRotation, pinchFov, wheelFov } from "./view.js";

interface Pointer {
  x: number;
  y: number;
}

/**
 * Looking around with a mouse, a finger or the keyboard, and zooming with the wheel or a
 * pinch. Pointer events cover mouse, pen and touch alike; one pointer drags, two pinch.
 */
export class ViewController {
  private readonly pointers = new Map<number, Pointer>();
  private pinch: { distance: number; fov: number } | undefined;
  private dragging = false;

  constructor(
    private readonly surface: HTMLElement,
    private readonly scene: VideoScene,
  ) {
    surface.addEventListener("pointerdown", (e) => this.onPointerDown(e));
    surface.addEventListener("pointermove", (e) => this.onPointerMove(e));
    for (const type of ["pointerup", "pointercancel"] as const) surface.addEventListener(type, (e) => this.onPointerUp(e));
    surface.addEventListener("wheel", (e) => this.onWheel(e), { passive: false });
    surface.addEventListener("keydown", (e) => this.onKey(e));
  }

  /** Turns the view; positive yaw turns left, positive pitch looks up. */
  rotateBy(yaw: number, pitch: number): void {
    const look = this.scene.lookControls();
    if (!look) return;
    look.yawObject.rotation.y += yaw;
    look.pitchObject.rotation.x = clampPitch(look.pitchObject.rotation.x + pitch);
  }

  private onPointerDown(event: PointerEvent): void {
    if (event.pointerType === "mouse" && event.button !== 0) return;
    this.surface.setPointerCapture(event.pointerId);
    this.pointers.set(event.pointerId, { x: event.clientX, y: event.clientY });
    this.surface.classList.add("l360-grabbing");
    this.dragging = true;
    if (this.pointers.size === 2) this.pinch = { distance: this.pinchDistance(), fov: this.scene.fov };
  }

  private onPointerMove(event: PointerEvent): void {
    const previous = this.pointers.get(event.pointerId);
    if (!previous || !this.dragging) return;
    const current = { x: event.clientX, y: event.clientY };
    this.pointers.set(event.pointerId, current);
    if (this.pinch && this.pointers.size === 2) {
      this.scene.fov = pinchFov(this.pinch.fov, this.pinch.distance, this.pinchDistance());
      return;
    }
    const turn = dragRotation(current.x - previous.x, current.y - previous.y, this.surface.clientHeight, this.scene.fov);
    this.rotateBy(turn.yaw, turn.pitch);
  }

  private onPointerUp(event: PointerEvent): void {
    this.pointers.delete(event.pointerId);
    if (this.pointers.size < 2) this.pinch = undefined;
    if (this.pointers.size === 0) {
      this.dragging = false;
      this.surface.classList.remove("l360-grabbing");
    }
  }

  private pinchDistance(): number {
    const [a, b] = [...this.pointers.values()];
    return a && b ? Math.hypot(a.x - b.x, a.y - b.y) : 0;
  }

  private onWheel(event: WheelEvent): void {
    event.preventDefault();
    // Lines and pages (Firefox) count as a typical 40 px notch.
    const pixels = event.deltaMode === WheelEvent.DOM_DELTA_PIXEL ? event.deltaY : event.deltaY * 40;
    this.scene.fov = wheelFov(this.scene.fov, pixels);
  }

  private onKey(event: KeyboardEvent): void {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const turn = keyRotation(event.key);
    if (turn) {
      event.preventDefault();
      this.rotateBy(turn.yaw, turn.pitch);
    } else if (event.key === "+" || event.key === "=") {
      this.scene.fov = clampFov(this.scene.fov - 5);
    } else if (event.key === "-") {
      this.scene.fov = clampFov(this.scene.fov + 5);
    }
  }
}
