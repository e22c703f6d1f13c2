import { spawnPublisher, type Publisher } from "./media.js";

/**
 * Publishes one file in real time to several RTMP URLs from a single FFmpeg (tee muxer), as
 * an encoder feeding a primary and a backup origin does: both receive identical packets with
 * identical timestamps. A destination that fails (an origin killed) is dropped and the others
 * keep receiving.
 */
export async function publishFileToAll(file: string, urls: readonly string[], options: { loop?: boolean } = {}): Promise<Publisher> {
  const targets = urls.map((url) => `[f=flv:onfail=ignore]${url}`).join("|");
  return spawnPublisher(file, ["-map", "0", "-c", "copy", "-f", "tee", targets], options);
}
