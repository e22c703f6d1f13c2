/**
 * Writes crds/*.yaml, and the same files into the Helm chart's crds/, from the typed definitions in
 * ./v1alpha1 (`make crds`). The CRD and chart tests fail when the committed files differ from what
 * this would write.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { CHART_CRDS_DIR, CRDS_DIR, renderCrdYaml } from "./crd.js";
import { CRDS } from "./v1alpha1/index.js";

for (const dir of [CRDS_DIR, CHART_CRDS_DIR]) {
  await mkdir(dir, { recursive: true });
  for (const { crd, file } of CRDS) {
    const target = path.join(dir, file);
    await writeFile(target, renderCrdYaml(crd));
    console.log(`wrote ${path.relative(process.cwd(), target)}`);
  }
}
