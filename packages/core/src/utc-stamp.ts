/**
 * `20261124T135544Z`: sortable, and valid in file names, S3 keys and URLs. Recordings and the
 * VOD assets made from them are both named with it, so an asset's path names its recording.
 */
export function utcStamp(date: Date): string {
  return date.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}Z$/, "Z");
}

export const UTC_STAMP_PATTERN = /^\d{8}T\d{6}Z$/;
