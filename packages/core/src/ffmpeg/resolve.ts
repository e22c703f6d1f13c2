import { execFile } from "node:child_process";
import { access, constants } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { promisify } from "node:util";
import { MissingDependencyError } from "../errors.js";

const execFileAsync = promisify(execFile);

export type BinarySource = "env" | "path" | "npm";

export interface ResolvedBinary {
  name: "ffmpeg" | "ffprobe";
  path: string;
  /** Where it was found, logged at start-up so "which ffmpeg is this?" never needs guessing. */
  source: BinarySource;
  version: string;
}

const NPM_PACKAGES = { ffmpeg: "@ffmpeg-installer/ffmpeg", ffprobe: "@ffprobe-installer/ffprobe" } as const;
const ENV_VARS = { ffmpeg: "FFMPEG_PATH", ffprobe: "FFPROBE_PATH" } as const;

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function findOnPath(name: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    if (dir === "") continue;
    const candidate = path.join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** The static build shipped in an npm package: the fallback for machines without apt. */
function fromNpmPackage(name: "ffmpeg" | "ffprobe"): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    const mod = require(NPM_PACKAGES[name]) as { path?: string };
    return mod.path;
  } catch {
    return undefined;
  }
}

async function versionOf(file: string): Promise<string> {
  const { stdout } = await execFileAsync(file, ["-version"], { timeout: 10_000 });
  const firstLine = stdout.split("\n", 1)[0] ?? "";
  return /version (\S+)/.exec(firstLine)?.[1] ?? "unknown";
}

const cache = new Map<string, Promise<ResolvedBinary>>();

/**
 * Finds ffmpeg or ffprobe: `$FFMPEG_PATH`/`$FFPROBE_PATH` first (an operator's explicit
 * choice), then the PATH (a distribution build with every codec), then the npm static build.
 */
export function resolveBinary(name: "ffmpeg" | "ffprobe"): Promise<ResolvedBinary> {
  const key = `${name}:${process.env[ENV_VARS[name]] ?? ""}:${process.env.PATH ?? ""}`;
  let found = cache.get(key);
  if (!found) {
    found = locate(name);
    cache.set(key, found);
    found.catch(() => cache.delete(key));
  }
  return found;
}

async function locate(name: "ffmpeg" | "ffprobe"): Promise<ResolvedBinary> {
  const fromEnv = process.env[ENV_VARS[name]];
  if (fromEnv) {
    if (!(await isExecutable(fromEnv))) {
      throw new MissingDependencyError(`${ENV_VARS[name]}=${fromEnv} is not an executable file: fix or unset it`);
    }
    return { name, path: fromEnv, source: "env", version: await versionOf(fromEnv) };
  }
  const onPath = await findOnPath(name);
  if (onPath) return { name, path: onPath, source: "path", version: await versionOf(onPath) };
  const npm = fromNpmPackage(name);
  if (npm && (await isExecutable(npm))) return { name, path: npm, source: "npm", version: await versionOf(npm) };
  throw new MissingDependencyError(
    `${name} not found: install it (apt-get install ffmpeg), set ${ENV_VARS[name]}, or install ${NPM_PACKAGES[name]}`,
  );
}

/** Checks that a filter exists, so a feature such as 360 reprojection fails with a reason up front. */
export async function requireFilter(ffmpeg: ResolvedBinary, filter: string, feature: string): Promise<void> {
  const { stdout } = await execFileAsync(ffmpeg.path, ["-hide_banner", "-filters"], { timeout: 10_000 });
  const present = stdout.split("\n").some((line) => line.trim().split(/\s+/)[1] === filter);
  if (!present) {
    throw new MissingDependencyError(
      `${feature} needs the FFmpeg filter "${filter}", which ${ffmpeg.path} (version ${ffmpeg.version}) lacks: ` +
        `use an FFmpeg build with it (FFmpeg ≥ 4.3 with --enable-gpl), e.g. set FFMPEG_PATH`,
    );
  }
}
