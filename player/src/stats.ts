import { formatBitrate, formatSeconds, rungLabel } from "./format.js";
import type { Player } from "./player.js";

const REFRESH_MS = 500;

/** "Stats for nerds": what a streaming engineer asks first when a viewer reports a problem. */
export class StatsOverlay {
  private timer: number | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly panel: HTMLElement,
    private readonly player: Player,
  ) {}

  show(): void {
    if (this.unsubscribe) return;
    // State changes show at once; the numbers refresh on a timer.
    this.unsubscribe = this.player.on("state", () => this.render());
    this.panel.hidden = false;
    this.render();
    this.timer = window.setInterval(() => this.render(), REFRESH_MS);
  }

  hide(): void {
    this.panel.hidden = true;
    window.clearInterval(this.timer);
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  toggle(): void {
    if (this.panel.hidden) this.show();
    else this.hide();
  }

  private render(): void {
    const s = this.player.stats();
    const video = this.player.video;
    // A media playlist given directly has no master playlist to say the rung's size.
    const rung = s.rung && s.rung.width === 0 ? { ...s.rung, width: video.videoWidth, height: video.videoHeight } : s.rung;
    const rows: Array<[string, string]> = [
      ["State", s.state],
      ["Engine", s.engine ?? "–"],
      ["Projection", s.projection ?? "–"],
      ["Rung", rung ? `${rungLabel(rung)}${s.autoRung ? " (auto)" : " (manual)"}` : "–"],
      ["Bandwidth", formatBitrate(s.bandwidthEstimate ?? Number.NaN)],
      ["Buffer", formatSeconds(s.bufferSeconds)],
      ["Dropped frames", `${s.droppedFrames} / ${s.totalFrames}`],
      ["Live latency", this.player.live ? formatSeconds(s.latencySeconds) : "– (on demand)"],
      ["First frame", s.firstFrameMs === undefined ? "–" : `${Math.round(s.firstFrameMs)} ms`],
    ];
    this.panel.textContent = rows.map(([k, v]) => `${k.padEnd(15)}${v}`).join("\n");
  }
}
