/**
 * workloads-main.js is `live360` in the workload images, which leave the operator and its
 * Kubernetes client and cdk8s out (test/images): it must run every workload command without
 * loading any of them. A module resolve hook refuses those packages, so a stray import fails here.
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
const FORBIDDEN = ["@live360/operator", "@kubernetes/client-node", "cdk8s", "cdk8s-plus-34"];

let guard: string;
beforeAll(async () => {
  const dir = await tempDir("no-operator");
  const hooks = path.join(dir, "hooks.mjs");
  await writeFile(
    hooks,
    `const forbidden = ${JSON.stringify(FORBIDDEN)};
export async function resolve(specifier, context, next) {
  if (forbidden.some((name) => specifier === name || specifier.startsWith(name + "/"))) throw new Error("not in the workload images: " + specifier);
  return next(specifier, context);
}
`,
  );
  guard = path.join(dir, "guard.mjs");
  await writeFile(guard, `import { register } from "node:module";\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
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
