import { createHash } from "node:crypto";
import { mkdir, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { resolveNginx, testNginxConf } from "@live360/edge";
import { startProcess, statusOf, tempDir, waitFor, type ManagedProcess } from "@live360/testkit";

export interface NginxInstance {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `127.0.0.1:<port>`, as an upstream `server` takes it. */
  hostPort: string;
  process: ManagedProcess;
  /** Stops nginx and removes its work dir. */
  stop(): Promise<void>;
}

export interface NginxSite {
  listenPort: number;
  workDir: string;
  /** Needed when started as root, so workers can write the work dir (live360's runner does the same). */
  user: string | undefined;
}

/**
 * Runs Debian's nginx with a configuration rendered for a fresh work dir (the reference edge,
 * plain nginx), checked with `nginx -t` first; resolves once `readyPath` answers 200.
 */
export async function startNginx(name: string, listenPort: number, render: (site: NginxSite) => string, readyPath: string): Promise<NginxInstance> {
  const workDir = await tempDir(`bench-${name}`);
  await mkdir(path.join(workDir, "tmp"), { recursive: true });
  const conf = path.join(workDir, "nginx.conf");
  await writeFile(conf, render({ listenPort, workDir, user: process.getuid?.() === 0 ? "root" : undefined }));
  const nginx = await resolveNginx();
  await testNginxConf(nginx, workDir, conf);
  const child = startProcess(nginx.path, ["-p", workDir, "-c", conf, "-g", "daemon off;"]);
  const hostPort = `127.0.0.1:${listenPort}`;
  const url = `http://${hostPort}`;
  const stop = async (): Promise<void> => {
    await child.stop();
    await rm(workDir, { recursive: true, force: true });
  };
  try {
    await waitFor(`${name} nginx`, async () => (await statusOf(`${url}${readyPath}`)) === 200, { timeoutMs: 15_000 });
  } catch (err) {
    const output = child.output();
    await stop();
    throw new Error(`${(err as Error).message}\n${output}`);
  }
  return { url, hostPort, process: child, stop };
}

/**
 * Stock nginx serving HLS files from disk, tuned like the edges (sendfile, no access log,
 * workers per core): the ceiling a cache in front of the same files is measured against.
 */
export function renderPlainNginxConf(site: NginxSite & { root: string }): string {
  const tmp = (name: string) => path.join(site.workDir, "tmp", name);
  return `# Plain nginx serving files from disk, for the edge benchmark.
${site.user ? `user ${site.user};\n` : ""}worker_processes auto;
pid ${path.join(site.workDir, "nginx.pid")};
error_log stderr warn;
events {
  worker_connections 8192;
}
http {
  default_type application/octet-stream;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 65s;
  access_log off;
  client_body_temp_path ${tmp("client_body")};
  proxy_temp_path ${tmp("proxy")};
  fastcgi_temp_path ${tmp("fastcgi")};
  uwsgi_temp_path ${tmp("uwsgi")};
  scgi_temp_path ${tmp("scgi")};
  server {
    listen 127.0.0.1:${site.listenPort};
    root ${site.root};
    location = /healthz {
      return 200 "ok\\n";
    }
  }
}
`;
}

export async function writeSiteDir(dir: string, files: Record<string, string | Buffer>): Promise<void> {
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), content);
  }
}

/** Where nginx keeps the `proxy_cache` entry for `key` under `levels=1:2`: `<last hex>/<two before>/<md5>`. */
export function cacheFilePath(cacheDir: string, key: string): string {
  const hash = createHash("md5").update(key).digest("hex");
  return path.join(cacheDir, hash.slice(-1), hash.slice(-3, -1), hash);
}

/** Where a cached body starts in its cache file: after nginx's stored header, at no particular alignment. */
export async function cachedBodyOffset(cacheDir: string, key: string, bodyBytes: number): Promise<number> {
  const file = cacheFilePath(cacheDir, key);
  const { size } = await stat(file);
  if (size <= bodyBytes) throw new Error(`${file}: ${size} bytes cannot hold a header and a ${bodyBytes}-byte body`);
  return size - bodyBytes;
}
