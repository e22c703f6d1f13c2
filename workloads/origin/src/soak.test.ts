/**
 * The short soak `make test` runs (`make soak` runs the long one, bench/src/soak.ts): a real origin
 * fed for 80 s by an encoder that reconnects every 20 s. After warm-up the origin's memory and
 * descriptors stay flat, and the segment numbering has no gap: reconnects continue it.
 */
import { describe, expect, test } from "@jest/globals";
import { makeTestClip, runSoak, tempDir } from "@live360/testkit";

describe("a short soak with reconnects", () => {
  test("80 s, a reconnect every 20 s: RSS and descriptors flat after warm-up, no segment missing", async () => {
    const dir = await tempDir("soak");
    const clip = await makeTestClip(dir, { seconds: 4, gopSeconds: 2, width: 320, height: 160, videoKbps: 300 });
    const report = await runSoak({ dir, clip, seconds: 80, reconnectEverySeconds: 20, sampleEverySeconds: 2, warmupSeconds: 25 });
    const mib = (bytes: number): number => Math.round(bytes / 1024 / 1024);
    console.log(
      `soak: ${report.samples.length} samples, ${report.reconnects} reconnects, ${report.segmentsSeen} segments, ` +
        `RSS ${mib(report.samples[0]!.rssBytes)} → ${mib(report.samples.at(-1)!.rssBytes)} MiB (growth after warm-up ${mib(report.rssGrowthAfterWarmupBytes)} MiB), ` +
        `descriptors ${report.samples[0]!.descriptors} → ${report.samples.at(-1)!.descriptors} (spread ${report.descriptorSpreadAfterWarmup})`,
    );
    expect(report.reconnects).toBeGreaterThanOrEqual(3);
    expect(report.segmentsSeen).toBeGreaterThanOrEqual(30);
    expect(report.missingSegments).toEqual([]);
    expect(report.rssGrowthAfterWarmupBytes).toBeLessThan(40 * 1024 * 1024);
    // A reconnect briefly holds both the old and the new FFmpeg's pipes and the recording's files.
    expect(report.descriptorSpreadAfterWarmup).toBeLessThanOrEqual(16);
  }, 180_000);
});
