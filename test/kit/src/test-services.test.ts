import { afterEach, beforeEach, describe, expect, test } from "@jest/globals";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MissingDependencyError } from "@live360/core";
import { startS3Server } from "./s3-server.js";
import { startSqsServer } from "./sqs-server.js";

// A test that needs a server must fail with the way to install it, never skip or hang.
describe("test service harness without the installed servers", () => {
  const saved = process.env.LIVE360_CACHE;
  let emptyCache: string;

  beforeEach(async () => {
    emptyCache = await mkdtemp(join(tmpdir(), "live360-empty-cache-"));
    process.env.LIVE360_CACHE = emptyCache;
  });

  afterEach(async () => {
    if (saved === undefined) delete process.env.LIVE360_CACHE;
    else process.env.LIVE360_CACHE = saved;
    await rm(emptyCache, { recursive: true, force: true });
  });

  test("startS3Server names the missing versitygw and how to install it", async () => {
    const failure = startS3Server();
    await expect(failure).rejects.toBeInstanceOf(MissingDependencyError);
    await expect(failure).rejects.toThrow(/versitygw .*is not installed.*make test-services/);
  });

  test("startSqsServer names the missing ElasticMQ and how to install it", async () => {
    await expect(startSqsServer({ queues: [{ name: "jobs" }] })).rejects.toThrow(/ElasticMQ .*is not installed.*make test-services/);
  });
});
