import { describe, expect, test } from "@jest/globals";
import type { KubernetesObject, V1ManagedFieldsEntry } from "@kubernetes/client-node";
import { FIELD_MANAGER } from "./client.js";
import { unownedFields, writersSince } from "./managed-fields.js";

/** The edge Deployment as the operator applies it (abridged). */
const desired: KubernetesObject & Record<string, unknown> = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "demo-edge", namespace: "events", labels: { app: "edge", tier: "edge" }, annotations: { "live360.io/applied-sha256": "abc" } },
  spec: {
    selector: { matchLabels: { app: "edge" } },
    template: {
      spec: {
        containers: [{ name: "nginx", image: "edge:1", args: ["--port", "8080"], ports: [{ name: "http", containerPort: 8080 }, { name: "metrics", containerPort: 9090 }] }],
        finalizersLike: ["a", "b"],
      },
    },
  },
};

/** managedFields as the API server records that apply: note the port key holds the defaulted protocol. */
const operatorFields = {
  "f:metadata": { "f:annotations": { "f:live360.io/applied-sha256": {} }, "f:labels": { "f:app": {}, "f:tier": {} } },
  "f:spec": {
    "f:selector": {},
    "f:template": {
      "f:spec": {
        "f:containers": {
          'k:{"name":"nginx"}': {
            ".": {},
            "f:args": {},
            "f:image": {},
            "f:name": {},
            "f:ports": {
              'k:{"containerPort":8080,"protocol":"TCP"}': { ".": {}, "f:containerPort": {}, "f:name": {} },
              'k:{"containerPort":9090,"protocol":"TCP"}': { ".": {}, "f:containerPort": {}, "f:name": {} },
            },
          },
        },
        "f:finalizersLike": { 'v:"a"': {}, 'v:"b"': {} },
      },
    },
  },
};

const entry = (manager: string, fieldsV1: object, time: string, extra: Partial<V1ManagedFieldsEntry> = {}): V1ManagedFieldsEntry => ({
  manager,
  operation: manager === FIELD_MANAGER ? "Apply" : "Update",
  fieldsV1,
  time: new Date(time),
  ...extra,
});

const live = (managedFields: V1ManagedFieldsEntry[]): KubernetesObject => ({ ...desired, metadata: { ...desired.metadata, managedFields } });

/** The operator's field set with the node at `path` taken out, and sets left empty with it (as the API server prunes them). */
function without(path: string[]): object {
  const copy = JSON.parse(JSON.stringify(operatorFields)) as Record<string, unknown>;
  const remove = (node: Record<string, unknown>, [key, ...rest]: string[]): void => {
    if (rest.length === 0) delete node[key!];
    else {
      const child = node[key!] as Record<string, unknown>;
      remove(child, rest);
      if (Object.keys(child).length === 0) delete node[key!];
    }
  };
  remove(copy, path);
  return copy;
}

describe("unownedFields", () => {
  test("nothing, right after the operator's apply (server-defaulted keys such as a port's protocol do not count)", () => {
    expect(unownedFields(live([entry(FIELD_MANAGER, operatorFields, "2026-01-01T00:00:00Z")]), desired)).toEqual([]);
  });

  test("a field taken over by another manager (kubectl edit of the image) or removed (a label) is reported by path", () => {
    const container = ["f:spec", "f:template", "f:spec", "f:containers", 'k:{"name":"nginx"}', "f:image"];
    expect(unownedFields(live([entry(FIELD_MANAGER, without(container), "2026-01-01T00:00:00Z")]), desired)).toEqual(["spec.template.spec.containers[nginx].image"]);
    expect(unownedFields(live([entry(FIELD_MANAGER, without(["f:metadata", "f:labels", "f:app"]), "2026-01-01T00:00:00Z")]), desired)).toEqual(["metadata.labels.app"]);
  });

  test("a list element gone from the set (a port, a set value) is reported as the element", () => {
    const ports = ["f:spec", "f:template", "f:spec", "f:containers", 'k:{"name":"nginx"}', "f:ports", 'k:{"containerPort":8080,"protocol":"TCP"}'];
    expect(unownedFields(live([entry(FIELD_MANAGER, without(ports), "2026-01-01T00:00:00Z")]), desired)).toEqual(["spec.template.spec.containers[nginx].ports[http]"]);
    expect(unownedFields(live([entry(FIELD_MANAGER, without(["f:spec", "f:template", "f:spec", "f:finalizersLike", 'v:"b"']), "2026-01-01T00:00:00Z")]), desired)).toEqual([
      "spec.template.spec.finalizersLike[1]",
    ]);
  });

  test("without an apply by the operator, every field it sets is unowned", () => {
    expect(unownedFields(live([]), desired)).toEqual(["metadata", "spec"]);
  });

  test("fields another manager shares with the same value (its own apply) are still the operator's", () => {
    const other = { "f:spec": { "f:template": { "f:spec": { "f:containers": { 'k:{"name":"nginx"}': { "f:image": {} } } } } } };
    const shared = live([entry(FIELD_MANAGER, operatorFields, "2026-01-01T00:00:00Z"), entry("other", other, "2026-01-01T00:01:00Z", { operation: "Apply" })]);
    expect(unownedFields(shared, desired)).toEqual([]);
  });
});

test("writersSince names who wrote after the operator's apply, not the status writers", () => {
  const object = live([
    entry("kubectl-edit", {}, "2026-01-01T00:05:00Z"),
    entry(FIELD_MANAGER, without(["f:metadata"]), "2026-01-01T00:01:00Z"),
    entry("kube-controller-manager", {}, "2026-01-01T00:06:00Z", { subresource: "status" }),
    entry("kubectl", {}, "2026-01-01T00:07:00Z", { subresource: "scale" }),
    entry("helm", {}, "2025-12-31T00:00:00Z"),
  ]);
  expect(writersSince(object)).toEqual(["kubectl-edit", "kubectl"]);
});
