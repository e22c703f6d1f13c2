/**
 * `load` runs once, on the first call; every call shares its promise. For heavy modules that
 * only some configurations use (the AWS SDK costs ≈25 MiB and 0.3 s at start-up, and local
 * mode never touches it), so importing a package does not pay for them.
 */
export function once<T>(load: () => Promise<T>): () => Promise<T> {
  let loaded: Promise<T> | undefined;
  return () => (loaded ??= load());
}
