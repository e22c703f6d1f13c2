import { describe, expect, test } from "@jest/globals";
import { ConfigError } from "@live360/core";
import { REFUSAL_EXPLANATIONS, decidePublish, parsePublishKeys, type RefusalReason } from "./auth.js";

const request = (over: Partial<Parameters<typeof decidePublish>[0]> = {}) => ({
  sessionId: "s1",
  app: "live",
  stream: "event-1",
  key: undefined,
  remoteAddress: "127.0.0.1:5000",
  ...over,
});
const open = { draining: false, isLive: () => false };

describe("publish policy", () => {
  test("accepts a valid name when no keys are configured", () => {
    expect(decidePublish(request(), undefined, open)).toEqual({ accept: true });
  });

  test.each([
    [{ app: "show" }, "invalid-app"],
    [{ stream: "Event_1" }, "invalid-stream-name"],
    [{ stream: "-leading-dash" }, "invalid-stream-name"],
    [{ stream: "a".repeat(64) }, "invalid-stream-name"],
  ])("refuses %p with %s", (over, reason) => {
    expect(decidePublish(request(over), undefined, open)).toEqual({ accept: false, reason, code: "NetStream.Publish.BadName", description: REFUSAL_EXPLANATIONS[reason as RefusalReason] });
  });

  test("checks keys: missing, wrong, other stream's, right", () => {
    const keys = new Map([["event-1", "s3cret"], ["other", "x"]]);
    expect(decidePublish(request(), keys, open)).toMatchObject({ reason: "missing-key" });
    expect(decidePublish(request({ key: "nope" }), keys, open)).toMatchObject({ reason: "wrong-key", code: "NetStream.Publish.Rejected" });
    expect(decidePublish(request({ key: "x" }), keys, open)).toMatchObject({ reason: "wrong-key" });
    expect(decidePublish(request({ stream: "unlisted", key: "s3cret" }), keys, open)).toMatchObject({ reason: "wrong-key" });
    expect(decidePublish(request({ key: "s3cret" }), keys, open)).toEqual({ accept: true });
  });

  test("refuses a second publisher and any publisher while draining", () => {
    expect(decidePublish(request(), undefined, { draining: false, isLive: (s) => s === "event-1" })).toMatchObject({
      reason: "already-publishing",
    });
    expect(decidePublish(request(), undefined, { draining: true, isLive: () => false })).toMatchObject({ reason: "shutting-down" });
  });

  test("parses stream=secret lines and names the bad entry", () => {
    expect([...parsePublishKeys("keys.txt", "# comment\nevent-1 = a\n\nother=b\n")]).toEqual([
      ["event-1", "a"],
      ["other", "b"],
    ]);
    expect(() => parsePublishKeys("keys.txt", "event-1=a\nBAD=b")).toThrow(ConfigError);
    expect(() => parsePublishKeys("keys.txt", "event-1=a\nBAD=b")).toThrow(/keys\.txt entry 2="BAD=b"/);
    expect(() => parsePublishKeys("env", "nosecret=")).toThrow(/stream=secret/);
  });
});
