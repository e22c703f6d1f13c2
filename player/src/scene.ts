import "aframe";
import * as THREE from "three";
import type { Entity, Scene } from "aframe";
import type { Projection } from "@live360/core/browser";
import { EventBus } from "./events.js";
import { equirectImagePoint } from "./eac.js";
import { eacCubeMesh, equirectSphereMesh, flatPlaneMesh, type MeshData } from "./meshes.js";
import { DEFAULT_FOV_DEG, type Rotation } from "./view.js";

/**
 * Far enough that moving the head in VR (a metre or two) barely shifts the picture, well
 * inside the camera's far plane.
 */
const RADIUS = 1000;
/** The flat picture fills most of the default view. */
const FLAT_DISTANCE = 10;
const FLAT_HEIGHT = 2 * FLAT_DISTANCE * Math.tan(((DEFAULT_FOV_DEG / 2) * Math.PI) / 180) * 0.8;

/** The parts of A-Frame's look-controls we steer: it owns device orientation and VR poses. */
interface LookControls {
  yawObject: THREE.Object3D;
  pitchObject: THREE.Object3D;
}

export interface SceneEvents {
  /** The first video frame reached the canvas, `ms` after navigation started. */
  firstFrame: [ms: number];
  projection: [Projection];
}

/**
 * The A-Frame scene: a camera at the centre of a mesh that carries the video as a texture.
 * Look-around input goes through A-Frame's look-controls (so device orientation on phones and
 * head tracking in WebXR keep working); the mesh is rebuilt when the projection or the video's
 * size changes (EAC texture coordinates depend on the size, flat on the aspect ratio).
 */
export class VideoScene extends EventBus<SceneEvents> {
  readonly sceneEl: Scene;
  readonly cameraEl: Entity;
  private readonly texture: THREE.VideoTexture;
  private readonly material: THREE.MeshBasicMaterial;
  private readonly mesh: THREE.Mesh;
  private heatmap: THREE.Mesh | undefined;
  private currentProjection: Projection | undefined;
  private firstFrameMs: number | undefined;
  private readonly loaded: Promise<void>;

  constructor(
    container: HTMLElement,
    private readonly video: HTMLVideoElement,
    vrButton: HTMLElement,
  ) {
    super();
    const sceneEl = document.createElement("a-scene");
    sceneEl.setAttribute("embedded", "");
    sceneEl.setAttribute("loading-screen", "enabled: false");
    sceneEl.setAttribute("xr-mode-ui", `enabled: true; enterVRButton: #${vrButton.id}; enterAREnabled: false`);
    sceneEl.setAttribute("device-orientation-permission-ui", "enabled: true");
    sceneEl.setAttribute("keyboard-shortcuts", "enterVR: false");
    // The inspector would load its code from a CDN on a key press: nothing here may.
    sceneEl.setAttribute("inspector", "url: data:text/javascript,");
    sceneEl.setAttribute("renderer", "antialias: false; colorManagement: true");
    sceneEl.setAttribute("background", "color: #000");
    const cameraEl = document.createElement("a-entity");
    cameraEl.setAttribute("position", "0 0 0");
    cameraEl.setAttribute("camera", `fov: ${DEFAULT_FOV_DEG}; near: 0.1; far: ${RADIUS * 4}`);
    // Mouse and touch are ours (grab-style drag, pinch); look-controls keeps orientation and VR.
    cameraEl.setAttribute("look-controls", "mouseEnabled: false; touchEnabled: false; magicWindowTrackingEnabled: true");
    sceneEl.appendChild(cameraEl);
    container.appendChild(sceneEl);
    this.sceneEl = sceneEl;
    this.cameraEl = cameraEl;

    this.texture = new THREE.VideoTexture(video);
    this.texture.colorSpace = THREE.SRGBColorSpace;
    this.texture.minFilter = THREE.LinearFilter;
    this.texture.magFilter = THREE.LinearFilter;
    this.texture.generateMipmaps = false;
    this.material = new THREE.MeshBasicMaterial({ map: this.texture, side: THREE.FrontSide });
    this.mesh = new THREE.Mesh(new THREE.BufferGeometry(), this.material);
    this.mesh.frustumCulled = false;
    this.loaded = new Promise((resolve) => {
      const attach = (): void => {
        sceneEl.object3D.add(this.mesh);
        resolve();
      };
      if (sceneEl.hasLoaded) attach();
      else sceneEl.addEventListener("loaded", attach);
    });
    video.addEventListener("resize", () => this.rebuild());
    this.watchFirstFrame();
  }

  whenLoaded(): Promise<void> {
    return this.loaded;
  }

  get projection(): Projection | undefined {
    return this.currentProjection;
  }

  get firstFrameAfterMs(): number | undefined {
    return this.firstFrameMs;
  }

  setProjection(projection: Projection): void {
    if (projection === this.currentProjection) return;
    this.currentProjection = projection;
    this.rebuild();
    this.emit("projection", projection);
  }

  /** look-controls exists once the camera entity has initialised (after "loaded"). */
  lookControls(): LookControls | undefined {
    return (this.cameraEl.components as Record<string, unknown>)["look-controls"] as LookControls | undefined;
  }

  /** Yaw and pitch the viewer chose (without device orientation or headset pose). */
  rotation(): Rotation {
    const look = this.lookControls();
    return { yaw: look?.yawObject.rotation.y ?? 0, pitch: look?.pitchObject.rotation.x ?? 0 };
  }

  /**
   * Where the viewer looks in the frame's own terms, degrees: yaw from the frame's centre (right
   * positive) and pitch (up positive), the angles of an equirectangular frame's columns and rows.
   * Taken from the camera's world direction, so mouse, touch, device orientation and a headset
   * all count.
   */
  viewDirection(): { yaw: number; pitch: number } {
    const camera = this.sceneEl.camera as THREE.Camera | undefined;
    if (!camera) return { yaw: 0, pitch: 0 };
    const direction = camera.getWorldDirection(new THREE.Vector3());
    const point = equirectImagePoint([direction.x, direction.y, direction.z]);
    return { yaw: (point.x - 0.5) * 360, pitch: (0.5 - point.y) * 180 };
  }

  /**
   * The attention heatmap (heatmap.ts) as a translucent sphere just inside the video's, sharing
   * the equirectangular mesh's layout so each cell covers the directions it counts. Linear
   * filtering smooths the 10° cells into a continuous glow, wrapping across the ±180° seam.
   */
  showHeatmap(pixels: Uint8ClampedArray, columns: number, rows: number): void {
    const texture = new THREE.DataTexture(pixels, columns, rows, THREE.RGBAFormat);
    // DataTexture rows go bottom-up in WebGL, the grid's top-down: flip to match the uv layout.
    texture.flipY = true;
    texture.wrapS = THREE.RepeatWrapping;
    texture.magFilter = THREE.LinearFilter;
    texture.minFilter = THREE.LinearFilter;
    texture.colorSpace = THREE.SRGBColorSpace;
    texture.needsUpdate = true;
    if (!this.heatmap) {
      const data = equirectSphereMesh(RADIUS * 0.98);
      const geometry = new THREE.BufferGeometry();
      geometry.setAttribute("position", new THREE.BufferAttribute(data.positions, 3));
      geometry.setAttribute("uv", new THREE.BufferAttribute(data.uvs, 2));
      geometry.setIndex(new THREE.BufferAttribute(data.indices, 1));
      const material = new THREE.MeshBasicMaterial({ map: texture, transparent: true, depthWrite: false, side: THREE.FrontSide });
      this.heatmap = new THREE.Mesh(geometry, material);
      this.heatmap.frustumCulled = false;
      this.heatmap.renderOrder = 1;
      void this.loaded.then(() => this.sceneEl.object3D.add(this.heatmap!));
    } else {
      const material = this.heatmap.material as THREE.MeshBasicMaterial;
      material.map?.dispose();
      material.map = texture;
      material.needsUpdate = true;
    }
  }

  get fov(): number {
    return (this.cameraEl.getAttribute("camera") as { fov: number } | null)?.fov ?? DEFAULT_FOV_DEG;
  }

  set fov(degrees: number) {
    this.cameraEl.setAttribute("camera", "fov", degrees);
  }

  private rebuild(): void {
    const projection = this.currentProjection;
    if (!projection) return;
    const frame = { width: this.video.videoWidth, height: this.video.videoHeight };
    let data: MeshData;
    if (projection === "cubemap") {
      // Texture coordinates need the real size; until the first frame any size gives a cube.
      data = eacCubeMesh(RADIUS, frame.width > 0 ? frame : { width: 1536, height: 1024 });
    } else if (projection === "flat") {
      data = flatPlaneMesh(FLAT_DISTANCE, FLAT_HEIGHT, frame.width > 0 && frame.height > 0 ? frame.width / frame.height : 16 / 9);
    } else {
      data = equirectSphereMesh(RADIUS);
    }
    const geometry = new THREE.BufferGeometry();
    geometry.setAttribute("position", new THREE.BufferAttribute(data.positions, 3));
    geometry.setAttribute("uv", new THREE.BufferAttribute(data.uvs, 2));
    geometry.setIndex(new THREE.BufferAttribute(data.indices, 1));
    this.mesh.geometry.dispose();
    this.mesh.geometry = geometry;
  }

  /**
   * Time to first frame as a viewer sees it: the first decoded frame, drawn by the next
   * animation frame. requestVideoFrameCallback is what three's VideoTexture itself uses.
   */
  private watchFirstFrame(): void {
    const mark = (): void => {
      requestAnimationFrame(() => {
        if (this.firstFrameMs !== undefined) return;
        this.firstFrameMs = performance.now();
        this.emit("firstFrame", this.firstFrameMs);
      });
    };
    // Safari before 15.4 and Firefox before 132 lack requestVideoFrameCallback.
    const video = this.video as Partial<Pick<HTMLVideoElement, "requestVideoFrameCallback">> & HTMLVideoElement;
    if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(() => mark());
    else video.addEventListener("playing", mark, { once: true });
  }
}
