import { describe, expect, test } from "@jest/globals";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { REFUSAL_EXPLANATIONS, decidePublish, loadAdminToken, type RefusalReason } from "./auth.js";

const request = (over: Partial<Parameters<typeof decidePublish>[0]> = {}) => ({
  sessionId: "s1",
  app: "live",
  stream: "event-1",
  key: undefined,
  remoteAddress: "127.0.0.1:5000",
  ...over,
});
const open = { draining: false, isLive: () => false };
const anyName = { allowedStreams: undefined, publishKeys: undefined };
const keyed = (keys: Map<string, string>) => ({ allowedStreams: undefined, publishKeys: keys });

describe("publish policy", () => {
  test("accepts a valid name when no keys are configured", () => {
    expect(decidePublish(request(), anyName, open)).toEqual({ accept: true });
  });

  test.each([
    [{ app: "show" }, "invalid-app"],
    [{ stream: "Event_1" }, "invalid-stream-name"],
    [{ stream: "-leading-dash" }, "invalid-stream-name"],
    [{ stream: "a".repeat(64) }, "invalid-stream-name"],
  ])("refuses %p with %s", (over, reason) => {
    expect(decidePublish(request(over), anyName, open)).toEqual({ accept: false, reason, code: "NetStream.Publish.BadName", description: REFUSAL_EXPLANATIONS[reason as RefusalReason] });
  });

  test("checks keys: missing, wrong, other stream's, right", () => {
    const keys = new Map([["event-1", "s3cret"], ["other", "x"]]);
    expect(decidePublish(request(), keyed(keys), open)).toMatchObject({ reason: "missing-key" });
    expect(decidePublish(request({ key: "nope" }), keyed(keys), open)).toMatchObject({ reason: "wrong-key", code: "NetStream.Publish.Rejected" });
    expect(decidePublish(request({ key: "x" }), keyed(keys), open)).toMatchObject({ reason: "wrong-key" });
    expect(decidePublish(request({ stream: "unlisted", key: "s3cret" }), keyed(keys), open)).toMatchObject({ reason: "wrong-key" });
    expect(decidePublish(request({ key: "s3cret" }), keyed(keys), open)).toEqual({ accept: true });
  });

  test("with allowed streams, any other name is refused as unknown-stream before its key is looked at", () => {
    const policy = { allowedStreams: ["event-1"], publishKeys: new Map([["event-1", "s3cret"], ["other", "x"]]) };
    expect(decidePublish(request({ stream: "other", key: "x" }), policy, open)).toEqual({
      accept: false,
      reason: "unknown-stream",
      code: "NetStream.Publish.BadName",
      description: REFUSAL_EXPLANATIONS["unknown-stream"],
    });
    expect(decidePublish(request({ stream: "other" }), { ...policy, publishKeys: undefined }, open)).toMatchObject({ reason: "unknown-stream" });
    expect(decidePublish(request({ key: "s3cret" }), policy, open)).toEqual({ accept: true });
    expect(decidePublish(request(), policy, open)).toMatchObject({ reason: "missing-key" });
  });

  test("refuses a second publisher and any publisher while draining", () => {
    expect(decidePublish(request(), anyName, { draining: false, isLive: (s) => s === "event-1" })).toMatchObject({
      reason: "already-publishing",
    });
    expect(decidePublish(request(), anyName, { draining: true, isLive: () => false })).toMatchObject({ reason: "shutting-down" });
  });

  test("the admin token comes from a file (trimmed) before the environment, never empty", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "admin-token-"));
    const file = path.join(dir, "token");
    await writeFile(file, "from-the-file-0123456789\n");
    expect(loadAdminToken(file, "from-the-env-0123456789")).toBe("from-the-file-0123456789");
    expect(loadAdminToken(undefined, " from-the-env-0123456789 ")).toBe("from-the-env-0123456789");
    expect(loadAdminToken(undefined, "  ")).toBeUndefined();
    expect(loadAdminToken(undefined, undefined)).toBeUndefined();
    expect(() => loadAdminToken(path.join(dir, "missing"), undefined)).toThrow(/adminTokenFile \(--admin-token-file\)=".*missing": make the file readable/);
  });
});
