/** `live360 edge` as a real process: flags → nginx, and SIGTERM → drain → graceful exit. */
import { afterAll, describe, expect, test } from "@jest/globals";
import { readFile } from "node:fs/promises";
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
});
