/** A positive number (an integer with `integer`) from the environment, or the fallback; anything else stops the benchmark naming the variable. */
export function envNumber(name: string, fallback: number, integer = false): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) throw new Error(`${name}=${raw}: give a positive ${integer ? "integer" : "number"}`);
  return value;
}

/** How the latency benches run live360's LL-HLS origins. */
export interface LlHlsBenchSettings {
  partTarget: number;
  holdBackParts: number;
  /** The origin flags. */
  args: string[];
  /** For the systems' names: "0.33 s parts" or "0.2 s parts, hold-back 2". */
  label: string;
}

/** BENCH_PART_TARGET (0.33 s) and BENCH_PART_HOLD_BACK (3 parts, the origin's default). */
export function llHlsBenchSettings(): LlHlsBenchSettings {
  const partTarget = envNumber("BENCH_PART_TARGET", 0.33);
  const holdBackParts = envNumber("BENCH_PART_HOLD_BACK", 3);
  return {
    partTarget,
    holdBackParts,
    args: ["--hls-format", "cmaf", "--part-target", String(partTarget), "--part-hold-back", String(holdBackParts)],
    label: holdBackParts === 3 ? `${partTarget} s parts` : `${partTarget} s parts, hold-back ${holdBackParts}`,
  };
}
