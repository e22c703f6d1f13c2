import { readFile } from "node:fs/promises";
import path from "node:path";
import { VARIANT_PLAYLIST, type Counter } from "@live360/core";

const SEGMENT_LINE = /^seg_(\d+)\.ts$/gm;

/**
 * Counts the segments each variant's playlist adds, read on every `sample()` (once a second): the
 * origin's own "segments are appearing" signal (a ladder FFmpeg's speed says it runs, not that its
 * playlists advance). A variant's first sight counts its newest segment only, so a continued
 * stream's older window is not counted again. Series exist while the stream does: a stream name
 * comes from a publisher, and a label kept after it would grow without bound.
 */
export class SegmentCounter {
  private readonly newest = new Map<string, number>();
  private renditions: readonly string[] = [];
  private sampling = false;
  private closed = false;

  constructor(
    private readonly streamDir: string,
    private readonly stream: string,
    private readonly counter: Counter<"stream" | "rendition">,
  ) {}

  /** The ladder's variants (again after a parameter change made a new ladder): each series starts at 0. */
  watch(renditions: readonly string[]): void {
    // A ladder planned while its stream ended (a publisher gone within its first keyframe) counts nothing.
    if (this.closed) return;
    for (const gone of this.renditions.filter((r) => !renditions.includes(r))) {
      this.counter.remove({ stream: this.stream, rendition: gone });
      this.newest.delete(gone);
    }
    for (const rendition of renditions) this.counter.inc({ stream: this.stream, rendition }, 0);
    this.renditions = renditions;
  }

  /** Reads every variant's playlist once; a read still running (a slow disk) is not doubled. */
  async sample(): Promise<void> {
    if (this.sampling) return;
    this.sampling = true;
    try {
      for (const rendition of this.renditions) {
        const playlist = await readFile(path.join(this.streamDir, rendition, VARIANT_PLAYLIST), "utf8").catch(() => "");
        let newest: number | undefined;
        for (const match of playlist.matchAll(SEGMENT_LINE)) newest = Math.max(newest ?? 0, Number(match[1]));
        if (newest === undefined || !this.renditions.includes(rendition)) continue;
        const last = this.newest.get(rendition);
        // A restarted ladder numbers on from the clock or its peer, so numbers only grow; one that
        // went back (a new run numbered anew) is a fresh start, like a first sight.
        const added = last === undefined || newest < last ? 1 : newest - last;
        if (added > 0) this.counter.inc({ stream: this.stream, rendition }, added);
        this.newest.set(rendition, newest);
      }
    } finally {
      this.sampling = false;
    }
  }

  close(): void {
    this.closed = true;
    for (const rendition of this.renditions) this.counter.remove({ stream: this.stream, rendition });
    this.renditions = [];
    this.newest.clear();
  }
}
