import { describe, expect, test } from "@jest/globals";
import { quantityAmount } from "./quantity.js";

describe("Kubernetes quantities", () => {
  test("decimal, binary and exponent forms amount to what Kubernetes reads them as", () => {
    expect(quantityAmount("500m")).toBe(0.5);
    expect(quantityAmount("2")).toBe(2);
    expect(quantityAmount(".5")).toBe(0.5);
    expect(quantityAmount("1k")).toBe(1000);
    expect(quantityAmount("1Gi")).toBe(1024 ** 3);
    expect(quantityAmount("1024Mi")).toBe(quantityAmount("1Gi"));
    expect(quantityAmount("1.5Gi")).toBe(1.5 * 1024 ** 3);
    expect(quantityAmount("1E")).toBe(1e18);
    expect(quantityAmount("1e3")).toBe(1000);
    // How helm prints a large number, 1073741824 in a values file.
    expect(quantityAmount("1.073741824e+09")).toBe(1024 ** 3);
    expect(quantityAmount("250m")! < quantityAmount("1")!).toBe(true);
  });

  test("anything else is none", () => {
    for (const bad of ["", "1 Gi", "1gi", "1GB", "one", "1e", "Mi", "1.2.3"]) expect(quantityAmount(bad)).toBeUndefined();
  });
});
