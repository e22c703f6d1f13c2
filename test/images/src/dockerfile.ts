/**
 * A Dockerfile reader for the image tests: enough of the format to check live360's rules
 * (stages, base references, flags, exec-form arguments) without a Docker engine. It follows the
 * Dockerfile reference for the parts live360 uses: `\` line continuations, whole-line comments
 * (which may sit inside a continued instruction), `--flag=value` options, JSON exec form.
 */

export interface Instruction {
  keyword: string;
  /** `--from=build` → { from: "build" } */
  flags: Record<string, string>;
  /** The text after the keyword and its flags. */
  args: string;
  line: number;
}

export interface Stage {
  /** The reference after FROM with the global ARGs' defaults put in (an image, or the name of an earlier stage). */
  base: string;
  /** The reference as written, e.g. `${NODE_IMAGE}`. */
  from: string;
  name: string | undefined;
  /** Instructions after FROM, up to the next FROM. */
  instructions: Instruction[];
}

export interface ImageReference {
  repository: string;
  tag: string | undefined;
  digest: string | undefined;
}

export class DockerfileSyntaxError extends Error {
  constructor(file: string, line: number, problem: string) {
    super(`${file}:${line}: ${problem}`);
    this.name = "DockerfileSyntaxError";
  }
}

const KEYWORDS = new Set([
  "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL",
  "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
]);

export function parseInstructions(text: string, file = "Dockerfile"): Instruction[] {
  const instructions: Instruction[] = [];
  let pending: { text: string; line: number } | undefined;
  text.split("\n").forEach((raw, index) => {
    const trimmed = raw.trim();
    if (trimmed.startsWith("#") || (trimmed === "" && pending === undefined)) return;
    const continued = trimmed.endsWith("\\");
    const body = continued ? trimmed.slice(0, -1) : trimmed;
    pending = pending ? { text: `${pending.text} ${body}`, line: pending.line } : { text: body, line: index + 1 };
    if (continued) return;
    instructions.push(instruction(pending.text, pending.line, file));
    pending = undefined;
  });
  if (pending) throw new DockerfileSyntaxError(file, pending.line, "the file ends inside a continued instruction");
  return instructions;
}

function instruction(text: string, line: number, file: string): Instruction {
  const match = /^(\S+)\s*(.*)$/s.exec(text.trim());
  const keyword = match?.[1]?.toUpperCase() ?? "";
  if (!KEYWORDS.has(keyword)) throw new DockerfileSyntaxError(file, line, `unknown instruction ${JSON.stringify(match?.[1])}`);
  let rest = match?.[2] ?? "";
  const flags: Record<string, string> = {};
  // Only these take --flags before their arguments; RUN's own command may start with "--" too.
  if (["ADD", "COPY", "FROM", "RUN", "HEALTHCHECK"].includes(keyword)) {
    for (let flag = /^--([a-z-]+)(?:=(\S*))?\s+/.exec(rest); flag; flag = /^--([a-z-]+)(?:=(\S*))?\s+/.exec(rest)) {
      flags[flag[1] ?? ""] = flag[2] ?? "";
      rest = rest.slice(flag[0].length);
    }
  }
  return { keyword, flags, args: rest.trim(), line };
}

export function parseDockerfile(text: string, file = "Dockerfile"): Stage[] {
  const stages: Stage[] = [];
  // The ARGs before the first FROM, with their defaults expanded: the only variables FROM can use.
  const globals = new Map<string, string | undefined>();
  for (const ins of parseInstructions(text, file)) {
    if (ins.keyword === "FROM") {
      const [from = "", as, name] = ins.args.split(/\s+/);
      if (as !== undefined && (as.toUpperCase() !== "AS" || name === undefined)) {
        throw new DockerfileSyntaxError(file, ins.line, `expected "FROM <image> [AS <name>]", got "FROM ${ins.args}"`);
      }
      stages.push({ base: expandArgs(from, globals, file, ins.line), from, name, instructions: [] });
    } else if (stages.length === 0) {
      if (ins.keyword !== "ARG") throw new DockerfileSyntaxError(file, ins.line, `${ins.keyword} before the first FROM`);
      for (const [name, value] of globalArgs(ins.args)) globals.set(name, value === undefined ? undefined : expandArgs(value, globals, file, ins.line));
    } else {
      stages.at(-1)?.instructions.push(ins);
    }
  }
  if (stages.length === 0) throw new DockerfileSyntaxError(file, 1, "no FROM instruction");
  return stages;
}

/** The ARGs before the first FROM, name → default as written (undefined without one), in order. */
export function parseGlobalArgs(text: string, file = "Dockerfile"): Map<string, string | undefined> {
  const args = new Map<string, string | undefined>();
  for (const ins of parseInstructions(text, file)) {
    if (ins.keyword === "FROM") break;
    if (ins.keyword === "ARG") for (const [name, value] of globalArgs(ins.args)) args.set(name, value);
  }
  return args;
}

/** `ARG A=1 B` → [["A", "1"], ["B", undefined]]; a quoted default loses its quotes. */
function globalArgs(args: string): [string, string | undefined][] {
  return args.split(/\s+/).map((word) => {
    const equals = word.indexOf("=");
    if (equals === -1) return [word, undefined];
    return [word.slice(0, equals), word.slice(equals + 1).replace(/^"(.*)"$/, "$1")];
  });
}

/** `$NAME` and `${NAME}` replaced by the ARGs' values; a name without an ARG or a default is an error, as Docker leaves it empty. */
function expandArgs(value: string, args: Map<string, string | undefined>, file: string, line: number): string {
  return value.replace(/\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g, (_, braced: string | undefined, bare: string | undefined) => {
    const name = braced ?? bare ?? "";
    const resolved = args.get(name);
    if (resolved === undefined) throw new DockerfileSyntaxError(file, line, `${name} has no ARG with a default before the first FROM`);
    return resolved;
  });
}

/** `registry/repo:tag@sha256:…` → its parts (a port in the registry is not a tag). */
export function parseImageReference(reference: string): ImageReference {
  const [name = "", digest] = reference.split("@");
  const lastSlash = name.lastIndexOf("/");
  const colon = name.indexOf(":", lastSlash + 1);
  return {
    repository: colon === -1 ? name : name.slice(0, colon),
    tag: colon === -1 ? undefined : name.slice(colon + 1),
    digest,
  };
}

/** COPY/ADD sources and destination, from shell form or JSON exec form. */
export function copyPaths(ins: Instruction): { sources: string[]; destination: string } {
  const words = ins.args.startsWith("[") ? (JSON.parse(ins.args) as string[]) : ins.args.split(/\s+/);
  const destination = words.at(-1) ?? "";
  return { sources: words.slice(0, -1), destination };
}

/** The `-w`/`--workspace` names of an npm command line. */
export function npmWorkspaces(command: string): string[] {
  return [...command.matchAll(/(?:^|\s)(?:-w|--workspace)(?:=|\s+)(\S+)/g)].map((m) => m[1] ?? "");
}
