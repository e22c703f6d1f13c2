/**
 * Writes crds/*.yaml from the typed definitions in ./v1alpha1 (`make crds`). The CRD test fails
 * when the committed files differ from what this would write.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { CRDS_DIR, renderCrdYaml } from "./crd.js";
import { CRDS } from "./v1alpha1/index.js";

await mkdir(CRDS_DIR, { recursive: true });
for (const { crd, file } of CRDS) {
  const target = path.join(CRDS_DIR, file);
  await writeFile(target, renderCrdYaml(crd));
  console.log(`wrote ${path.relative(process.cwd(), target)}`);
}
