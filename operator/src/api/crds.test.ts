import { describe, expect, test } from "@jest/globals";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { CRDS_DIR, renderCrdYaml } from "./crd.js";
import type { OpenApiSchema } from "./schema.js";
import { applyDefaults } from "./schema.js";
import { CRDS, liveEventSpec, vodJobSpec } from "./v1alpha1/index.js";

const examplesDir = fileURLToPath(new URL("../../../examples/", import.meta.url));

/** Every node below the root with its path, for rules that must hold everywhere. */
function* nodes(schema: OpenApiSchema, at: string): Generator<[string, OpenApiSchema]> {
  yield [at, schema];
  for (const [name, child] of Object.entries(schema.properties ?? {})) yield* nodes(child, `${at}.${name}`);
  if (schema.items) yield* nodes(schema.items, `${at}[]`);
  if (schema.additionalProperties) yield* nodes(schema.additionalProperties, `${at}{}`);
}

describe("generated CRDs", () => {
  test.each(CRDS.map(({ crd, file }) => [file, crd] as const))("crds/%s is up to date (run `make crds` after changing the API types)", async (file, crd) => {
    const onDisk = await readFile(path.join(CRDS_DIR, file), "utf8");
    expect(onDisk).toBe(renderCrdYaml(crd));
  });

  test.each(CRDS.map(({ crd }) => [crd.spec.names.kind, crd] as const))("%s: every field is described and typed (structural), so kubectl explain is useful", (_kind, crd) => {
    const version = crd.spec.versions[0];
    const root = version?.schema?.openAPIV3Schema as unknown as OpenApiSchema;
    const problems: string[] = [];
    for (const part of ["spec", "status"]) {
      const top = root.properties?.[part];
      if (!top) throw new Error(`no ${part} schema`);
      for (const [at, node] of nodes(top, part)) {
        if (!node.description || node.description.length < 3) problems.push(`${at}: no description`);
        if (!node.type && !node["x-kubernetes-int-or-string"]) problems.push(`${at}: no type`);
        if (node.properties && node.additionalProperties) problems.push(`${at}: properties and additionalProperties together`);
      }
    }
    expect(problems).toEqual([]);
    expect(version?.subresources).toEqual({ status: {} });
  });

  test("short names, category and printer columns", () => {
    const [liveEvents, vodJobs] = CRDS.map(({ crd }) => crd);
    expect(liveEvents?.spec.names.shortNames).toEqual(["le"]);
    expect(vodJobs?.spec.names.shortNames).toEqual(["vj"]);
    const columns = (index: number) => CRDS[index]?.crd.spec.versions[0]?.additionalPrinterColumns?.filter((c) => !c.priority).map((c) => c.name);
    expect(columns(0)).toEqual(["Phase", "Active origin", "Ingest", "Playback", "Age"]);
    expect(columns(1)).toEqual(["Phase", "Progress", "Source", "Age"]);
    expect(CRDS.every(({ crd }) => crd.spec.names.categories?.includes("live360"))).toBe(true);
  });

  test("VodJob.spec.hls.encryption has the LiveEvent's shape and defaults, described for what the VOD worker does", () => {
    const encryptionOf = (spec: OpenApiSchema) => spec.properties?.hls?.properties?.encryption;
    const vod = encryptionOf(vodJobSpec.schema);
    const live = encryptionOf(liveEventSpec.schema);
    expect(vod?.properties).toEqual(live?.properties);
    expect(vod?.required).toEqual(["secretRef"]);
    expect(vod?.description).toContain("the VOD worker encrypts every segment before uploading it");
    expect(live?.description).toContain("the edge hands keys to signed URLs only");
    const input = { source: "s3://ingest/recordings/a/20260101T000000Z.mp4", hls: { encryption: { secretRef: { name: "demo-hls" } } } };
    expect(applyDefaults(vodJobSpec, input).hls.encryption).toEqual({ secretRef: { name: "demo-hls", key: "secret" }, rotationSegments: 10 });
    expect(applyDefaults(vodJobSpec, { source: input.source }).hls).toEqual({});
  });

  test("the examples are LiveEvent and VodJob specs, and a minimal LiveEvent gets the documented defaults", async () => {
    const liveEvent = parse(await readFile(path.join(examplesDir, "liveevent.yaml"), "utf8")) as { kind: string; spec: { streamName: string } };
    const vodJob = parse(await readFile(path.join(examplesDir, "vodjob.yaml"), "utf8")) as { kind: string; spec: { source: string } };
    expect([liveEvent.kind, vodJob.kind]).toEqual(["LiveEvent", "VodJob"]);
    expect(applyDefaults(vodJobSpec, vodJob.spec).projection.input).toBe("equirectangular");

    const minimal = applyDefaults(liveEventSpec, { streamName: "demo" });
    expect(minimal).toMatchObject({
      projection: "equirectangular",
      ladder: { preset: "standard" },
      hls: { lowLatency: false, windowSegments: 6 },
      origin: { redundancy: "primaryBackup", capacityType: "spot", dataVolumeSize: "20Gi" },
      edge: { minReplicas: 2, maxReplicas: 10, targetCPUUtilizationPercentage: 70 },
      recording: { enabled: true },
      testSource: { enabled: false },
    });
    expect(minimal.publishKeySecretRef).toBeUndefined();
  });
});
