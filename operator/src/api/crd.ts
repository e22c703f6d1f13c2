import { fileURLToPath } from "node:url";
import type { V1CustomResourceDefinition } from "@kubernetes/client-node";
import { toYaml } from "../yaml.js";
import type { Field, OpenApiSchema, Presence, ValidationRule } from "./schema.js";

/** An `additionalPrinterColumns` entry: what `kubectl get` shows. */
export interface PrinterColumn {
  name: string;
  type: "string" | "integer" | "date" | "boolean" | "number";
  jsonPath: string;
  description: string;
  /** 0 = always shown; 1 = only with `-o wide`. */
  priority?: 0 | 1;
}

export interface CustomResourceDefinitionSource {
  group: string;
  version: string;
  names: { kind: string; listKind: string; plural: string; singular: string; shortNames: readonly string[] };
  /** `kubectl get live360` lists every kind in the category. */
  categories: readonly string[];
  description: string;
  spec: Field<unknown, unknown, Presence>;
  status: Field<unknown, unknown, Presence>;
  printerColumns: readonly PrinterColumn[];
  /** Rules on the whole object; only metadata.name and metadata.generateName are visible to them. */
  rules?: readonly ValidationRule[];
}

/**
 * The CustomResourceDefinition for one kind: a single served and stored version with the status
 * subresource, so spec and status are written through separate endpoints (a user's `kubectl apply`
 * never clobbers status, the operator's status write never bumps metadata.generation).
 */
export function customResourceDefinition(source: CustomResourceDefinitionSource): V1CustomResourceDefinition {
  const { group, version, names } = source;
  const root: OpenApiSchema = {
    type: "object",
    description: source.description,
    properties: {
      apiVersion: {
        type: "string",
        description: `The versioned schema of this object: ${group}/${version}.`,
      },
      kind: { type: "string", description: `The REST resource this object represents: ${names.kind}.` },
      // The API server owns metadata's schema; a structural CRD may only constrain its name.
      metadata: { type: "object" } as OpenApiSchema,
      spec: source.spec.schema,
      status: source.status.schema,
    },
    required: ["spec"],
    ...(source.rules && source.rules.length > 0 ? { "x-kubernetes-validations": [...source.rules] } : {}),
  };
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${names.plural}.${group}` },
    spec: {
      group,
      names: { ...names, shortNames: [...names.shortNames], categories: [...source.categories] },
      scope: "Namespaced",
      versions: [
        {
          name: version,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: source.printerColumns.map((column) => ({ ...column })),
          schema: { openAPIV3Schema: root as never },
        },
      ],
    },
  };
}

/** crds/ at the repository root: what `kubectl apply -f crds/` and the Helm chart install. */
export const CRDS_DIR = fileURLToPath(new URL("../../../crds/", import.meta.url));
/** The Helm chart's crds/ (Helm installs them before its templates): the same files, from the same generator. */
export const CHART_CRDS_DIR = fileURLToPath(new URL("../../../charts/live360-operator/crds/", import.meta.url));

/** The YAML file for one CRD: stable key order, no line folding, so diffs show real changes only. */
export function renderCrdYaml(crd: V1CustomResourceDefinition): string {
  return (
    "# Generated from operator/src/api/v1alpha1 by `make crds` (npm run generate -w @live360/operator): do not edit.\n" +
    toYaml(crd)
  );
}
