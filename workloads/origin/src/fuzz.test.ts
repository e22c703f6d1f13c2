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
 * process exits), a hang (the healthy stream stops) and a leak (open file descriptors grow)
 * all fail the run.
 */
import { beforeAll, describe, expect, test } from "@jest/globals";
import { once } from "node:events";
import { readdir } from "node:fs/promises";
import { connect } from "node:net";
import { RtmpTestClient, encodeAmf0, readFlvTags, sendFlvTags, type Amf0Value, type FlvFileTag, type OriginProcess } from "@live360/testkit";
import { healthyOriginSuite, type OriginWithHealthyStream } from "./healthy-origin.fixture.js";

const VIDEO = 9;
const AUDIO = 8;
const COMMAND_AMF0 = 20;
const CASES = Number(process.env.LIVE360_FUZZ_CASES ?? 40);
const FIRST_SEED = Number(process.env.LIVE360_FUZZ_SEED ?? 1);
const CASE_MS = 150;
/** Generous per test: a case takes well under a second. */
const FAMILY_TIMEOUT_MS = Math.max(300_000, CASES * 2000);

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
function randomCommand(random: Random): { streamId: number; payload: Buffer } {
  const name = random() < 0.85 ? pick(random, ["connect", "createStream", "publish", "play", "releaseStream", "FCPublish", "FCUnpublish", "deleteStream", "closeStream", "pause", "receiveAudio", "getStreamLength"]) : randomString(random);
  const args = Array.from({ length: Math.floor(random() * 5) }, () => randomAmf(random));
  const transaction: Amf0Value = random() < 0.8 ? Math.floor(random() * 10) : randomAmf(random);
  const parts = [encodeAmf0(name), encodeAmf0(transaction), ...args.map(encodeAmf0)];
  // Sometimes cut short mid-value: a reader must not trust the buffer to hold what a type byte announces.
  const payload = Buffer.concat(parts);
  return { streamId: pick(random, [0, 1, 2, 0xffffffff]), payload: random() < 0.15 ? payload.subarray(0, Math.floor(random() * payload.length)) : payload };
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

  /** Runs `cases` seeded cases of one generator; a dead origin fails with the seed that killed it. */
  async function run(family: string, each: (random: Random) => Promise<void>): Promise<void> {
    for (let seed = FIRST_SEED; seed < FIRST_SEED + CASES; seed++) {
      await each(seeded(seed));
      if (origin.process.child.exitCode !== null) {
        throw new Error(`the origin died on ${family} seed ${seed} (LIVE360_FUZZ_SEED=${seed} LIVE360_FUZZ_CASES=1 reproduces it)`);
      }
    }
    console.log(`fuzz ${family}: ${CASES} cases from seed ${FIRST_SEED}, origin alive`);
    await fixture.expectHealthy();
  }

  beforeAll(async () => {
    ({ fixture, origin } = suite);
    session = (await readFlvTags(suite.clip)).slice(0, 80);
    descriptorsBefore = await openDescriptors(origin.process.child.pid!);
  });

  test(`${CASES} mutations of a real session's tags (bit flips, truncations, duplications, swapped types)`, async () => {
    await run("tag mutation", async (random) => {
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
      const client = await RtmpTestClient.connect(origin.rtmpPort);
      try {
        await client.publish("live", streamName(), { port: origin.rtmpPort });
        sendFlvTags(client, mutated);
        await new Promise((resolve) => setTimeout(resolve, CASE_MS));
      } finally {
        await client.close();
      }
    });
  }, FAMILY_TIMEOUT_MS);

  test(`${CASES} generated AMF0 command sequences (every type, odd strings, nesting, cut values)`, async () => {
    await run("AMF0 commands", async (random) => {
      const client = await RtmpTestClient.connect(origin.rtmpPort);
      try {
        // Half the cases connect properly first, so the publish-stage handlers get their share.
        if (random() < 0.5) await client.publish("live", streamName(), { port: origin.rtmpPort });
        for (let i = 0; i < 1 + random() * 6; i++) {
          const { streamId, payload } = randomCommand(random);
          client.writeMessage(3, COMMAND_AMF0, streamId, 0, payload);
        }
        if (random() < 0.3) sendFlvTags(client, session.slice(0, 10));
        await new Promise((resolve) => setTimeout(resolve, CASE_MS));
      } finally {
        await client.close();
      }
    });
  }, FAMILY_TIMEOUT_MS);

  test(`${CASES} generated handshakes and chunk streams (every header form, random fields)`, async () => {
    await run("handshake and chunks", async (random) => {
      if (random() < 0.3) {
        // A handshake that is not one: random version byte, C1 of any length, garbage after.
        const socket = connect({ port: origin.rtmpPort, host: "127.0.0.1" });
        socket.on("error", () => undefined);
        await once(socket, "connect");
        socket.write(Buffer.concat([Buffer.from([Math.floor(random() * 256)]), randomBytes(random, Math.floor(random() * 3200))]));
        await new Promise((resolve) => setTimeout(resolve, CASE_MS));
        socket.destroy();
        return;
      }
      const client = await RtmpTestClient.connect(origin.rtmpPort);
      try {
        if (random() < 0.4) await client.publish("live", streamName(), { port: origin.rtmpPort });
        client.sendRaw(randomChunks(random));
        await new Promise((resolve) => setTimeout(resolve, CASE_MS));
      } finally {
        await client.close();
      }
    });
  }, FAMILY_TIMEOUT_MS);

  test("no descriptors leaked: every fuzz connection and stream was cleaned up", async () => {
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
  }, 60_000);
});
