import path from "node:path";

/**
 * The AWS reference architecture's edge (../shared/reference-architecture.md, "Edge
 * configuration"), rebuilt from its facts so the benchmark runs it on the same nginx as
 * live360's edge: no cache lock, no stale serving, no failover on 404, weights instead of a
 * backup flag, 10 s connect and 180 s read timeouts, no upstream keep-alive.
 */
export interface ReferenceEdgeOptions {
  /** host:port of the primary and backup origins. */
  primary: string;
  backup: string;
  listenPort: number;
  /** Holds the pid file and temp paths, as live360's work dir does. */
  workDir: string;
  /** The reference puts it in /dev/shm; the benchmark gives both edges the same kind of directory. */
  cacheDir: string;
  /** Needed when started as root, so workers can write the work dir (live360's runner does the same). */
  user?: string;
}

export function renderReferenceEdgeConf(o: ReferenceEdgeOptions): string {
  const tmp = (name: string) => path.join(o.workDir, "tmp", name);
  return `# The AWS reference architecture's edge cache, for benchmarks only.
${o.user ? `user ${o.user};\n` : ""}worker_processes auto;
pid ${path.join(o.workDir, "nginx.pid")};
error_log stderr warn;
events {
  worker_connections 8192;
}
http {
  default_type application/octet-stream;
  sendfile on;
  keepalive_timeout 65s;
  access_log off;
  client_body_temp_path ${tmp("client_body")};
  proxy_temp_path ${tmp("proxy")};
  fastcgi_temp_path ${tmp("fastcgi")};
  uwsgi_temp_path ${tmp("uwsgi")};
  scgi_temp_path ${tmp("scgi")};

  proxy_cache_path ${o.cacheDir} levels=1:2 keys_zone=media:10m max_size=2g inactive=20m;

  upstream origins {
    server ${o.primary} weight=2000000000 fail_timeout=15s;
    server ${o.backup} weight=1 fail_timeout=15s;
  }

  server {
    listen 127.0.0.1:${o.listenPort};
    location / {
      proxy_pass http://origins;
      proxy_cache media;
      proxy_cache_lock off;
      proxy_cache_use_stale off;
      proxy_cache_valid 200 301 302 1m;
      proxy_next_upstream error timeout invalid_header http_502 http_503 http_504;
      proxy_connect_timeout 10s;
      proxy_read_timeout 180s;
      add_header X-Media-Cache-Status $upstream_cache_status;
      add_header X-Media-Handled-By $upstream_addr;
    }
    location = /server-status {
      stub_status;
    }
  }
}
`;
}
