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
  /** The reference after FROM (an image, or the name of an earlier stage). */
  base: string;
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
  for (const ins of parseInstructions(text, file)) {
    if (ins.keyword === "FROM") {
      const [base = "", as, name] = ins.args.split(/\s+/);
      if (as !== undefined && (as.toUpperCase() !== "AS" || name === undefined)) {
        throw new DockerfileSyntaxError(file, ins.line, `expected "FROM <image> [AS <name>]", got "FROM ${ins.args}"`);
      }
      stages.push({ base, name, instructions: [] });
    } else if (stages.length === 0) {
      if (ins.keyword !== "ARG") throw new DockerfileSyntaxError(file, ins.line, `${ins.keyword} before the first FROM`);
    } else {
      stages.at(-1)?.instructions.push(ins);
    }
  }
  if (stages.length === 0) throw new DockerfileSyntaxError(file, 1, "no FROM instruction");
  return stages;
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
