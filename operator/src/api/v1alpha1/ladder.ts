import { DEFAULT_LADDER, formatLadder, parseLadder, type Ladder } from "@live360/core";
import { schema, type StoredOf } from "../schema.js";

/** Named ladders; their descriptions in the CRD are generated from these, so they cannot go stale. */
export const LADDER_PRESETS = {
  /** 2:1 360° video for headsets and desktops: the origin's own default. */
  standard: DEFAULT_LADDER,
  /** Phones and weak networks: smaller rungs, lower bitrates. */
  mobile: parseLadder("mobile ladder preset", "source,1280x640:2500k,960x480:1400k,640x320:700k"),
  /** No transcoding at all: the cheapest origin, for sources that are already a sensible bitrate. */
  sourceOnly: parseLadder("sourceOnly ladder preset", "source"),
} satisfies Record<string, Ladder>;
export type LadderPreset = keyof typeof LADDER_PRESETS;
const PRESET_NAMES = Object.keys(LADDER_PRESETS) as LadderPreset[];

const rendition = schema
  .object("One rung of the ABR ladder.", {
    passthrough: schema
      .boolean(
        "Copy the source video into this rung untouched (full quality, no transcoding CPU). Exactly one rung passes the source through, and it is listed first; a non-H.264 source is transcoded at its own size instead.",
      )
      .default(false),
    width: schema
      .integer("Frame width in pixels (even, for H.264 4:2:0). Required unless passthrough.", { minimum: 16, maximum: 7680, multipleOf: 2 })
      .optional(),
    height: schema
      .integer("Frame height in pixels (even). The variant is named <height>p in playback URLs. Required unless passthrough.", {
        minimum: 16,
        maximum: 4320,
        multipleOf: 2,
      })
      .optional(),
    videoBitrateKbps: schema
      .integer("Target (and maximum) H.264 bitrate in kbit/s. Required unless passthrough.", { minimum: 100, maximum: 200000 })
      .optional(),
  })
  .rule(
    "self.passthrough ? !has(self.width) && !has(self.height) && !has(self.videoBitrateKbps) : has(self.width) && has(self.height) && has(self.videoBitrateKbps)",
    "a pass-through rung copies the source: leave width, height and videoBitrateKbps out; every other rung needs all three",
  );

export const ladder = schema
  .object(
    "The ABR ladder: a named preset or an explicit list of renditions. Only rungs smaller than the source are produced (upscaling wastes bits); the pass-through rung is always there.",
    {
      preset: schema
        .enumeration(
          `A named ladder (rungs as WIDTHxHEIGHT:bitrate, source = pass-through): ${PRESET_NAMES.map((name) => `${name} = ${formatLadder(LADDER_PRESETS[name])}`).join("; ")}.`,
          PRESET_NAMES,
        )
        .optional(),
      renditions: schema
        .array("Explicit renditions, top first; the first one passes the source through.", rendition, {
          minItems: 1,
          maxItems: 8,
          listType: "atomic",
        })
        .rule("self[0].passthrough", "list the pass-through rung (passthrough: true) first: it is the top of the ladder")
        .rule("self.filter(r, r.passthrough).size() == 1", "exactly one rendition must have passthrough: true")
        .rule(
          "self.filter(r, !r.passthrough).all(a, self.filter(b, !b.passthrough && b.height == a.height).size() == 1)",
          "give each transcoded rendition a distinct height: variants are named after their height (<height>p)",
        )
        .optional(),
    },
  )
  .rule("has(self.preset) != has(self.renditions)", "set either ladder.preset or ladder.renditions (exactly one of them)")
  .default({ preset: "standard" });

export type LadderSpec = StoredOf<typeof ladder>;

/**
 * The ladder as the workloads' `--ladder` flag takes it. Parsing it back checks what CEL cannot
 * say as clearly (the same rules the origin applies at start-up), so a bad ladder fails the
 * reconcile with the origin's own message instead of a crash-looping pod.
 */
export function ladderFlag(spec: LadderSpec, field = "spec.ladder"): string {
  if (spec.renditions === undefined) return formatLadder(LADDER_PRESETS[spec.preset ?? "standard"]);
  const text = spec.renditions
    .map((r) => (r.passthrough ? "source" : `${r.width ?? 0}x${r.height ?? 0}:${r.videoBitrateKbps ?? 0}k`))
    .join(",");
  return formatLadder(parseLadder(`${field}.renditions`, text));
}
