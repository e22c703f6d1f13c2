/**
 * The operator reads each origin's /stat to tell Ready from Live and to pick the active origin.
 * Its reader is checked here against a real origin and a real publisher (FFmpeg over RTMP), so a
 * change of the origin's /stat cannot silently turn every event's Publishing condition Unknown.
 */
import { afterEach, describe, expect, test } from "@jest/globals";
import { createLogger, parseLadder } from "@live360/core";
import { httpOriginStat, type LiveEvent } from "@live360/operator";
import { resolveOriginConfig, startOrigin, type Origin } from "@live360/origin";
import { freePort, loopbackOrigin, makeTestClip, publishFile, tempDir, waitFor, type Publisher } from "@live360/testkit";

let origin: Origin | undefined;
let publisher: Publisher | undefined;

afterEach(async () => {
  await publisher?.stop();
  await origin?.close();
});

// The reader looks only at the URL; the event is there for fakes that answer per event.
const target = (url: string) => ({ event: {} as LiveEvent, role: "primary" as const, url });

async function startLocalOrigin(dir: string): Promise<{ http: string; rtmp: string }> {
  const local = await loopbackOrigin(dir);
  origin = await startOrigin(resolveOriginConfig({ ...local.settings, ladder: parseLadder("ladder", "source") }), { logger: createLogger("origin", { level: "error" }) });
  return local;
}

describe("operator: reading an origin's /stat", () => {
  test("no stream before publishing, the stream live while an encoder publishes", async () => {
    const dir = await tempDir("operator-stat");
    const { http, rtmp } = await startLocalOrigin(dir);
    const url = `${http}/stat`;
    expect((await httpOriginStat(target(url)))?.streams).toEqual([]);

    publisher = await publishFile(await makeTestClip(dir, { seconds: 4 }), `${rtmp}/keynote`, { loop: true });
    const stat = await waitFor("the stream to be live in /stat", async () => {
      const summary = await httpOriginStat(target(url));
      return summary?.streams.some((s) => s.stream === "keynote" && s.state === "live") ? summary : undefined;
    }, { timeoutMs: 30_000 });
    expect(stat.streams.map((s) => s.stream)).toEqual(["keynote"]);
  });

  test("an unreachable origin or an answer that is not a /stat is unknown, never an error", async () => {
    expect(await httpOriginStat(target(`http://127.0.0.1:${await freePort()}/stat`))).toBeUndefined();
    const dir = await tempDir("operator-stat");
    const { http } = await startLocalOrigin(dir);
    expect(await httpOriginStat(target(`${http}/healthz`))).toBeUndefined();
    expect(await httpOriginStat(target(`${http}/no-such-page`))).toBeUndefined();
  });
});
