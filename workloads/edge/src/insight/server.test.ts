import { describe, expect, test } from "@jest/globals";
import { createSocket } from "node:dgram";
import { createLogger } from "@live360/core";
import { freePort, waitFor } from "@live360/testkit";
import { startEdgeInsight } from "./server.js";

const logger = createLogger("insight-test", { level: "error" });

describe("the insight server on its own", () => {
  test("syslog lines that are not nginx's are counted and dropped, a good one is folded; close twice is fine", async () => {
    const port = await freePort();
    const insight = await startEdgeInsight(port, logger);
    const sender = createSocket("udp4");
    const send = (text: string) => new Promise<void>((resolve, reject) => sender.send(Buffer.from(text), port, "127.0.0.1", (err) => (err ? reject(err) : resolve())));
    try {
      const cmcd = encodeURIComponent('ot=v,sid="s1",br=900');
      for (const datagram of [
        "garbage",
        "<190>Dec  6 22:00:00 live360_insight: {not json",
        '<190>Dec  6 22:00:00 live360_insight: {"s":"200","b":1,"u":"/hls/a/b/c.ts","c":""}',
        '<190>Dec  6 22:00:00 live360_insight: {"s":200,"b":1,"u":"/hls/a/b/c.ts","c":"%E0%A4%A"}',
        '<190>Dec  6 22:00:00 live360_insight: {"s":200,"b":1,"u":"/hls/a/b/c.ts","c":"sid%3Dunquoted"}',
        `<190>Dec  6 22:00:00 live360_insight: {"s":200,"b":1234,"u":"/hls/demo/720p/seg_1.ts","c":"${cmcd}"}`,
      ]) {
        await send(datagram);
      }
      const text = async () => insight.registry.metrics();
      await waitFor("every datagram handled", async () => /rung="720p"\} 1234/.test(await text()), { timeoutMs: 5000 });
      await waitFor("the bad ones counted", async () => {
        const t = await text();
        return /rejected_total\{reason="cmcd-bad-pair"\} 3/.test(t) && /rejected_total\{reason="cmcd-bad-value"\} 2/.test(t);
      }, { timeoutMs: 5000 });
      expect(await text()).toMatch(/live360_edge_viewers\{stream="demo"\} 1/);
    } finally {
      sender.close();
      await insight.server.close();
      await insight.server.close();
    }
  });

  test("the port taken: a ListenError naming it", async () => {
    const port = await freePort();
    const first = await startEdgeInsight(port, logger);
    try {
      await expect(startEdgeInsight(port, logger)).rejects.toThrow(new RegExp(String(port)));
    } finally {
      await first.server.close();
    }
  });
});
