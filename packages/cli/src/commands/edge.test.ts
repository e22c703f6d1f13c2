/** `live360 edge` as a real process: flags → nginx, and SIGTERM → drain → graceful exit. */
import { afterAll, describe, expect, test } from "@jest/globals";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Cleanup, HlsStandIn, freePort, startProcess, statusOf, tempDir, waitFor } from "@live360/testkit";

const cli = fileURLToPath(new URL("../main.js", import.meta.url));
const cleanup = new Cleanup();
afterAll(() => cleanup.run(), 60_000);

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("live360 edge", () => {
  test("bad input exits 2 with the field, the value and the fix", async () => {
    const run = startProcess(process.execPath, [cli, "edge", "--listen", "99999", "--origin", "http://10.0.0.1:8080", "--print-config"]);
    expect((await run.exited).code).toBe(2);
    expect(run.output()).toContain("listenPort (--listen)=99999: use a whole number from 1 to 65535");
    const noOrigin = startProcess(process.execPath, [cli, "edge", "--print-config"]);
    expect((await noOrigin.exited).code).toBe(2);
    expect(noOrigin.output()).toContain("give at least one origin URL, primary first");
  });

  test("--print-config prints the nginx.conf it would run", async () => {
    const run = startProcess(process.execPath, [cli, "edge", "--origin", "http://10.0.0.1:8080", "--origin", "http://10.0.0.2:8080", "--print-config"]);
    expect((await run.exited).code).toBe(0);
    expect(run.output()).toMatch(/server 10\.0\.0\.2:8080 [^;]*backup;/);
  });

  test("SIGTERM: readiness fails while nginx still serves, then nginx quits and the command exits 0", async () => {
    const origin = cleanup.add(await HlsStandIn.start({ root: await tempDir("edge-cli-origin"), port: await freePort() }), (o) => o.kill());
    const work = await tempDir("edge-cli");
    const listen = await freePort();
    const edge = cleanup.process(
      startProcess(process.execPath, [
        cli, "edge",
        "--origin", origin.url,
        "--listen", String(listen),
        "--bind", "127.0.0.1",
        "--status-port", String(await freePort()),
        "--metrics-port", String(await freePort()),
        "--work-dir", work,
        "--cache-dir", path.join(work, "cache"),
        "--drain-delay", "2",
        "--shutdown-grace", "10",
      ]),
    );
    await edge.waitForOutput(/"msg":"edge ready"/);
    const base = `http://127.0.0.1:${listen}`;
    expect(await statusOf(`${base}/readyz`)).toBe(200);
    const nginxPid = Number((await readFile(path.join(work, "nginx.pid"), "utf8")).trim());
    expect(isAlive(nginxPid)).toBe(true);

    edge.signal("SIGTERM");
    await waitFor("readiness to fail", async () => (await statusOf(`${base}/readyz`)) === 503, { timeoutMs: 1500, intervalMs: 20 });
    expect(await statusOf(`${base}/healthz`)).toBe(200);
    const exit = await edge.exited;
    expect(exit.code).toBe(0);
    expect(isAlive(nginxPid)).toBe(false);
    expect(await statusOf(`${base}/healthz`)).toBe("ECONNREFUSED");
  }, 60_000);

  test("signed URLs: the edge and sign-url read the same keys file; a minted link plays, the same link unsigned does not; bad requests to sign-url say why and never echo a secret", async () => {
    const root = await tempDir("edge-cli-signed-origin");
    await mkdir(path.join(root, "show"), { recursive: true });
    await writeFile(path.join(root, "show", "master.m3u8"), "#EXTM3U\n");
    const origin = cleanup.add(await HlsStandIn.start({ root, port: await freePort() }), (o) => o.kill());
    const work = await tempDir("edge-cli-signed");
    const keysFile = path.join(work, "keys");
    const old = "old-key-secret-0123456789abcdef0123456789";
    const current = "new-key-secret-0123456789abcdef0123456789";
    await writeFile(keysFile, `k1=${old}\nk2=${current}\n`, { mode: 0o600 });
    const listen = await freePort();
    const edge = cleanup.process(
      startProcess(process.execPath, [
        cli, "edge", "--origin", origin.url, "--listen", String(listen), "--bind", "127.0.0.1",
        "--status-port", String(await freePort()), "--metrics-port", String(await freePort()),
        "--work-dir", work, "--cache-dir", path.join(work, "cache"), "--signing-keys-file", keysFile, "--signing-max-lifetime", "7200",
      ]),
    );
    await edge.waitForOutput(/"msg":"edge ready"/);
    const base = `http://127.0.0.1:${listen}`;
    expect(await readFile(`/proc/${edge.child.pid}/cmdline`, "utf8")).not.toContain(current);

    const sign = async (...args: string[]) => {
      const run = startProcess(process.execPath, [cli, "sign-url", "--keys-file", keysFile, "--stream", "show", "--base", base, "--max-lifetime", "7200", ...args]);
      const { code } = await run.exited;
      return { code, output: run.output().trim() };
    };
    const minted = await sign("--ttl", "600");
    expect(minted.code).toBe(0);
    // The newest key signs by default.
    expect(minted.output).toMatch(new RegExp(`^${base}/s/k2/\\d+/[A-Za-z0-9_-]{43}/hls/show/master\\.m3u8$`));
    expect(await statusOf(minted.output)).toBe(200);
    const withOld = await sign("--key-id", "k1");
    expect(await statusOf(withOld.output)).toBe(200);
    expect(await statusOf(`${base}/hls/show/master.m3u8`)).toBe(403);

    const tooLong = await sign("--ttl", "9000");
    expect(tooLong.code).toBe(2);
    expect(tooLong.output).toContain("--ttl=9000: use a number from 1 to 7200");
    const unknown = await sign("--key-id", "k3");
    expect(unknown.output).toContain('--key-id="k3": use one of the file\'s key ids: k1, k2');
    for (const refused of [tooLong, unknown]) expect(refused.output).not.toContain(current);
  }, 60_000);
});
