/**
 * Test fixture shared by the hostile-client and fault suites: a real `live360 origin` process with
 * a healthy FFmpeg publisher beside whatever a test throws at it, and the fault matrix's cases.
 */
import path from "node:path";
import { afterAll, afterEach, beforeAll, expect } from "@jest/globals";
import {
  freePort,
  getText,
  makeTestClip,
  publishFile,
  runFaultCase,
  startOriginProcess,
  tempDir,
  waitFor,
  type ClipOptions,
  type FaultOutcome,
  type OriginProcess,
  type Publisher,
} from "@live360/testkit";

/** A counter or gauge from the origin's /metrics (0 when the series does not exist yet). */
export async function metric(http: string, name: string, labels = ""): Promise<number> {
  const { body } = await getText(`${http}/metrics`);
  const line = body.split("\n").find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ""} `));
  return line ? Number(line.split(" ").pop()) : 0;
}

/**
 * A real origin process with a healthy FFmpeg publisher on stream `healthy`, whose segments must
 * keep coming whatever the test does to the origin beside it.
 */
export class OriginWithHealthyStream {
  private constructor(
    readonly origin: OriginProcess,
    private readonly healthy: Publisher,
  ) {}

  static async start(clip: string, dataDir: string, args: readonly string[]): Promise<OriginWithHealthyStream> {
    const origin = await startOriginProcess({ name: "origin", rtmpPort: await freePort(), httpPort: await freePort(), dataDir, args: ["--low-latency", "--reconnect-grace", "1", ...args] });
    const healthy = await publishFile(clip, `rtmp://127.0.0.1:${origin.rtmpPort}/live/healthy`, { loop: true });
    const fixture = new OriginWithHealthyStream(origin, healthy);
    await waitFor("the healthy stream's playlist", async () => (await fixture.newestSegment()) !== undefined, { timeoutMs: 45_000, intervalMs: 250 });
    return fixture;
  }

  /** The healthy stream's newest segment: it must change while the hostile ones come and go. */
  async newestSegment(): Promise<string | undefined> {
    return (await getText(`${this.origin.http}/hls/healthy/source/index.m3u8`)).body.split("\n").filter((l) => l.endsWith(".ts")).at(-1);
  }

  /** The origin process is alive and the healthy stream's next segment appears. */
  async expectHealthy(): Promise<void> {
    expect(this.origin.process.child.exitCode).toBeNull();
    const before = await this.newestSegment();
    await waitFor("the healthy stream's next segment", async () => (await this.newestSegment()) !== before, { timeoutMs: 20_000, intervalMs: 250 });
  }

  /** The origin process has neither exited nor been killed. */
  get alive(): boolean {
    return this.origin.process.child.exitCode === null && this.origin.process.child.signalCode === null;
  }

  /**
   * One case of the fault matrix (test/kit/src/fault-matrix.ts): runs `fault` with the healthy
   * stream watched, checks that the origin process is alive and the healthy stream goes on, and
   * reports the case with what `fault` measured as lost (runFaultCase).
   */
  faultCase(id: string, fault: string, run: () => Promise<FaultOutcome>): Promise<void> {
    return runFaultCase(id, fault, { playlist: `${this.origin.http}/hls/healthy/source/index.m3u8`, expectHealthy: () => this.expectHealthy(), alive: () => this.alive }, run);
  }

  /** Ends the healthy stream (its publisher stops); the origin goes on. */
  async stopPublisher(): Promise<void> {
    await this.healthy.stop();
  }

  async stop(): Promise<void> {
    await this.healthy.stop();
    await this.origin.process.stop();
  }
}

/** What a suite run against one OriginWithHealthyStream gets; filled in before its tests run. */
export interface HealthyOriginSuite {
  dir: string;
  /** The healthy stream's clip, for the suite's own publishers too. */
  clip: string;
  fixture: OriginWithHealthyStream;
  origin: OriginProcess;
}

/**
 * Registers a suite's hooks around one OriginWithHealthyStream: started before all tests with
 * `args`, stopped after all; with `checkAfterEach`, the healthy stream must go on after every test.
 */
export function healthyOriginSuite(name: string, clip: ClipOptions, args: readonly string[], options: { checkAfterEach?: boolean } = {}): HealthyOriginSuite {
  const suite = {} as HealthyOriginSuite;
  beforeAll(async () => {
    suite.dir = await tempDir(name);
    suite.clip = await makeTestClip(suite.dir, clip);
    suite.fixture = await OriginWithHealthyStream.start(suite.clip, path.join(suite.dir, "data"), args);
    suite.origin = suite.fixture.origin;
  }, 120_000);
  afterAll(async () => {
    await suite.fixture?.stop();
  }, 60_000);
  if (options.checkAfterEach) afterEach(() => suite.fixture.expectHealthy(), 30_000);
  return suite;
}
