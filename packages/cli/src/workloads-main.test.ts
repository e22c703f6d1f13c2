/**
 * workloads-main.js is `live360` in the workload images, which leave the operator and its
 * Kubernetes client and cdk8s out (test/images): it must run every workload command without
 * loading any of them. A module resolve hook refuses those packages, so a stray import fails here.
 * The full CLI (main.js) loads the Kubernetes client only when the operator actually runs, and
 * the AWS SDK only when S3 or SQS is used.
 */
import { beforeAll, describe, expect, test } from "@jest/globals";
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { tempDir } from "@live360/testkit";

const run = promisify(execFile);
const workloadsMain = fileURLToPath(new URL("./workloads-main.js", import.meta.url));
const main = fileURLToPath(new URL("./main.js", import.meta.url));
const KUBERNETES_CLIENT = ["@kubernetes/client-node", "cdk8s", "cdk8s-plus-34"];
const FORBIDDEN = ["@live360/operator", ...KUBERNETES_CLIENT];

/** A `--import` file whose resolve hook refuses `forbidden` packages with `message`. */
async function writeGuard(forbidden: string[], message: string): Promise<string> {
  const dir = await tempDir("import-guard");
  const hooks = path.join(dir, "hooks.mjs");
  await writeFile(
    hooks,
    `const forbidden = ${JSON.stringify(forbidden)};
export async function resolve(specifier, context, next) {
  if (forbidden.some((name) => specifier === name || specifier.startsWith(name + "/"))) throw new Error(${JSON.stringify(message)} + specifier);
  return next(specifier, context);
}
`,
  );
  const guard = path.join(dir, "guard.mjs");
  await writeFile(guard, `import { register } from "node:module";\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
  return guard;
}

let guard: string;
let onDemandGuard: string;
beforeAll(async () => {
  guard = await writeGuard(FORBIDDEN, "not in the workload images: ");
  onDemandGuard = await writeGuard([...KUBERNETES_CLIENT, "@aws-sdk"], "loaded before it was needed: ");
});

const live360 = (entry: string, ...args: string[]) => run(process.execPath, ["--import", guard, entry, ...args]);

describe("workloads-main (the workload images' live360)", () => {
  test.each(["origin", "test-source", "vod-worker", "edge", "edge-metrics"])("%s runs without loading the operator", async (command) => {
    const { stdout } = await live360(workloadsMain, command, "--help");
    expect(stdout).toContain(`Usage: live360 ${command}`);
  });

  test("offers the workload commands only", async () => {
    const { stdout } = await live360(workloadsMain, "--help");
    expect(stdout).toMatch(/^\s+origin\b/m);
    expect(stdout).not.toMatch(/^\s+(operator|local)\b/m);
  });

  test("the guard is real: the full CLI's operator command trips it", async () => {
    const failure = await live360(main, "operator", "--help").then(() => undefined, (err: { stderr: string }) => err);
    expect(failure?.stderr).toContain("not in the workload images: @live360/operator");
  });
});

describe("main (the full live360)", () => {
  // At start-up the Kubernetes client costs ≈60 MiB and 0.4 s, the AWS SDK ≈25 MiB and 0.3 s.
  const withGuard = (...args: string[]) => run(process.execPath, ["--import", onDemandGuard, main, ...args]);

  test.each(["local", "origin", "vod-worker", "operator"])("%s --help loads neither the Kubernetes client nor the AWS SDK", async (command) => {
    const { stdout } = await withGuard(command, "--help");
    expect(stdout).toContain(`Usage: live360 ${command}`);
  });

  test("the operator loads the Kubernetes client once it runs (the guard is real)", async () => {
    const failure = await withGuard("operator", "--kubeconfig", "/nonexistent/kubeconfig").then(() => undefined, (err: { stderr: string }) => err);
    // Which of the operator's Kubernetes libraries resolves first depends on the order ESM
    // evaluates sibling imports in (seen both ways): either proves the guard trips.
    expect(failure?.stderr).toMatch(/loaded before it was needed: (@kubernetes\/client-node|cdk8s)/);
  });
});
