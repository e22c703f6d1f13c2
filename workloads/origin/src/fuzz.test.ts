/**
 * The RTMP ingest fuzzed, against a real `live360 origin` process beside a healthy stream that
 * must keep producing segments. Three seeded generators, so any failing case reproduces from its
 * seed (LIVE360_FUZZ_SEED=<seed> LIVE360_FUZZ_CASES=1):
 * - mutations of a real session's FLV tags: bit flips, truncations, duplications, swapped types;
 * - generated AMF0 commands: connect, createStream, publish and others, with values of every
 *   AMF0 type, odd and long strings, deep nesting, missing and wrongly typed fields;
 * - generated handshakes and chunk streams: random versions, short or garbage C1/C2, chunk
 *   headers of every format with random stream ids, lengths, types and extended timestamps.
 * `make test` runs a bounded number of cases of each; `make fuzz` runs many more. A crash (the
 * process exits), a hang (a case that does not end, an origin that stops answering /healthz, or
 * the healthy stream stopping) and a leak (open file descriptors grow) all fail the run.
 *
 * A case is data (FuzzInput: how the connection opens, then the bytes written), so a failing one
 * is saved as it was sent to test-artifacts/fuzz/ and replays without its generator, and the
 * committed regression corpus (workloads/origin/fuzz-corpus/, the inputs that once crashed an
 * origin and the hostile shapes of hostile-publishers.test.ts) is replayed before the generators.
 * LIVE360_FUZZ_REPLAY=<file or directory> (`make fuzz FUZZ_REPLAY=<path>`) replays only that.
 */
import { beforeAll, describe, expect, test } from "@jest/globals";
import { once } from "node:events";
import { mkdir, readFile, readdir, stat, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  RtmpTestClient,
  TEST_ARTIFACTS,
  encodeAmf0,
  encodeFlvTag,
  encodeRtmpMessage,
  readFlvTags,
  statusOf,
  type Amf0Value,
  type FlvFileTag,
  type OriginProcess,
} from "@live360/testkit";
import { healthyOriginSuite, type OriginWithHealthyStream } from "./healthy-origin.fixture.js";

const VIDEO = 9;
const AUDIO = 8;
const COMMAND_AMF0 = 20;
const CASES = Number(process.env.LIVE360_FUZZ_CASES ?? 40);
const FIRST_SEED = Number(process.env.LIVE360_FUZZ_SEED ?? 1);
const REPLAY = process.env.LIVE360_FUZZ_REPLAY || undefined;
const CASE_MS = 150;
/**
 * A case that has not ended by then hangs: a publish waits at most 2 × 10 s for the server's
 * answers (RtmpTestClient), the rest of a case well under a second.
 */
const CASE_LIMIT_MS = 30_000;
/** Generous per test: a case takes well under a second. */
const FAMILY_TIMEOUT_MS = Math.max(300_000, CASES * 2000);
/** Cases kept for a hang found only after a generator's run: the healthy stream's check comes at its end. */
const KEPT_FOR_HANG = 50;
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const CORPUS = fileURLToPath(new URL("../fuzz-corpus/", import.meta.url));
const FAILURES = path.join(TEST_ARTIFACTS, "fuzz");

/** Mulberry32: a seeded generator, so a failing case reproduces from its seed. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Random = () => number;
const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const randomBytes = (random: Random, length: number): Buffer => Buffer.from(Array.from({ length }, () => Math.floor(random() * 256)));

/**
 * How a case's connection opens before its bytes: `raw` a bare TCP connection (the bytes are all
 * it gets, handshake included); `handshake` the test client's handshake and its chunk size of
 * 65536 first; `publish` that, then connect, createStream and publish on a fresh stream name.
 */
type Opening = "raw" | "handshake" | "publish";
const OPENINGS: readonly Opening[] = ["raw", "handshake", "publish"];

/** One fuzz case as data: generated from a seed, saved when it fails, replayed from the corpus. */
interface FuzzInput {
  open: Opening;
  /** `publish` only: the connect command's tcUrl instead of the origin's own URL. */
  tcUrl?: string;
  /** Written in order once the connection is open. */
  writes: Buffer[];
}

/**
 * A FuzzInput as a JSON file: the writes in hex (whitespace ignored, so a corpus file can group
 * bytes), with why it exists. A file holds one case, or `cases` (a hang's last cases, in order).
 */
interface FuzzCaseFile {
  why?: string;
  generator?: string;
  seed?: number;
  open: Opening;
  tcUrl?: string;
  writes: string[];
}

const toCaseFile = (input: FuzzInput, about: Pick<FuzzCaseFile, "why" | "generator" | "seed">): FuzzCaseFile => ({
  ...about,
  open: input.open,
  ...(input.tcUrl === undefined ? {} : { tcUrl: input.tcUrl }),
  writes: input.writes.map((w) => w.toString("hex")),
});

function fromCaseFile(file: FuzzCaseFile, where: string): FuzzInput {
  if (!OPENINGS.includes(file.open)) throw new Error(`${where}: "open" must be one of ${OPENINGS.join(", ")}, not ${JSON.stringify(file.open)}`);
  if (!Array.isArray(file.writes)) throw new Error(`${where}: "writes" must be an array of hex strings`);
  const writes = file.writes.map((hex, i) => {
    const clean = String(hex).replace(/\s+/g, "");
    if (!/^([0-9a-f]{2})*$/i.test(clean)) throw new Error(`${where}: writes[${i}] is not hex`);
    return Buffer.from(clean, "hex");
  });
  return { open: file.open, ...(file.tcUrl === undefined ? {} : { tcUrl: file.tcUrl }), writes };
}

/** The cases of a saved file: `{ cases: [...] }` or one case. */
async function readCaseFile(file: string): Promise<FuzzInput[]> {
  const where = path.relative(ROOT, file);
  const parsed = JSON.parse(await readFile(file, "utf8")) as FuzzCaseFile | { cases: FuzzCaseFile[] };
  return "cases" in parsed ? parsed.cases.map((c, i) => fromCaseFile(c, `${where} case ${i}`)) : [fromCaseFile(parsed, where)];
}

/** The .json files of a directory (sorted, so the order is the same every run), or the one file given. */
async function caseFiles(target: string): Promise<string[]> {
  const resolved = path.resolve(ROOT, target);
  if (!(await stat(resolved)).isDirectory()) return [resolved];
  return (await readdir(resolved)).filter((f) => f.endsWith(".json")).sort().map((f) => path.join(resolved, f));
}

async function saveFailure(name: string, content: FuzzCaseFile | { why: string; cases: FuzzCaseFile[] }): Promise<string> {
  await mkdir(FAILURES, { recursive: true });
  const file = path.join(FAILURES, `${name}.json`);
  await writeFile(file, `${JSON.stringify(content, null, 2)}\n`);
  return path.relative(ROOT, file);
}

const ODD_STRINGS = ["", "live", "rtmp://127.0.0.1/live", "::not a url::", "rtmp://[::1", "live/../../etc", "%00", "\u0000", "name?key=", "ünïcödé-名前", "a".repeat(65_535), "live/x/y/z", "-", " "];

function randomString(random: Random): string {
  return random() < 0.7 ? pick(random, ODD_STRINGS) : randomBytes(random, Math.floor(random() * 64)).toString("latin1");
}

function randomAmf(random: Random, depth = 0): Amf0Value {
  const roll = random();
  if (roll < 0.2 || depth > 4) return pick(random, [0, -1, 1.5, 2 ** 53, -(2 ** 31), Number.NaN, Number.POSITIVE_INFINITY, -0, 1e308, Math.floor(random() * 1e6)]);
  if (roll < 0.45) return randomString(random);
  if (roll < 0.5) return random() < 0.5;
  if (roll < 0.55) return null;
  if (roll < 0.6) return undefined;
  if (roll < 0.85) {
    const keys = ["app", "tcUrl", "type", "flashVer", "swfUrl", "objectEncoding", "videoCodecs", "fourCcList", randomString(random)];
    return Object.fromEntries(Array.from({ length: Math.floor(random() * 6) }, () => [pick(random, keys), randomAmf(random, depth + 1)]));
  }
  return Array.from({ length: Math.floor(random() * 5) }, () => randomAmf(random, depth + 1));
}

/** One AMF0 command message: a name (usually one NMS handles), a transaction id, random arguments. */
function randomCommand(random: Random): Buffer {
  const name = random() < 0.85 ? pick(random, ["connect", "createStream", "publish", "play", "releaseStream", "FCPublish", "FCUnpublish", "deleteStream", "closeStream", "pause", "receiveAudio", "getStreamLength"]) : randomString(random);
  const args = Array.from({ length: Math.floor(random() * 5) }, () => randomAmf(random));
  const transaction: Amf0Value = random() < 0.8 ? Math.floor(random() * 10) : randomAmf(random);
  const parts = [encodeAmf0(name), encodeAmf0(transaction), ...args.map(encodeAmf0)];
  // Sometimes cut short mid-value: a reader must not trust the buffer to hold what a type byte announces.
  const payload = Buffer.concat(parts);
  const streamId = pick(random, [0, 1, 2, 0xffffffff]);
  return encodeRtmpMessage(3, COMMAND_AMF0, streamId, 0, random() < 0.15 ? payload.subarray(0, Math.floor(random() * payload.length)) : payload);
}

/** Random chunks: every basic header form and message header format, random fields and bodies. */
function randomChunks(random: Random): Buffer {
  const chunks: Buffer[] = [];
  for (let i = 0; i < 1 + random() * 12; i++) {
    const fmt = Math.floor(random() * 4);
    const form = random();
    const basic =
      form < 0.6
        ? Buffer.from([(fmt << 6) | (2 + Math.floor(random() * 62))])
        : form < 0.8
          ? Buffer.from([fmt << 6, Math.floor(random() * 256)])
          : Buffer.from([(fmt << 6) | 1, Math.floor(random() * 256), Math.floor(random() * 256)]);
    const header = Buffer.alloc([11, 7, 3, 0][fmt]!);
    if (fmt < 3) header.writeUIntBE(random() < 0.2 ? 0xffffff : Math.floor(random() * 0xffffff), 0, 3);
    if (fmt < 2) {
      header.writeUIntBE(Math.floor(random() * (random() < 0.5 ? 4096 : 0xffffff)), 3, 3);
      header[6] = random() < 0.7 ? pick(random, [1, 2, 3, 4, 5, 6, 8, 9, 15, 17, 18, 19, 20, 22]) : Math.floor(random() * 256);
    }
    if (fmt === 0) header.writeUInt32LE(Math.floor(random() * 2 ** 32), 7);
    const extended = random() < 0.1 ? randomBytes(random, 4) : Buffer.alloc(0);
    chunks.push(basic, header, extended, randomBytes(random, Math.floor(random() * 300)));
  }
  return Buffer.concat(chunks);
}

/** The publish's message stream id: NMS gives the first createStream 1. */
const STREAM_ID = 1;

/** Mutations of a real session's tags, published. */
function tagMutation(random: Random, session: readonly FlvFileTag[]): FuzzInput {
  const mutated = session.map((tag) => {
    const body = Buffer.from(tag.body);
    const roll = random();
    if (roll < 0.15 && body.length > 0) {
      for (let i = 0; i < 1 + random() * 8; i++) {
        const at = Math.floor(random() * body.length);
        body[at] = body[at]! ^ (1 << Math.floor(random() * 8));
      }
    } else if (roll < 0.25) return { ...tag, body: body.subarray(0, Math.floor(random() * body.length)) };
    else if (roll < 0.3) return { ...tag, type: tag.type === VIDEO ? AUDIO : VIDEO, body };
    return { ...tag, body };
  });
  if (random() < 0.3) mutated.splice(Math.floor(random() * mutated.length), 0, ...mutated.slice(0, 3));
  return { open: "publish", writes: mutated.map((tag) => encodeFlvTag(tag, STREAM_ID)).filter((w) => w.length > 0) };
}

/** Generated AMF0 commands, after a publish or straight after the handshake, sometimes with media. */
function amf0Commands(random: Random, session: readonly FlvFileTag[]): FuzzInput {
  // Half the cases publish properly first, so the publish-stage handlers get their share.
  const open: Opening = random() < 0.5 ? "publish" : "handshake";
  const writes = Array.from({ length: Math.floor(1 + random() * 6) }, () => randomCommand(random));
  if (random() < 0.3) writes.push(...session.slice(0, 10).map((tag) => encodeFlvTag(tag, STREAM_ID)).filter((w) => w.length > 0));
  return { open, writes };
}

/** A handshake that is not one, or random chunks after a handshake (and sometimes a publish). */
function handshakeAndChunks(random: Random): FuzzInput {
  if (random() < 0.3) {
    // A random version byte, C1 of any length, garbage after.
    return { open: "raw", writes: [Buffer.concat([Buffer.from([Math.floor(random() * 256)]), randomBytes(random, Math.floor(random() * 3200))])] };
  }
  return { open: random() < 0.4 ? "publish" : "handshake", writes: [randomChunks(random)] };
}

async function openDescriptors(pid: number): Promise<number> {
  return (await readdir(`/proc/${pid}/fd`)).length;
}

describe("the RTMP ingest, fuzzed", () => {
  const suite = healthyOriginSuite("fuzz", { seconds: 4, gopSeconds: 1 }, []);
  let fixture: OriginWithHealthyStream;
  let origin: OriginProcess;
  let session: FlvFileTag[];
  let descriptorsBefore: number;
  let nextStream = 0;
  const streamName = (): string => `fuzz-${++nextStream}`;
  // Replaying one saved input runs it alone: the generators would bury it.
  const generated = REPLAY ? test.skip : test;

  beforeAll(async () => {
    ({ fixture, origin } = suite);
    session = (await readFlvTags(suite.clip)).slice(0, 80);
    descriptorsBefore = await openDescriptors(origin.process.child.pid!);
  });

  /** Opens the connection as the input says, writes its bytes, gives the origin CASE_MS, closes. */
  async function send(input: FuzzInput): Promise<void> {
    if (input.open === "raw") {
      const socket = connect({ port: origin.rtmpPort, host: "127.0.0.1" });
      socket.on("error", () => undefined);
      await once(socket, "connect");
      for (const bytes of input.writes) socket.write(bytes);
      await new Promise((resolve) => setTimeout(resolve, CASE_MS));
      socket.destroy();
      return;
    }
    const client = await RtmpTestClient.connect(origin.rtmpPort);
    try {
      if (input.open === "publish") await client.publish("live", streamName(), input.tcUrl === undefined ? { port: origin.rtmpPort } : { tcUrl: input.tcUrl });
      for (const bytes of input.writes) client.sendRaw(bytes);
      await new Promise((resolve) => setTimeout(resolve, CASE_MS));
    } finally {
      await client.close();
    }
  }

  /**
   * Runs one case; says what went wrong, if anything: the case did not end (a hang), the origin
   * process is gone (a crash), or it no longer answers /healthz (its event loop is stuck).
   */
  async function tryCase(input: FuzzInput): Promise<string | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      send(input).then(
        () => undefined,
        (err: unknown) => `the case failed (${(err as Error).message})`,
      ),
      new Promise<string>((resolve) => (timer = setTimeout(() => resolve(`the case did not end within ${CASE_LIMIT_MS / 1000} s: a hang`), CASE_LIMIT_MS))),
    ]);
    clearTimeout(timer);
    if (outcome) return outcome;
    const child = origin.process.child;
    if (!fixture.alive) return `the origin died (exit code ${child.exitCode}, signal ${child.signalCode})`;
    const healthz = await statusOf(`${origin.http}/healthz`, { timeoutMs: 10_000 });
    return healthz === 200 ? undefined : `the origin stopped answering /healthz (${healthz}): a hang`;
  }

  /**
   * Runs `CASES` seeded cases of one generator. A failing case is saved and fails the run, naming
   * its file and seed; a healthy stream stopped after the run saves the last cases, in order.
   */
  async function run(caseId: string, generator: string, generate: (random: Random) => FuzzInput): Promise<void> {
    const slug = generator.replace(/[^a-z0-9]+/gi, "-").toLowerCase();
    await fixture.faultCase(caseId, `${CASES} generated ${generator} cases from seed ${FIRST_SEED}`, async () => {
      const recent: FuzzCaseFile[] = [];
      for (let seed = FIRST_SEED; seed < FIRST_SEED + CASES; seed++) {
        const input = generate(seeded(seed));
        recent.push(toCaseFile(input, { generator, seed }));
        if (recent.length > KEPT_FOR_HANG) recent.shift();
        const failure = await tryCase(input);
        if (failure) {
          const file = await saveFailure(`${slug}-seed-${seed}`, toCaseFile(input, { why: failure, generator, seed }));
          throw new Error(`${failure}, on ${generator} seed ${seed}: saved as ${file} (make fuzz FUZZ_REPLAY=${file} replays it; LIVE360_FUZZ_SEED=${seed} LIVE360_FUZZ_CASES=1 generates it again)`);
        }
      }
      try {
        await fixture.expectHealthy();
      } catch (err) {
        const last = `${slug}-seeds-${recent[0]!.seed}-${recent.at(-1)!.seed}`;
        const file = await saveFailure(last, { why: `the healthy stream stopped during these cases (${(err as Error).message})`, cases: recent });
        throw new Error(`the healthy stream stopped during ${generator} seeds ${FIRST_SEED}-${FIRST_SEED + CASES - 1}: the last ${recent.length} cases saved as ${file} (make fuzz FUZZ_REPLAY=${file})`);
      }
      console.log(`fuzz ${generator}: ${CASES} cases from seed ${FIRST_SEED}, origin alive`);
      return { lost: `only the fuzz connections: after each of the ${CASES} cases the origin was alive and answered /healthz` };
    });
  }

  test(`the regression corpus${REPLAY ? ` (here ${REPLAY})` : " (workloads/origin/fuzz-corpus)"}, replayed first: each saved input ends only its own connection`, async () => {
    const files = await caseFiles(REPLAY ?? CORPUS);
    expect(files.length).toBeGreaterThan(0);
    await fixture.faultCase("fuzz-regression-corpus", `the ${files.length} saved inputs of ${REPLAY ?? "workloads/origin/fuzz-corpus"}: past crashes and the hostile shapes`, async () => {
      let cases = 0;
      for (const file of files) {
        const inputs = await readCaseFile(file);
        for (const [i, input] of inputs.entries()) {
          const failure = await tryCase(input);
          if (failure) throw new Error(`${failure}, replaying ${path.relative(ROOT, file)}${inputs.length > 1 ? ` case ${i}` : ""}`);
          cases += 1;
        }
      }
      console.log(`fuzz corpus: ${cases} cases from ${files.length} files, origin alive`);
      return { lost: `only the replayed connections: after each of the ${cases} cases (${files.length} files) the origin was alive and answered /healthz` };
    });
  }, FAMILY_TIMEOUT_MS);

  generated(`${CASES} mutations of a real session's tags (bit flips, truncations, duplications, swapped types)`, async () => {
    await run("fuzz-tag-mutations", "tag mutation", (random) => tagMutation(random, session));
  }, FAMILY_TIMEOUT_MS);

  generated(`${CASES} generated AMF0 command sequences (every type, odd strings, nesting, cut values)`, async () => {
    await run("fuzz-amf0-commands", "AMF0 commands", (random) => amf0Commands(random, session));
  }, FAMILY_TIMEOUT_MS);

  generated(`${CASES} generated handshakes and chunk streams (every header form, random fields)`, async () => {
    await run("fuzz-handshakes-and-chunks", "handshake and chunks", handshakeAndChunks);
  }, FAMILY_TIMEOUT_MS);

  test("no descriptors leaked: every fuzz connection and stream was cleaned up", async () => {
    await fixture.faultCase("fuzz-descriptor-leak", "every connection and stream of the cases above gone", async () => {
      const pid = origin.process.child.pid!;
      // Streams of the last cases end after the 1 s reconnect grace, their FFmpegs after that.
      let after = 0;
      for (let i = 0; i < 40; i++) {
        after = await openDescriptors(pid);
        if (after <= descriptorsBefore + 8) break;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      console.log(`fuzz: origin file descriptors ${descriptorsBefore} before, ${after} after`);
      expect(after).toBeLessThanOrEqual(descriptorsBefore + 8);
      return { lost: `no descriptors: the origin held ${descriptorsBefore} before the fuzz cases, ${after} after`, measured: { descriptorsBefore, descriptorsAfter: after } };
    });
  }, 60_000);
});
