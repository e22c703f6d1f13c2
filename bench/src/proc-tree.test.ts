import { spawn } from "node:child_process";
import { describe, expect, test } from "@jest/globals";
import { ProcessTreeSampler, parseProcStat } from "./proc-tree.js";

describe("process tree sampling", () => {
  test("parses /proc/<pid>/stat even when the command name has spaces and parentheses", () => {
    const fields = ["S", "42", ...Array(9).fill("0"), "150", "50", "7", "3", ...Array(4).fill("0"), "12345", "0", "900"];
    expect(parseProcStat(`4711 (a (weird) name) ${fields.join(" ")}`)).toEqual({ pid: 4711, ppid: 42, cpuTicks: 200, startTicks: 12345, rssPages: 900 });
  });

  test("counts a child's CPU time after it has exited, and matches what the kernel charged it", async () => {
    // The parent runs a busy child, then prints its own stat: cutime + cstime are exactly the child's CPU.
    // The child then idles 2 s, long enough for a sample on a CI machine whose 2 cores every
    // suite shares (a whole /proc scan there once took longer than 0.5 s, and its final ticks were missed).
    const busyChild = "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; sleep 2";
    const script = `sh -c '${busyChild}'; cat /proc/$$/stat; sleep 0.5`;
    const parent = spawn("sh", ["-c", script], { stdio: ["ignore", "pipe", "ignore"] });
    const sampler = await ProcessTreeSampler.create(parent.pid!);
    sampler.start(20);
    let out = "";
    parent.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    await new Promise((resolve) => parent.once("close", resolve));
    const usage = await sampler.stop();

    const stat = out.trim().split("\n").pop()!;
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const childTicks = Number(f[16 - 3]) + Number(f[17 - 3]);
    expect(childTicks).toBeGreaterThan(5);
    expect(usage.processes).toBeGreaterThanOrEqual(2);
    // The sampler saw the child's final CPU while it slept; only the parent's own few ticks may differ.
    expect(usage.cpuSeconds).toBeGreaterThanOrEqual(childTicks / 100 - 0.011);
    expect(usage.cpuSeconds).toBeLessThan(childTicks / 100 + 0.1);
    expect(usage.peakRssBytes).toBeGreaterThan(0);
  }, 60_000);
});
