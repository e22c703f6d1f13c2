import { describe, expect, test } from "@jest/globals";
import { perServerCpuSecond } from "./report.js";
import { parseWrkOutput, processTreeCpuSeconds } from "./wrk.js";

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
