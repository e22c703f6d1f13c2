import { parsePlayerParams } from "./params.js";
import { Player } from "./player.js";
import { PlayerUi } from "./ui.js";

declare global {
  interface Window {
    /** The running player, for the browser console and for tests. */
    live360?: Player;
  }
}

const root = document.getElementById("live360");
if (root) {
  const { params, problems } = parsePlayerParams(window.location.href);
  const ui = new PlayerUi(root);
  const player = new Player({ stage: ui.stage, vrButton: ui.vrButton, root }, params, problems);
  ui.attach(player);
  window.live360 = player;
  player.start();
}
