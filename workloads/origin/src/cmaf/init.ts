/**
 * The initialization segment of one rendition (`ftyp` + `moov` with `mvex`), read with mp4box.js:
 * the RFC 6381 codec strings the master playlist's CODECS needs (avcC profile/level, esds object
 * type, and so on for every codec mp4box knows), the tracks' handlers and timescales, and the
 * `trex` sample defaults that the fragments' `moof`s may rely on.
 */
import { Live360Error } from "@live360/core";
import { MP4BoxBuffer, createFile, type Movie } from "mp4box";
import type { CmafInit } from "../ll-hls/model.js";
import type { TrackDefaults } from "./boxes.js";

/** The init segment cannot be used: not MP4, incomplete, or not fragmented. */
export class CmafInitError extends Live360Error {}

export interface InitTrack extends TrackDefaults {
  id: number;
  /** hdlr handler type: `vide`, `soun`, … */
  handler: string;
  /** mdhd timescale: ticks per second of the track's decode times and durations. */
  timescale: number;
  /** RFC 6381, e.g. `avc1.64001f`, `mp4a.40.2`. */
  codec: string;
}

export interface ParsedInit {
  init: CmafInit;
  tracks: readonly InitTrack[];
}

/** Parses a complete init segment; never throws (mp4box's own exceptions become a CmafInitError). */
export function parseInit(data: Buffer): ParsedInit | CmafInitError {
  const file = createFile();
  let movie: Movie | undefined;
  let failure: string | undefined;
  file.onReady = (info) => (movie = info);
  // Routes mp4box's parse errors here instead of its console logger.
  file.onError = (module, message) => (failure ??= `${module}: ${message}`);
  try {
    // mp4box keeps a view of the ArrayBuffer: give it a copy of exactly these bytes, not Node's shared pool.
    file.appendBuffer(MP4BoxBuffer.fromArrayBuffer(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength), 0));
    file.flush();
  } catch (error) {
    return new CmafInitError(`unreadable init segment: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (failure !== undefined) return new CmafInitError(`unreadable init segment: ${failure}`);
  if (!movie || !file.moov) return new CmafInitError("the init segment holds no complete moov box");
  const trexs = file.moov.mvex?.trexs ?? [];
  if (trexs.length === 0) return new CmafInitError("the init segment has no mvex/trex: FFmpeg did not write fragmented MP4 (-movflags +empty_moov+frag_keyframe)");

  const tracks: InitTrack[] = [];
  for (const trak of file.moov.traks) {
    const id = trak.tkhd?.track_id;
    const handler = trak.mdia?.hdlr?.handler;
    const timescale = trak.mdia?.mdhd?.timescale;
    const info = movie.tracks.find((t) => t.id === id);
    const trex = trexs.find((t) => t.track_id === id);
    if (id === undefined || !handler || !info || !trex) return new CmafInitError(`track ${id ?? "?"} of the init segment lacks a tkhd, hdlr, sample description or trex`);
    // A zero timescale would turn every duration into Infinity downstream.
    if (!timescale || timescale <= 0) return new CmafInitError(`track ${id} has timescale ${timescale}`);
    tracks.push({ id, handler, timescale, codec: info.codec, defaultSampleDuration: trex.default_sample_duration, defaultSampleFlags: trex.default_sample_flags, defaultSampleSize: trex.default_sample_size });
  }
  if (tracks.length === 0) return new CmafInitError("the init segment has no tracks");
  return {
    init: {
      data,
      codecs: tracks.map((t) => t.codec),
      timescales: Object.fromEntries(tracks.map((t) => [t.handler, t.timescale])),
    },
    tracks,
  };
}
