/**
 * A small typed builder for Kubernetes structural OpenAPI v3 schemas. Each custom resource field
 * is declared once, and that one declaration yields three things that can therefore never drift
 * apart: the CRD schema the API server validates with (`kubectl explain` reads its descriptions),
 * the TypeScript type the operator reads (`Stored`: after the API server applied the defaults),
 * and the type a user writes (`Input`: defaulted fields may be left out).
 *
 * Only what the live360 CRDs use is here; Kubernetes' structural rules (every node typed, no
 * `$ref`, `properties` and `additionalProperties` never together) hold by construction.
 */

import { QUANTITY_PATTERN } from "./quantity.js";

/** A CEL rule in `x-kubernetes-validations`; `self` is the field it is attached to. */
export interface ValidationRule {
  rule: string;
  /** Shown to the user as is when the rule is false; write it as the fix. */
  message: string;
  /** Where the error points, relative to the field (e.g. `.maxReplicas`). */
  fieldPath?: string;
  reason?: "FieldValueInvalid" | "FieldValueForbidden" | "FieldValueRequired" | "FieldValueDuplicate";
}

/** The subset of apiextensions.k8s.io/v1 JSONSchemaProps the builders emit. */
export interface OpenApiSchema {
  type?: "object" | "array" | "string" | "integer" | "number" | "boolean";
  description: string;
  format?: string;
  enum?: readonly string[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  multipleOf?: number;
  minItems?: number;
  maxItems?: number;
  maxProperties?: number;
  default?: unknown;
  properties?: Record<string, OpenApiSchema>;
  required?: string[];
  items?: OpenApiSchema;
  additionalProperties?: OpenApiSchema;
  anyOf?: { type: "integer" | "string" }[];
  "x-kubernetes-int-or-string"?: true;
  "x-kubernetes-list-type"?: "atomic" | "set" | "map";
  "x-kubernetes-list-map-keys"?: string[];
  "x-kubernetes-validations"?: ValidationRule[];
}

/**
 * `required`: the user must give it. `optional`: may be absent in stored objects too.
 * `defaulted`: the user may leave it out, and the API server fills in the default, so stored
 * objects always have it.
 */
export type Presence = "required" | "optional" | "defaulted";

export class Field<Stored, Input = Stored, P extends Presence = "required"> {
  /** Phantom members: they exist only for the type checker. */
  declare readonly stored: Stored;
  declare readonly input: Input;

  constructor(
    readonly schema: OpenApiSchema,
    readonly presence: P,
  ) {}

  optional(): Field<Stored, Input, "optional"> {
    return new Field(this.schema, "optional");
  }

  /**
   * The API server stores `value` when the field is absent. Defaults inside `value` are filled in
   * here, as the API server would after storing it, because the server validates a default (CEL
   * rules included) as written: `{}` on an object whose rules read its defaulted fields would fail.
   */
  default(value: Input): Field<Stored, Input, "defaulted"> {
    return new Field({ ...this.schema, default: defaultValue(this.schema, structuredClone(value)) }, "defaulted");
  }

  /** Adds a CEL rule; the message should tell the user what to change. */
  rule(rule: string, message: string, extra: Omit<ValidationRule, "rule" | "message"> = {}): Field<Stored, Input, P> {
    const rules = [...(this.schema["x-kubernetes-validations"] ?? []), { rule, message, ...extra }];
    return new Field({ ...this.schema, "x-kubernetes-validations": rules }, this.presence);
  }

  /** A transition rule: once set, the field keeps its value for the life of the object. */
  immutable(message: string): Field<Stored, Input, P> {
    return this.rule("self == oldSelf", message);
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- variance: any field fits a shape
type AnyField = Field<any, any, Presence>;
export type Shape = Record<string, AnyField>;

type KeysWhere<S extends Shape, P extends Presence> = { [K in keyof S]: S[K]["presence"] extends P ? K : never }[keyof S];
type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** What the operator reads: only `optional` fields may be missing. */
export type StoredObject<S extends Shape> = Simplify<
  { [K in Exclude<keyof S, KeysWhere<S, "optional">>]: S[K]["stored"] } & {
    [K in KeysWhere<S, "optional">]?: S[K]["stored"];
  }
>;

/** What a user writes: only `required` fields must be there. */
export type InputObject<S extends Shape> = Simplify<
  { [K in KeysWhere<S, "required">]: S[K]["input"] } & {
    [K in Exclude<keyof S, KeysWhere<S, "required">>]?: S[K]["input"];
  }
>;

export type StoredOf<F extends AnyField> = F["stored"];
export type InputOf<F extends AnyField> = F["input"];

interface StringConstraints {
  pattern?: RegExp;
  minLength?: number;
  maxLength?: number;
  format?: "date-time" | "uri";
}

interface NumberConstraints {
  minimum?: number;
  maximum?: number;
  multipleOf?: number;
  format?: "int32" | "int64";
}

interface ArrayConstraints {
  minItems?: number;
  maxItems?: number;
  /** `map` lists merge by key under server-side apply; `atomic` ones are replaced whole. */
  listType?: "atomic" | "set" | "map";
  listMapKeys?: string[];
}

export const schema = {
  string(description: string, constraints: StringConstraints = {}): Field<string> {
    const { pattern, ...rest } = constraints;
    return new Field({ type: "string", description, ...(pattern ? { pattern: pattern.source } : {}), ...rest }, "required");
  },

  enumeration<const V extends readonly string[]>(description: string, values: V): Field<V[number]> {
    return new Field({ type: "string", description, enum: values }, "required");
  },

  integer(description: string, constraints: NumberConstraints = {}): Field<number> {
    return new Field({ type: "integer", description, ...constraints }, "required");
  },

  boolean(description: string): Field<boolean> {
    return new Field({ type: "boolean", description }, "required");
  },

  /** An integer or a quantity string, as in `resources.requests.cpu`. */
  quantity(description: string): Field<string | number> {
    return new Field(
      {
        description,
        anyOf: [{ type: "integer" }, { type: "string" }],
        pattern: QUANTITY_PATTERN,
        "x-kubernetes-int-or-string": true,
      },
      "required",
    );
  },

  object<S extends Shape>(description: string, shape: S): Field<StoredObject<S>, InputObject<S>> {
    const properties: Record<string, OpenApiSchema> = {};
    const required: string[] = [];
    for (const [name, field] of Object.entries(shape)) {
      properties[name] = field.schema;
      if (field.presence === "required") required.push(name);
    }
    return new Field({ type: "object", description, properties, ...(required.length > 0 ? { required } : {}) }, "required");
  },

  array<F extends AnyField>(description: string, items: F, constraints: ArrayConstraints = {}): Field<StoredOf<F>[], InputOf<F>[]> {
    const { listType, listMapKeys, ...rest } = constraints;
    return new Field(
      {
        type: "array",
        description,
        items: items.schema,
        ...rest,
        ...(listType ? { "x-kubernetes-list-type": listType } : {}),
        ...(listMapKeys ? { "x-kubernetes-list-map-keys": listMapKeys } : {}),
      },
      "required",
    );
  },

  /** An object with arbitrary keys, all holding the same kind of value (labels, selectors). */
  map<F extends AnyField>(
    description: string,
    values: F,
    constraints: { maxProperties?: number } = {},
  ): Field<Record<string, StoredOf<F>>, Record<string, InputOf<F>>> {
    return new Field({ type: "object", description, additionalProperties: values.schema, ...constraints }, "required");
  },
};

/**
 * Applies the schema's defaults to `value` the way the API server does: a missing property with
 * a default gets it, then defaulting continues inside it (so `default: {}` on an object fills its
 * own defaulted properties). Returns a new value; the input is not modified.
 */
export function applyDefaults<F extends AnyField>(field: F, value: InputOf<F>): StoredOf<F> {
  return defaultValue(field.schema, structuredClone(value)) as StoredOf<F>;
}

function defaultValue(node: OpenApiSchema, value: unknown): unknown {
  if (Array.isArray(value)) {
    return node.items ? value.map((item) => defaultValue(node.items as OpenApiSchema, item)) : value;
  }
  if (value === null || typeof value !== "object") return value;
  const object = value as Record<string, unknown>;
  for (const [name, property] of Object.entries(node.properties ?? {})) {
    if (object[name] === undefined && property.default !== undefined) object[name] = structuredClone(property.default);
    if (object[name] !== undefined) object[name] = defaultValue(property, object[name]);
  }
  if (node.additionalProperties) {
    for (const [name, item] of Object.entries(object)) object[name] = defaultValue(node.additionalProperties, item);
  }
  return object;
}
