import type { KubernetesObject } from "@kubernetes/client-node";
import { FIELD_MANAGER } from "./client.js";

/** A managedFields entry's field set (fieldsV1): `f:<field>`, `k:<keys JSON>`, `v:<value JSON>`, `i:<index>` and `.` (the node itself). */
type FieldSet = { [key: string]: FieldSet };

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** Deep equality of JSON values, independent of key order. */
function sameValue(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, i) => sameValue(item, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((key) => sameValue(a[key], b[key]));
  }
  return a === b;
}

/**
 * Whether a list element is the one a field-set key names. A map-list key may hold fields the API
 * server defaulted after the operator's apply (a port's `protocol: TCP`): those absent from the
 * element are not held against it.
 */
function names(key: string, element: unknown, index: number): boolean {
  if (key.startsWith("i:")) return Number(key.slice(2)) === index;
  if (key.startsWith("v:")) return sameValue(JSON.parse(key.slice(2)), element);
  if (!key.startsWith("k:") || !isObject(element)) return false;
  const keys = Object.entries(JSON.parse(key.slice(2)) as Record<string, unknown>);
  return keys.some(([field]) => element[field] !== undefined) && keys.every(([field, value]) => element[field] === undefined || sameValue(element[field], value));
}

function elementLabel(element: unknown, index: number): string {
  return isObject(element) && typeof element.name === "string" ? element.name : String(index);
}

function collectUnowned(value: unknown, fields: FieldSet | undefined, path: string, out: string[]): void {
  if (value === undefined || value === null) return;
  if (fields === undefined) {
    out.push(path);
    return;
  }
  // An empty set owns the node whole: a scalar, or an atomic list or struct (args, a selector).
  if (Object.keys(fields).length === 0) return;
  if (Array.isArray(value)) {
    const keys = Object.keys(fields).filter((key) => key !== ".");
    value.forEach((element, index) => {
      const key = keys.find((k) => names(k, element, index));
      collectUnowned(element, key === undefined ? undefined : fields[key], `${path}[${elementLabel(element, index)}]`, out);
    });
  } else if (isObject(value)) {
    for (const [name, child] of Object.entries(value)) collectUnowned(child, fields[`f:${name}`], `${path}.${name}`, out);
  }
}

/**
 * The fields of `desired` that `manager` no longer owns on `live`, as paths such as
 * `spec.template.spec.containers[edge].image`. Server-side apply records what each manager set;
 * a field someone else changed (`kubectl edit`, `kubectl scale`, another controller) moves to that
 * manager, and a field someone removed is owned by nobody. Either way it leaves the operator's set,
 * while server defaults and fields others only added never enter it: so an empty answer means the
 * live object still carries every value the operator applied, with no value comparison (which
 * would trip over the server's normalisation, e.g. cpu `0.5` stored as `500m`).
 */
export function unownedFields(live: KubernetesObject, desired: KubernetesObject, manager = FIELD_MANAGER): string[] {
  const entry = live.metadata?.managedFields?.find((f) => f.manager === manager && f.operation === "Apply" && !f.subresource);
  const fields = entry?.fieldsV1 as FieldSet | undefined;
  const out: string[] = [];
  for (const [name, value] of Object.entries(desired)) {
    // The object's address (apiVersion, kind, name, namespace) is in no field set.
    if (name === "apiVersion" || name === "kind") continue;
    const tracked = name === "metadata" && isObject(value) ? Object.fromEntries(Object.entries(value).filter(([key]) => key !== "name" && key !== "namespace")) : value;
    collectUnowned(tracked, fields?.[`f:${name}`], name, out);
  }
  return out;
}

/**
 * The field managers that wrote `live` after `manager`'s last apply (status writers aside): who
 * to name when unownedFields reports a change.
 */
export function writersSince(live: KubernetesObject, manager = FIELD_MANAGER): string[] {
  const entries = live.metadata?.managedFields ?? [];
  const ours = entries.find((f) => f.manager === manager && f.operation === "Apply" && !f.subresource)?.time;
  const since = ours ? new Date(ours).getTime() : 0;
  const writers = entries.filter((f) => f.manager !== manager && f.subresource !== "status" && (f.time ? new Date(f.time).getTime() : 0) >= since);
  return [...new Set(writers.map((f) => f.manager ?? "unknown"))];
}
