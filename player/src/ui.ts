import type { Rung } from "./engine.js";
import { formatClock, rungLabel } from "./format.js";
import { ICONS } from "./icons.js";
import type { Player, PlayerState, ViewerMessage } from "./player.js";
import { StatsOverlay } from "./stats.js";

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className: string, attrs: Record<string, string> = {}): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = className;
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  return node;
}

function button(className: string, label: string, text: string, icon?: string): HTMLButtonElement {
  const b = el("button", `l360-button ${className}`, { type: "button", "aria-label": label, title: label });
  if (icon) b.innerHTML = icon;
  else b.textContent = text;
  return b;
}

function setIcon(b: HTMLButtonElement, icon: string, label: string): void {
  b.innerHTML = icon;
  b.setAttribute("aria-label", label);
  b.title = label;
}

/** States in which the picture is on screen, so the controls make sense. */
const PLAYBACK_STATES: readonly PlayerState[] = ["playing", "paused", "buffering", "ended", "reconnecting"];

/**
 * The page's controls, built before the player so the scene can be placed inside them; they
 * only call the player's methods and listen to its events.
 */
export class PlayerUi {
  readonly stage = el("div", "l360-stage", { tabindex: "0", "aria-label": "360° video: drag or use the arrow keys to look around" });
  readonly vrButton = button("l360-vr", "Enter VR", "VR");
  private readonly message = el("div", "l360-message", { role: "status", "aria-live": "polite" });
  private readonly notice = el("div", "l360-notice", { role: "status", "aria-live": "polite" });
  private readonly spinner = el("div", "l360-spinner", { "aria-hidden": "true" });
  private readonly bar = el("div", "l360-bar");
  private readonly playButton = button("l360-play", "Play", "", ICONS.play);
  private readonly muteButton = button("l360-mute", "Mute", "", ICONS.sound);
  private readonly time = el("span", "l360-time");
  private readonly seek = el("input", "l360-seek", { type: "range", min: "0", max: "0", step: "0.1", value: "0", "aria-label": "Seek" });
  private readonly liveBadge = el("span", "l360-live", { title: "Live" });
  private readonly goLiveButton = button("l360-golive", "Go to live", "Go to live");
  private readonly qualityButton = button("l360-quality", "Quality", "Auto");
  private readonly menu = el("div", "l360-menu", { role: "menu", "aria-label": "Quality" });
  private readonly statsButton = button("l360-stats-toggle", "Stats for nerds", "", ICONS.stats);
  private readonly fullscreenButton = button("l360-fullscreen", "Fullscreen", "", ICONS.fullscreen);
  private readonly statsPanel = el("pre", "l360-stats", { "aria-label": "Playback statistics" });
  private noticeTimer: number | undefined;
  private rungs: Rung[] = [];
  private currentRung: Rung | undefined;

  constructor(readonly root: HTMLElement) {
    root.replaceChildren();
    root.classList.add("l360");
    this.liveBadge.textContent = "● LIVE";
    this.liveBadge.hidden = true;
    this.goLiveButton.hidden = true;
    this.seek.hidden = true;
    this.menu.hidden = true;
    this.statsPanel.hidden = true;
    this.vrButton.id = "l360-vr";
    // Only where a headset can be used; A-Frame would otherwise offer its fullscreen fallback,
    // which the fullscreen button already covers.
    this.vrButton.hidden = true;
    void navigator.xr
      ?.isSessionSupported("immersive-vr")
      .then((supported) => (this.vrButton.hidden = !supported))
      .catch(() => undefined);
    const spacer = el("span", "l360-spacer");
    this.bar.append(
      this.playButton,
      this.muteButton,
      this.seek,
      this.time,
      this.liveBadge,
      this.goLiveButton,
      spacer,
      this.qualityButton,
      this.statsButton,
      this.vrButton,
      this.fullscreenButton,
    );
    this.bar.hidden = true;
    this.message.hidden = true;
    this.notice.hidden = true;
    this.spinner.hidden = true;
    root.append(this.stage, this.spinner, this.message, this.notice, this.statsPanel, this.menu, this.bar);
  }

  attach(player: Player): void {
    const video = player.video;
    const stats = new StatsOverlay(this.statsPanel, player);
    if (player.params.debug) stats.show();
    this.playButton.addEventListener("click", () => player.togglePlay());
    this.muteButton.addEventListener("click", () => player.toggleMute());
    this.fullscreenButton.addEventListener("click", () => player.toggleFullscreen());
    this.fullscreenButton.hidden = !document.fullscreenEnabled;
    this.goLiveButton.addEventListener("click", () => player.goLive());
    this.statsButton.addEventListener("click", () => stats.toggle());
    this.seek.addEventListener("input", () => player.seek(Number(this.seek.value)));
    this.qualityButton.addEventListener("click", () => {
      this.menu.hidden = !this.menu.hidden;
      if (!this.menu.hidden) this.renderMenu(player);
    });
    this.stage.addEventListener("pointerdown", () => (this.menu.hidden = true));
    this.stage.addEventListener("keydown", (e) => {
      if (e.key === " " || e.key === "k") {
        e.preventDefault();
        player.togglePlay();
      } else if (e.key === "m") player.toggleMute();
      else if (e.key === "f") player.toggleFullscreen();
    });

    video.addEventListener("play", () => this.setPlaying(true));
    video.addEventListener("pause", () => this.setPlaying(false));
    video.addEventListener("volumechange", () => this.setMuted(video.muted));
    video.addEventListener("timeupdate", () => this.updateTime(player));
    video.addEventListener("durationchange", () => this.updateTime(player));
    this.setMuted(video.muted);

    player.on("state", (state, message) => this.showState(state, message));
    player.on("notice", (text) => this.showNotice(text));
    player.on("rungs", (rungs) => {
      this.rungs = rungs;
      this.qualityButton.hidden = !player.canChooseRung || rungs.length < 2;
      this.renderMenu(player);
    });
    player.on("rungSwitched", (rung, auto) => {
      this.currentRung = rung;
      this.qualityButton.textContent = auto ? `Auto${rung ? ` · ${rung.height}p` : ""}` : rung ? `${rung.height}p` : "Auto";
      this.renderMenu(player);
    });
    player.on("live", (live) => {
      this.liveBadge.hidden = !live;
      this.seek.hidden = live;
      this.updateTime(player);
    });
    // The live edge moves on while the video is paused (no timeupdate then): keep checking.
    window.setInterval(() => {
      if (player.live) this.updateTime(player);
    }, 1000);
    this.qualityButton.hidden = true;
  }

  private renderMenu(player: Player): void {
    const items: Array<{ index: number; label: string }> = [
      { index: -1, label: `Auto${player.autoRung && this.currentRung ? ` (${rungLabel(this.currentRung)})` : ""}` },
      ...[...this.rungs].sort((a, b) => b.bitrate - a.bitrate).map((r) => ({ index: r.index, label: rungLabel(r) })),
    ];
    const selected = player.autoRung ? -1 : (this.currentRung?.index ?? -1);
    this.menu.replaceChildren(
      ...items.map(({ index, label }) => {
        const item = el("button", "l360-menu-item", {
          type: "button",
          role: "menuitemradio",
          "aria-checked": String(index === selected),
          "data-rung": String(index),
        });
        item.textContent = label;
        item.addEventListener("click", () => {
          player.setRung(index);
          this.menu.hidden = true;
        });
        return item;
      }),
    );
  }

  private showState(state: PlayerState, message: ViewerMessage | undefined): void {
    this.root.dataset.state = state;
    this.bar.hidden = !PLAYBACK_STATES.includes(state) && state !== "loading";
    this.spinner.hidden = !(state === "loading" || state === "buffering" || state === "waiting" || state === "reconnecting");
    if (!message) {
      this.message.hidden = true;
      return;
    }
    const title = el("p", "l360-title");
    title.textContent = message.title;
    const parts: HTMLElement[] = [title];
    if (message.detail) {
      const detail = el("p", "l360-detail");
      detail.textContent = message.detail;
      parts.push(detail);
    }
    if (message.action) {
      const action = button("l360-action", message.action.label, message.action.label);
      action.addEventListener("click", message.action.run);
      parts.push(action);
    }
    this.message.replaceChildren(...parts);
    this.message.hidden = false;
  }

  private showNotice(text: string): void {
    this.notice.textContent = text;
    this.notice.hidden = false;
    window.clearTimeout(this.noticeTimer);
    this.noticeTimer = window.setTimeout(() => (this.notice.hidden = true), 8000);
  }

  private setPlaying(playing: boolean): void {
    setIcon(this.playButton, playing ? ICONS.pause : ICONS.play, playing ? "Pause" : "Play");
  }

  private setMuted(muted: boolean): void {
    setIcon(this.muteButton, muted ? ICONS.muted : ICONS.sound, muted ? "Unmute" : "Mute");
  }

  private updateTime(player: Player): void {
    const video = player.video;
    if (player.live) {
      this.time.textContent = "";
      this.goLiveButton.hidden = !player.behindLive();
      return;
    }
    this.goLiveButton.hidden = true;
    if (Number.isFinite(video.duration) && video.duration > 0) {
      this.seek.max = String(video.duration);
      this.seek.value = String(video.currentTime);
      this.seek.hidden = false;
      this.time.textContent = `${formatClock(video.currentTime)} / ${formatClock(video.duration)}`;
    }
  }
}
