/**
 * Kubernetes quantities ("500m", "2Gi", "1.5", "1e3"): the same pattern the API server uses for
 * `resource.Quantity`, so a typo is refused at `kubectl apply` (CRD fields) or when the operator
 * starts (its settings) rather than by the pod.
 */
export const QUANTITY_PATTERN =
  "^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$";
const QUANTITY = new RegExp(QUANTITY_PATTERN);

/** Powers of ten of the decimal suffixes, and of 1024 of the binary ones. */
const DECIMAL_EXPONENTS: Record<string, number> = { n: -9, u: -6, m: -3, "": 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const BINARY_EXPONENTS: Record<string, number> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };

/** What a quantity amounts to ("500m" → 0.5, "1Gi" → 1073741824), so two can be compared; undefined when it is not one. */
export function quantityAmount(quantity: string): number | undefined {
  if (!QUANTITY.test(quantity)) return undefined;
  const [, number = "", suffix = ""] = /^([+-]?[0-9.]+)(.*)$/.exec(quantity) ?? [];
  const binary = BINARY_EXPONENTS[suffix];
  if (binary !== undefined) return Number(number) * 1024 ** binary;
  // Not a suffix: an exponent, "e3" or "E-2".
  const exponent = DECIMAL_EXPONENTS[suffix] ?? Number(suffix.slice(1));
  // Dividing keeps "500m" exactly 0.5, which multiplying by 1e-3 would not.
  return exponent < 0 ? Number(number) / 10 ** -exponent : Number(number) * 10 ** exponent;
}
