import { describe, expect, test } from "@jest/globals";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { MissingDependencyError } from "@live360/core";
import { tempDir } from "@live360/testkit";
import { ORIGIN_VERIFY_ENV, resolveEdgeConfig, SIGNING_KEYS_ENV, type EdgeConfigInput } from "./config.js";
import { checkNginxSupports, resolveNginx, testNginxConf, NginxConfigTestError } from "./nginx-binary.js";
import { renderEdgeFiles, renderNginxConf } from "./nginx-conf.js";

/** Golden files live in the source tree (dist/ is rebuilt): LIVE360_UPDATE_GOLDEN=1 rewrites them. */
const goldenDir = fileURLToPath(new URL("../testdata/", import.meta.url));
const SECRET = "0123456789abcdef0123456789abcdef";

async function matchesGolden(name: string, text: string): Promise<void> {
  const file = path.join(goldenDir, name);
  if (process.env.LIVE360_UPDATE_GOLDEN === "1") {
    await mkdir(goldenDir, { recursive: true });
    await writeFile(file, text);
  }
  expect(text).toBe(await readFile(file, "utf8"));
}

/** Debian, local: IP origins, work dir under /var/lib. */
const LOCAL: EdgeConfigInput = {
  origins: ["http://127.0.0.1:8180", "http://127.0.0.1:8280"],
  listenPort: 8080,
  workDir: "/var/lib/live360-edge",
  cache: { dir: "/dev/shm/live360-edge" },
};

/** The official image in Kubernetes: Service names re-resolved, signed URLs, CDN-only, nginx user. */
const KUBERNETES: EdgeConfigInput = {
  origins: ["http://live-primary.events.svc.cluster.local:8080", "http://live-backup.events.svc.cluster.local:8080"],
  listenPort: 8080,
  workDir: "/var/cache/nginx/edge",
  cache: { dir: "/var/cache/nginx/edge/cache", maxSizeMegabytes: 4096 },
  resolver: { addresses: ["10.96.0.10"], validSeconds: 10 },
  user: "nginx",
  accessLog: "stdout",
  signingKeys: new Map([["k1", SECRET]]),
  originVerifyFile: "/etc/live360/origin-verify/values",
  vodOrigin: "https://live360-egress.s3.eu-west-1.amazonaws.com",
  hlsEncryptionSecretFile: "/etc/live360/hls-encryption/secret",
};

describe("renderNginxConf", () => {
  test("local configuration matches its golden file", async () => {
    await matchesGolden("nginx-local.conf", renderNginxConf(resolveEdgeConfig(LOCAL)));
  });

  test("Kubernetes configuration matches its golden file and never contains the secret", async () => {
    const text = renderNginxConf(resolveEdgeConfig(KUBERNETES));
    await matchesGolden("nginx-kubernetes.conf", text);
    expect(text).not.toContain(SECRET);
    expect(text).toContain(`env ${SIGNING_KEYS_ENV};`);
    // CDN-only from a mounted file, read per request: nothing in the environment.
    expect(text).not.toContain(ORIGIN_VERIFY_ENV);
    expect(text).toContain('if ($edge_from_cdn != "1")');
  });

  test("rendered for someone else to run (the operator's ConfigMap), signed URLs need no secret: the same configuration", () => {
    const withoutSecret = resolveEdgeConfig({ ...KUBERNETES, signingKeys: undefined, signedUrls: true });
    expect(withoutSecret.signingKeys).toBeUndefined();
    expect(renderNginxConf(withoutSecret)).toBe(renderNginxConf(resolveEdgeConfig(KUBERNETES)));
    expect(renderNginxConf(resolveEdgeConfig({ ...KUBERNETES, signingKeys: undefined, hlsEncryptionSecretFile: undefined }))).not.toContain(SIGNING_KEYS_ENV);
  });

  test("the parts the issue asks for are present", () => {
    const text = renderNginxConf(resolveEdgeConfig(LOCAL));
    expect(text).toContain("proxy_cache_lock on;");
    expect(text).toContain("proxy_next_upstream error timeout http_404 http_502 http_503 http_504;");
    expect(text).toMatch(/server 127\.0\.0\.1:8280 [^;]*backup;/);
    expect(text).toMatch(/keepalive \d+;/);
    expect(text).toContain("add_header X-Cache-Status $upstream_cache_status always;");
    expect(text).toContain("stub_status;");
  });

  test("the LL-HLS relay's upstream: the relay first, the origins behind it as backups, the last never marked failed (nothing is behind it)", () => {
    const upstreamOf = (origins: string[]): string =>
      /\n {2}upstream edge_ll_relay \{[\s\S]*?\n {2}\}/.exec(renderNginxConf(resolveEdgeConfig({ origins, llHlsRelayPort: 8083 })))?.[0] ?? "";
    expect(upstreamOf(["http://127.0.0.1:8180"]).split("\n").slice(3, 5)).toEqual([
      "    server 127.0.0.1:8083 max_fails=1 fail_timeout=10s;  # relay",
      "    server 127.0.0.1:8180 max_fails=0 backup;  # primary",
    ]);
    expect(upstreamOf(["http://127.0.0.1:8180", "http://127.0.0.1:8280"])).toMatch(/8180 max_fails=1 fail_timeout=10s backup; {2}# primary\n {4}server 127\.0\.0\.1:8280 max_fails=0 backup; {2}# backup/);
  });

  test("is pure: the same config renders the same text", () => {
    expect(renderNginxConf(resolveEdgeConfig(KUBERNETES))).toBe(renderNginxConf(resolveEdgeConfig(KUBERNETES)));
  });
});

describe("nginx -t on the generated files (Debian nginx)", () => {
  async function nginxTest(input: EdgeConfigInput): Promise<void> {
    const dir = await tempDir("edge-conf");
    const config = resolveEdgeConfig({ ...input, workDir: dir, cache: { dir: path.join(dir, "cache") } });
    await mkdir(path.join(dir, "tmp"), { recursive: true });
    for (const [name, text] of Object.entries(renderEdgeFiles(config))) await writeFile(path.join(dir, name), text);
    const nginx = await resolveNginx();
    await checkNginxSupports(nginx, config);
    await testNginxConf(nginx, dir, path.join(dir, "nginx.conf"));
  }

  test("local configuration passes, with the LL-HLS relay too", async () => {
    await nginxTest({ ...LOCAL, listenPort: 18080 });
    await nginxTest({ ...LOCAL, listenPort: 18080, llHlsRelayPort: 18083 });
  });

  test("signed URLs (njs) and a DNS-named backup resolved at start pass", async () => {
    await nginxTest({ origins: ["http://127.0.0.1:8180", "http://localhost:8280"], signingKeys: new Map([["k1", SECRET]]) });
  });

  test("VOD from an https bucket by name, its keys from a secret file, pass", async () => {
    await nginxTest({ origins: ["http://127.0.0.1:8180"], signingKeys: new Map([["k1", SECRET]]), vodOrigin: "https://localhost:9443/egress", hlsEncryptionSecretFile: "/etc/live360/hls-encryption/secret" });
  });

  test("re-resolving Service names is refused on nginx older than 1.27.3, with the way out", async () => {
    const nginx = await resolveNginx();
    const config = resolveEdgeConfig(KUBERNETES);
    const check = checkNginxSupports({ ...nginx, version: [1, 22, 1] }, config);
    await expect(check).rejects.toThrow(MissingDependencyError);
    await expect(check).rejects.toThrow(/needs nginx ≥ 1\.27\.3.*use the official nginx image, or drop the resolver/);
  });

  test("a file nginx rejects surfaces nginx's own explanation", async () => {
    const dir = await tempDir("edge-conf-bad");
    await writeFile(path.join(dir, "nginx.conf"), "events {}\nhttp { proxy_cache_lock maybe; }\n");
    const nginx = await resolveNginx();
    const run = testNginxConf(nginx, dir, path.join(dir, "nginx.conf"));
    await expect(run).rejects.toThrow(NginxConfigTestError);
    await expect(run).rejects.toThrow(/proxy_cache_lock/);
  });
});
