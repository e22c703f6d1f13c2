import { execFile } from "node:child_process";
import { access, constants } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { Live360Error, MissingDependencyError } from "@live360/core";
import { usesNjs, type EdgeConfig } from "./config.js";

const execFileAsync = promisify(execFile);

export interface NginxBinary {
  path: string;
  /** e.g. [1, 22, 1] */
  version: [number, number, number];
}

/** `nginx -t` rejected the generated file; the message carries nginx's own explanation. */
export class NginxConfigTestError extends Live360Error {
  constructor(
    readonly confPath: string,
    readonly output: string,
  ) {
    super(`nginx -t rejected ${confPath}: ${output.trim()}`);
  }
}

async function hasAccess(file: string, mode: number): Promise<boolean> {
  return access(file, mode).then(
    () => true,
    () => false,
  );
}

const isExecutable = (file: string): Promise<boolean> => hasAccess(file, constants.X_OK);

/**
 * Finds nginx: `$NGINX_PATH`, then the PATH, then /usr/sbin (Debian's location, which a
 * non-root PATH often lacks).
 */
export async function resolveNginx(): Promise<NginxBinary> {
  const fromEnv = process.env.NGINX_PATH;
  if (fromEnv !== undefined && !(await isExecutable(fromEnv))) {
    throw new MissingDependencyError(`NGINX_PATH=${fromEnv} is not an executable file: fix or unset it`);
  }
  const dirs = [...(process.env.PATH ?? "").split(path.delimiter).filter((d) => d !== ""), "/usr/sbin"];
  let found = fromEnv;
  for (const dir of dirs) {
    if (found !== undefined) break;
    if (await isExecutable(path.join(dir, "nginx"))) found = path.join(dir, "nginx");
  }
  if (found === undefined) {
    throw new MissingDependencyError("nginx not found: install it (apt-get install nginx) or set NGINX_PATH");
  }
  // nginx prints its version on stderr.
  const { stderr } = await execFileAsync(found, ["-v"], { timeout: 10_000 });
  const match = /nginx\/(\d+)\.(\d+)\.(\d+)/.exec(stderr);
  if (!match) throw new MissingDependencyError(`${found} -v printed no nginx version: ${stderr.trim()}`);
  return { path: found, version: [Number(match[1]), Number(match[2]), Number(match[3])] };
}

function atLeast(version: readonly number[], wanted: readonly number[]): boolean {
  for (let i = 0; i < wanted.length; i++) {
    if ((version[i] ?? 0) !== wanted[i]) return (version[i] ?? 0) > wanted[i]!;
  }
  return true;
}

/** Checks that this nginx can run what the config asks for, before writing anything. */
export async function checkNginxSupports(nginx: NginxBinary, config: EdgeConfig): Promise<void> {
  if (usesNjs(config)) {
    const module = path.join(config.modulesDir, "ngx_http_js_module.so");
    if (!(await hasAccess(module, constants.R_OK))) {
      throw new MissingDependencyError(
        `signed URLs and CDN-only edges need the njs module ${module} (HMAC-SHA256 is not in stock nginx): apt-get install libnginx-mod-http-js, or set modulesDir`,
      );
    }
  }
  const named = config.origins.filter((o) => !o.isIpLiteral);
  if (config.resolver !== undefined && named.length > 0 && !atLeast(nginx.version, [1, 27, 3])) {
    throw new MissingDependencyError(
      `re-resolving origin names (${named.map((o) => o.hostPort).join(", ")}) needs nginx ≥ 1.27.3, ${nginx.path} is ${nginx.version.join(".")}: ` +
        `use the official nginx image, or drop the resolver (names are then resolved once at start, which suits a Service's stable ClusterIP)`,
    );
  }
}

/** `nginx -t` on the generated file, with its prefix, exactly as it will be started. */
export async function testNginxConf(nginx: NginxBinary, prefix: string, confPath: string, env?: NodeJS.ProcessEnv): Promise<void> {
  try {
    await execFileAsync(nginx.path, ["-t", "-q", "-p", prefix, "-c", confPath], { timeout: 30_000, env });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new NginxConfigTestError(confPath, e.stderr || e.message);
  }
}
