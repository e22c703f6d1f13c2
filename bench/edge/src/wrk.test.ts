import { afterAll, describe, expect, test } from "@jest/globals";
import { Cleanup, freePort, tempDir } from "@live360/testkit";
import { renderPlainNginxConf, startNginx, writeSiteDir } from "./nginx.js";
import { markdownReport, perServerCpuSecond, type EdgeBenchReport, type ThroughputRow } from "./report.js";
import { parseWrkOutput, processTreeCpuSeconds, runWrk } from "./wrk.js";

const cleanup = new Cleanup();
afterAll(() => cleanup.run(), 30_000);

const OUTPUT = `Running 10s test @ http://127.0.0.1:8088/hls/test/source/seg_00042.ts
  2 threads and 500 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   512.65ms  104.31ms   1.29s    70.00%
    Req/Sec   480.67     95.51   630.00     62.50%
  Latency Distribution
     50%  498.03ms
     75%  560.12ms
     90%  615.60ms
     99%     1.02s
  9613 requests in 10.01s, 18.79GB read
  Socket errors: connect 0, read 3, write 0, timeout 2
  Non-2xx or 3xx responses: 4
Requests/sec:    960.36
Transfer/sec:      1.88GB
`;

describe("wrk output", () => {
  test("requests/s, percentiles in any unit, errors of every kind, bytes per second", () => {
    expect(parseWrkOutput(OUTPUT, 500, 10)).toEqual({
      connections: 500,
      seconds: 10,
      requestsPerSecond: 960.36,
      p50Ms: 498.03,
      p99Ms: 1020,
      requests: 9613,
      errors: 9,
      bytesPerSecond: 1.88 * 1024 ** 3,
    });
  });

  test("an output without a latency distribution is an error, not zeros", () => {
    expect(() => parseWrkOutput("Running 10s test @ http://x/\nunable to connect", 100, 10)).toThrow(/wrk: unexpected output/);
  });
});

describe("server CPU", () => {
  test("a process tree's CPU time grows while it works", async () => {
    const before = await processTreeCpuSeconds(process.pid);
    // Spin for 300 ms of this process's own CPU time, however busy the machine is.
    const start = process.cpuUsage();
    while (process.cpuUsage(start).user < 300_000) Math.sqrt(Math.random());
    const after = await processTreeCpuSeconds(process.pid);
    expect(after - before).toBeGreaterThanOrEqual(0.25);
  });

  test("requests per server CPU-second", () => {
    expect(perServerCpuSecond({ requests: 5000, serverCpuSeconds: 2 })).toBe(2500);
    expect(perServerCpuSecond({ requests: 5000, serverCpuSeconds: 0 })).toBeNaN();
  });
});

describe("wrk against real nginx", () => {
  test("headers reach the server: a Range for the last 100 bytes reads 100-byte bodies", async () => {
    const root = await tempDir("bench-wrk-site");
    await writeSiteDir(root, { "/big.bin": Buffer.alloc(1024 * 1024, 7) });
    const plain = cleanup.add(await startNginx("plain", await freePort(), (site) => renderPlainNginxConf({ ...site, root }), "/healthz"), (n) => n.stop());
    const whole = await runWrk(`${plain.url}/big.bin`, 2, 1, 0);
    const tail = await runWrk(`${plain.url}/big.bin`, 2, 1, 0, [`Range: bytes=${1024 * 1024 - 100}-`]);
    expect(whole.errors).toBe(0);
    expect(tail.errors).toBe(0);
    // wrk counts headers too and rounds Transfer/sec to three digits: a whole body is about
    // 1 MiB a request, a ranged one well under 1 KiB.
    expect(whole.bytesPerSecond / whole.requestsPerSecond).toBeGreaterThan(0.95 * 1024 * 1024);
    expect(tail.bytesPerSecond / tail.requestsPerSecond).toBeLessThan(1024);
  }, 60_000);
});

describe("throughput report", () => {
  const row = (server: ThroughputRow["server"], requestsPerSecond: number): ThroughputRow => ({
    object: "segment 2 MB",
    server,
    connections: 100,
    seconds: 10,
    requestsPerSecond,
    p50Ms: 50,
    p99Ms: 120,
    requests: requestsPerSecond * 10,
    errors: 0,
    bytesPerSecond: requestsPerSecond * 2 * 1024 * 1024,
    serverCpuSeconds: 2,
  });
  const report: EdgeBenchReport = {
    date: "2026-11-24T21:00:00.000Z",
    machine: { cpus: 2, cpuModel: "test", loadAverage1mAtStart: 0, loadAverage1mAtEnd: 0, nginx: "1.22.1", node: "v20" },
    settings: { wrkSeconds: 10, wrkThreads: 1, clientCpu: 0, serverCpu: 1, viewers: 1, offloadSeconds: 1, failoverViewers: 1, failoverSeconds: 1 },
    throughput: [row("plain", 1200), row("plain at cache offset", 800), row("live360", 784), row("reference", 600)],
    offload: [],
    failover: [],
  };

  test("each edge is compared with plain nginx and with plain nginx sending from the cache body's offset", () => {
    const lines = markdownReport(report).split("\n");
    const cells = (label: string) => lines.find((l) => l.includes(`| ${label} |`))!.split("|").map((c) => c.trim());
    // object, connections, server, req/s, p99, vs plain, vs plain same offset, per CPU-s, vs plain, errors
    expect(cells("live360 edge").slice(4, 8)).toEqual(["784", "120.0", "65 %", "98 %"]);
    expect(cells("reference edge").slice(6, 8)).toEqual(["50 %", "75 %"]);
    expect(cells("plain nginx (disk), from the cache body's offset").slice(6, 8)).toEqual(["67 %", "–"]);
    expect(cells("plain nginx (disk)").slice(6, 8)).toEqual(["100 %", "–"]);
  });
});
