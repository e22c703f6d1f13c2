/**
 * What `npm ci --omit=dev --omit=optional -w <workspace>…` puts on disk, computed from
 * package-lock.json alone: each dependency is resolved the way Node does (the nearest
 * node_modules up the directory chain), following `dependencies` and non-optional peer
 * dependencies, never `devDependencies` or `optionalDependencies`.
 */

interface LockEntry {
  name?: string;
  version?: string;
  resolved?: string;
  link?: boolean;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

export interface PackageLock {
  lockfileVersion: number;
  packages: Record<string, LockEntry>;
}

export interface Closure {
  /** Workspace folders (e.g. "packages/core") the install links. */
  workspaces: Set<string>;
  /** Lock paths of installed registry packages (e.g. "node_modules/commander"). */
  packages: Set<string>;
}

export class LockfileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LockfileError";
  }
}

/** The lock path `name` resolves to from the package at `from` ("" is the root). */
function resolveFrom(lock: PackageLock, from: string, name: string): string | undefined {
  for (let dir = from; ; ) {
    const candidate = dir === "" ? `node_modules/${name}` : `${dir}/node_modules/${name}`;
    if (lock.packages[candidate]) return candidate;
    if (dir === "") return undefined;
    // Up one level: out of "a/node_modules/b" to "a", or out of a workspace folder to the root.
    const nested = dir.lastIndexOf("/node_modules/");
    dir = nested === -1 ? "" : dir.slice(0, nested);
  }
}

export function productionClosure(lock: PackageLock, workspaceNames: readonly string[]): Closure {
  if (lock.lockfileVersion < 2) throw new LockfileError(`lockfileVersion ${lock.lockfileVersion}: regenerate package-lock.json with npm ≥ 7`);
  const closure: Closure = { workspaces: new Set(), packages: new Set() };
  const queue: string[] = [];
  const visit = (lockPath: string): void => {
    const entry = lock.packages[lockPath];
    // A workspace appears twice: the node_modules link, and the folder holding its package.json.
    const target = entry?.link && entry.resolved !== undefined ? entry.resolved : lockPath;
    const seen = lock.packages[target] && !target.includes("node_modules/") ? closure.workspaces : closure.packages;
    if (seen.has(target)) return;
    seen.add(target);
    queue.push(target);
  };
  for (const name of workspaceNames) {
    const link = lock.packages[`node_modules/${name}`];
    if (!link?.link) throw new LockfileError(`${name} is not a workspace in package-lock.json: check the -w names`);
    visit(`node_modules/${name}`);
  }
  for (let current = queue.shift(); current !== undefined; current = queue.shift()) {
    const entry = lock.packages[current] ?? {};
    const required = [
      ...Object.keys(entry.dependencies ?? {}),
      ...Object.keys(entry.peerDependencies ?? {}).filter((peer) => !entry.peerDependenciesMeta?.[peer]?.optional),
    ];
    for (const name of required) {
      const found = resolveFrom(lock, current, name);
      if (found === undefined) {
        // Peers may legitimately be absent; a missing dependency means the lock is out of date.
        if (entry.dependencies?.[name] !== undefined) throw new LockfileError(`${current} needs ${name}, which package-lock.json does not have: run npm install`);
        continue;
      }
      visit(found);
    }
  }
  return closure;
}

/** "node_modules/@aws-sdk/client-s3" and "a/node_modules/b" → the package name. */
export function packageName(lockPath: string): string {
  return lockPath.slice(lockPath.lastIndexOf("node_modules/") + "node_modules/".length);
}

/**
 * The lock as npm sees it after `npm pkg delete dependencies.<dependency> -w <workspace>` edited
 * that workspace's package.json: the lockfile still lists the edge, npm no longer follows it.
 */
export function withoutDependency(lock: PackageLock, workspace: string, dependency: string): PackageLock {
  const folder = lock.packages[`node_modules/${workspace}`]?.resolved;
  const entry = folder === undefined ? undefined : lock.packages[folder];
  if (folder === undefined || !entry?.dependencies?.[dependency]) {
    throw new LockfileError(`${workspace} has no dependency ${dependency} in package-lock.json: the Dockerfile deletes one that is not there`);
  }
  const dependencies = Object.fromEntries(Object.entries(entry.dependencies).filter(([name]) => name !== dependency));
  return { ...lock, packages: { ...lock.packages, [folder]: { ...entry, dependencies } } };
}
