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

    const signAny = async (...args: string[]) => {
      const run = startProcess(process.execPath, [cli, "sign-url", "--keys-file", keysFile, "--base", base, "--max-lifetime", "7200", ...args]);
      const { code } = await run.exited;
      return { code, output: run.output().trim() };
    };
    const sign = (...args: string[]) => signAny("--stream", "show", ...args);
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

    // An on-demand asset: this edge serves no /vod/, so a good link gets past the signature check
    // to a 404 while the same link tampered stops at the 403.
    const asset = await signAny("--asset", "show/20261207T101500Z");
    expect(asset.output).toMatch(new RegExp(`^${base}/s/k2/\\d+/[A-Za-z0-9_-]{43}/vod/show/20261207T101500Z/master\\.m3u8$`));
    expect(await statusOf(asset.output)).toBe(404);
    expect(await statusOf(asset.output.replace("20261207T101500Z", "20261207T101501Z"))).toBe(403);
    const both = await sign("--asset", "show/20261207T101500Z");
    expect(both.code).toBe(2);
    expect(both.output).toContain("give exactly one");
    const badAsset = await signAny("--asset", "show/yesterday");
    expect(badAsset.code).toBe(2);
    expect(badAsset.output).toContain('--asset="show/yesterday": give the asset\'s <stream>/<UTC start>');
    for (const refused of [tooLong, unknown, both, badAsset]) expect(refused.output).not.toContain(current);
  }, 60_000);
});

describe("live360 edge-metrics (the edge pod's sidecar)", () => {
  test("--ll-hls-relay-port: relays LL-HLS requests to the origins given, in order (a stream missing on the first goes to the next); bad relay flags exit 2 naming the field", async () => {
    const [primaryRoot, backupRoot] = [await tempDir("relay-primary"), await tempDir("relay-backup")];
    await mkdir(path.join(backupRoot, "test", "source"), { recursive: true });
    await writeFile(path.join(backupRoot, "test", "source", "index.m3u8"), "#EXTM3U\n#EXT-X-VERSION:6\n");
    const primary = cleanup.add(await HlsStandIn.start({ root: primaryRoot, port: await freePort() }), (o) => o.kill());
    const backup = cleanup.add(await HlsStandIn.start({ root: backupRoot, port: await freePort() }), (o) => o.kill());
    const relayPort = await freePort();
    const sidecar = cleanup.process(
      startProcess(process.execPath, [
        cli, "edge-metrics",
        "--status-url", `http://127.0.0.1:${await freePort()}/stub_status`,
        "--port", String(await freePort()),
        "--bind", "127.0.0.1",
        "--ll-hls-relay-port", String(relayPort),
        "--origin", primary.url,
        "--origin", backup.url,
        "--blocking-read-timeout", "1500",
      ]),
    );
    const relayed = await waitFor(
      "the relay to answer",
      () => fetch(`http://127.0.0.1:${relayPort}/hls/test/source/index.m3u8?_HLS_msn=3&_HLS_part=1&cmcd=x`).then((r) => r, () => undefined),
      { timeoutMs: 15_000, intervalMs: 200 },
    );
    expect(relayed.status).toBe(200);
    expect(relayed.headers.get("x-live360-served-by")).toBe("backup");
    expect(await relayed.text()).toBe("#EXTM3U\n#EXT-X-VERSION:6\n");
    expect([primary.count("/hls/test/source/index.m3u8"), backup.count("/hls/test/source/index.m3u8")]).toEqual([1, 1]);
    sidecar.signal("SIGTERM");
    expect((await sidecar.exited).code).toBe(0);

    const bad = startProcess(process.execPath, [cli, "edge-metrics", "--port", String(await freePort()), "--ll-hls-relay-port", String(relayPort), "--origin", primary.url, "--blocking-read-timeout", "5"]);
    expect((await bad.exited).code).toBe(2);
    expect(bad.output()).toContain("blockingPlaylistReadTimeoutMs=5: ");
  }, 60_000);
});
