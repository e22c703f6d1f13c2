import { describe, expect, test } from "@jest/globals";
import { applyDefaults, schema, type InputOf, type StoredOf } from "./schema.js";

const limits = schema
  .object("Scaling limits.", {
    min: schema.integer("Fewest.", { minimum: 1 }).default(2),
    max: schema.integer("Most.", { minimum: 1 }).default(10),
    label: schema.string("A name.").optional(),
  })
  .rule("self.max >= self.min", "max must be at least min");

const example = schema.object("An example resource spec.", {
  name: schema.string("Required name.", { pattern: /^[a-z]+$/ }).immutable("name is immutable"),
  limits: limits.default({}),
  tags: schema.array("Tags.", schema.object("A tag.", { key: schema.string("Key."), weight: schema.integer("Weight.").default(1) })).optional(),
  labels: schema.map("Labels.", schema.string("Value.")).optional(),
  size: schema.quantity("A quantity.").default("1Gi"),
});

describe("schema builder", () => {
  test("emits a structural schema: types, descriptions, required only for fields without presence modifiers", () => {
    expect(example.schema.type).toBe("object");
    expect(example.schema.required).toEqual(["name"]);
    expect(example.schema.properties?.name).toEqual({
      type: "string",
      description: "Required name.",
      pattern: "^[a-z]+$",
      "x-kubernetes-validations": [{ rule: "self == oldSelf", message: "name is immutable" }],
    });
    expect(example.schema.properties?.labels).toEqual({
      type: "object",
      description: "Labels.",
      additionalProperties: { type: "string", description: "Value." },
    });
    expect(example.schema.properties?.size).toMatchObject({ anyOf: [{ type: "integer" }, { type: "string" }], "x-kubernetes-int-or-string": true });
    expect(example.schema.properties?.tags?.items?.required).toEqual(["key"]);
  });

  test("an object default is stored with its own defaults filled in, so the server can validate its rules", () => {
    expect(example.schema.properties?.limits?.default).toEqual({ min: 2, max: 10 });
    expect(example.schema.properties?.limits?.["x-kubernetes-validations"]).toEqual([{ rule: "self.max >= self.min", message: "max must be at least min" }]);
  });

  test("applyDefaults fills missing fields the way the API server does, inside objects, arrays and defaulted parents", () => {
    const input: InputOf<typeof example> = { name: "demo", tags: [{ key: "a" }, { key: "b", weight: 5 }], limits: { max: 4 } };
    const stored: StoredOf<typeof example> = applyDefaults(example, input);
    expect(stored).toEqual({ name: "demo", limits: { min: 2, max: 4 }, tags: [{ key: "a", weight: 1 }, { key: "b", weight: 5 }], size: "1Gi" });
    expect(applyDefaults(example, { name: "demo" }).limits).toEqual({ min: 2, max: 10 });
    // The input is left alone.
    expect(input).toEqual({ name: "demo", tags: [{ key: "a" }, { key: "b", weight: 5 }], limits: { max: 4 } });
  });
});
