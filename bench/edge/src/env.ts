/** A positive number (an integer with `integer`) from the environment, or the fallback; anything else stops the benchmark naming the variable. */
export function envNumber(name: string, fallback: number, integer = false): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) throw new Error(`${name}=${raw}: give a positive ${integer ? "integer" : "number"}`);
  return value;
}
