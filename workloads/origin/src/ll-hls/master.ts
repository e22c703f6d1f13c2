/**
 * The master (multivariant) playlist of a CMAF stream: core's renderMasterPlaylist with what
 * fMP4 variants and 360° video add — each variant's CODECS as its init segment declares them,
 * and the projection as `REQ-VIDEO-LAYOUT` (draft-pantos-hls-rfc8216bis 4.4.6.2).
 */
import { renderMasterPlaylist, type Projection, type VariantEntry } from "@live360/core";
import type { CmafInit } from "./model.js";

/**
 * `REQ-VIDEO-LAYOUT` for each projection live360 knows. The value is a comma-separated list of
 * View Presentation Entries, each a slash-separated set of specifiers (so `CH-MONO,PROJ-EQUI`
 * would declare two presentations, one of them flat); the projection specifiers are PROJ-RECT
 * (none), PROJ-EQUI (360° equirectangular), PROJ-HEQU (180° half-equirectangular) and PROJ-PRIM
 * (parametric immersive). None describes a cubemap (equi-angular or not), so a cubemap variant
 * carries no layout; nor does a flat one, rectilinear mono being the default the spec says
 * SHOULD NOT be written.
 */
export const VIDEO_LAYOUTS: Readonly<Record<Projection, string | undefined>> = {
  equirectangular: "CH-MONO/PROJ-EQUI",
  cubemap: undefined,
  flat: undefined,
};

/** A variant as described for the TS master playlist, with the init segment its CODECS come from. */
export interface CmafMasterVariant {
  entry: Omit<VariantEntry, "codecs">;
  init: CmafInit;
}

/**
 * The master playlist. EXT-X-VERSION is 12 when REQ-VIDEO-LAYOUT is written ("an attribute
 * whose name starts with REQ-", section 8), else core's.
 */
export function renderCmafMasterPlaylist(variants: readonly CmafMasterVariant[], projection: Projection): string {
  const layout = VIDEO_LAYOUTS[projection];
  const entries = variants.map(({ entry, init }): VariantEntry => ({
    ...entry,
    codecs: init.codecs,
    ...(layout ? { extra: { ...entry.extra, "REQ-VIDEO-LAYOUT": layout } } : {}),
  }));
  const text = renderMasterPlaylist(entries);
  return layout ? text.replace(/^#EXT-X-VERSION:\d+$/m, "#EXT-X-VERSION:12") : text;
}
