/**
 * Publishers no well-behaved encoder would be, against a real `live360 origin` process with a
 * healthy FFmpeg-published stream beside them: malformed and foreign codec headers, audio-only
 * media, a connect whose tcUrl is no URL, garbage chunks after a publish and absurd timestamps
 * (the seeded fuzz runs are in fuzz.test.ts). Each must end only its own connection, be
 * told why over RTMP where it got as far as publishing, and be counted by reason; the origin
 * process must survive and the healthy stream must keep producing segments. Each test is a case
 * of the fault matrix (test/kit/src/fault-matrix.ts), reported with what it measured.
 */
import { beforeAll, describe, expect, test } from "@jest/globals";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { connect, type Socket } from "node:net";
import {
  RtmpTestClient,
  getText,
  makeTestClip,
  readFlvTags,
  sendFlvTags,
  spawnPublisher,
  waitFor,
  type FaultOutcome,
  type FlvFileTag,
  type OriginProcess,
} from "@live360/testkit";
import { REFUSAL_EXPLANATIONS } from "./auth.js";
import { STREAM_ERROR_EXPLANATIONS, type StreamRefusal } from "./stream-errors.js";
import { healthyOriginSuite, metric, type OriginWithHealthyStream } from "./healthy-origin.fixture.js";

const VIDEO = 9;

describe("hostile and odd publishers", () => {
  const suite = healthyOriginSuite("hostile", { seconds: 4, gopSeconds: 1 }, []);
  let fixture: OriginWithHealthyStream;
  let origin: OriginProcess;
  let tags: FlvFileTag[];
  let videoHeader: FlvFileTag;
  let audioOnlyClip: string;
  let nextStream = 0;
  const streamName = (): string => `hostile-${++nextStream}`;

  async function streamErrors(reason: string): Promise<number> {
    return metric(origin.http, "live360_origin_stream_errors_total", `reason="${reason}"`);
  }

  /** Publishes, sends `tags`, and returns the error status the origin answers with. */
  async function publishExpectingRefusal(send: (client: RtmpTestClient) => void): Promise<{ code: string; description: string }> {
    const client = await RtmpTestClient.connect(origin.rtmpPort);
    try {
      const started = await client.publish("live", streamName(), { port: origin.rtmpPort });
      expect(started?.code).toBe("NetStream.Publish.Start");
      send(client);
      const refused = await client.nextStatus((s) => s.level === "error", 20_000);
      expect(refused).toBeDefined();
      await client.closed;
      return { code: refused!.code, description: refused!.description };
    } finally {
      await client.close();
    }
  }

  /** Each video body, sent as a publish's first tag, is refused for `reason`, told and counted once. */
  async function expectVideoRefused(reason: StreamRefusal["reason"], bodies: readonly Buffer[]): Promise<FaultOutcome> {
    const before = await streamErrors(reason);
    for (const body of bodies) {
      const status = await publishExpectingRefusal((c) => c.sendVideo(0, body));
      expect(status.code).toBe("NetStream.Publish.Rejected");
      expect(status.description).toContain(STREAM_ERROR_EXPLANATIONS[reason]);
    }
    const counted = (await streamErrors(reason)) - before;
    expect(counted).toBe(bodies.length);
    return { lost: `only the ${bodies.length} hostile publishes: each refused and told why (${counted} counted as ${reason})`, measured: { publishes: bodies.length, counted } };
  }

  beforeAll(async () => {
    ({ fixture, origin } = suite);
    audioOnlyClip = await makeTestClip(suite.dir, { seconds: 12, width: 160, height: 80 });
    tags = await readFlvTags(suite.clip);
    videoHeader = tags.find((t) => t.type === VIDEO && t.body[1] === 0)!;
  }, 120_000);

  test("a truncated H.264 sequence header (the header that crashed both origins) ends only that stream, with the reason", async () => {
    // 2 bytes: no record at all; 5: the record's first bytes missing; 7, 12: cut inside it (a 1-byte
    // video tag says too little to be a header and is ignored).
    await fixture.faultCase("rtmp-truncated-avc-header", "H.264 sequence headers cut to 2, 5, 7 and 12 bytes, each a publish's first tag", () =>
      expectVideoRefused("invalid-video-header", [2, 5, 7, 12].map((cut) => videoHeader.body.subarray(0, cut))),
    );
  }, 120_000);

  test("an SPS length past the end of the record, a wrong version, a NAL that is not an SPS and an unknown profile are refused as invalid headers", async () => {
    const altered = (at: number, value: number): Buffer => {
      const body = Buffer.from(videoHeader.body);
      body[at] = value;
      return body;
    };
    // The record starts at byte 5: [version][profile][compat][level][lengthSize][numSps][spsLen x2][SPS NAL header][profile_idc]…
    await fixture.faultCase("rtmp-malformed-avc-header", "H.264 sequence headers with an SPS length past the record, version 7, a PPS for the SPS, profile_idc 7", () =>
      expectVideoRefused("invalid-video-header", [altered(5 + 6, 0xff), altered(5, 7), altered(5 + 8, 0x68), altered(5 + 9, 0x07)]),
    );
  }, 120_000);

  test("HEVC as FLV codec 12 and over enhanced RTMP, and VP6, are refused as unsupported codecs instead of silently making no HLS", async () => {
    await fixture.faultCase("rtmp-foreign-video-codec", "HEVC as FLV codec 12 and over enhanced RTMP (hvc1), VP6", () =>
      expectVideoRefused("unsupported-video-codec", [
        Buffer.concat([Buffer.from([0x1c, 0, 0, 0, 0]), randomBytes(40)]),
        Buffer.concat([Buffer.from([0x90]), Buffer.from("hvc1"), randomBytes(40)]),
        Buffer.concat([Buffer.from([0x14]), randomBytes(200)]),
      ]),
    );
  }, 120_000);

  test("an audio-only publish from FFmpeg is refused with the reason, which FFmpeg prints; its recording is discarded", async () => {
    await fixture.faultCase("rtmp-audio-only", "an FFmpeg publish of audio only", async () => {
      const before = await streamErrors("no-video");
      const discardedBefore = await metric(origin.http, "live360_origin_recordings_total", 'result="discarded"');
      const publisher = await spawnPublisher(audioOnlyClip, ["-vn", "-c:a", "copy", "-f", "flv", `rtmp://127.0.0.1:${origin.rtmpPort}/live/${streamName()}`]);
      const code = await publisher.exited;
      expect(code).not.toBe(0);
      expect(publisher.stderr()).toContain(STREAM_ERROR_EXPLANATIONS["no-video"]);
      expect(await streamErrors("no-video")).toBe(before + 1);
      await waitFor("the refused stream's recording discarded", async () => (await metric(origin.http, "live360_origin_recordings_total", 'result="discarded"')) > discardedBefore, { timeoutMs: 20_000 });
      return { lost: `only the audio-only publish: refused (no-video), FFmpeg exited ${code} printing the reason, its recording discarded` };
    });
  }, 120_000);

  test("a refused publish name is told why over RTMP, before the connection closes", async () => {
    // The name taken is the healthy stream's own: the matrix's healthy column is the stream attacked.
    await fixture.faultCase("rtmp-name-taken", "a second publisher on the healthy stream's name", async () => {
      const client = await RtmpTestClient.connect(origin.rtmpPort);
      await client.publish("live", "healthy", { port: origin.rtmpPort });
      const refused = await client.nextStatus((s) => s.level === "error");
      expect(refused).toEqual({ level: "error", code: "NetStream.Publish.BadName", description: REFUSAL_EXPLANATIONS["already-publishing"] });
      await client.closed;
      return { lost: `only the intruder's connection: refused (${refused!.code}), told why` };
    });
  }, 60_000);

  test("a connect whose tcUrl is not a URL, and garbage chunks after a publish, close only that connection (counted)", async () => {
    await fixture.faultCase("rtmp-bad-tcurl-and-garbage", "a connect whose tcUrl is no URL; 256 KiB of random bytes after a publish and 20 tags", async () => {
      const before = await streamErrors("protocol-error");
      const badUrl = await RtmpTestClient.connect(origin.rtmpPort);
      await badUrl.publish("live", streamName(), { tcUrl: "::not a url::" });
      await badUrl.closed;
      expect(await streamErrors("protocol-error")).toBe(before + 1);

      const garbage = await RtmpTestClient.connect(origin.rtmpPort);
      expect((await garbage.publish("live", streamName(), { port: origin.rtmpPort }))?.code).toBe("NetStream.Publish.Start");
      sendFlvTags(garbage, tags.slice(0, 20));
      garbage.sendRaw(randomBytes(256 * 1024));
      await Promise.race([garbage.closed, new Promise((resolve) => setTimeout(resolve, 3000))]);
      const closedByOrigin = garbage.isClosed;
      await garbage.close();
      const counted = (await streamErrors("protocol-error")) - before;
      return {
        lost: `only the 2 hostile connections: the bad tcUrl closed (protocol-error), the garbage one ${closedByOrigin ? "closed by the origin" : "still open after 3 s, closed by the client"}; ${counted === 1 ? "1 protocol error" : `${counted} protocol errors`} counted`,
        measured: { protocolErrors: counted, garbageClosedByOrigin: closedByOrigin },
      };
    });
  }, 60_000);

  test("absurd and backwards timestamps do not take the origin down", async () => {
    await fixture.faultCase("rtmp-absurd-timestamps", "60 tags at 0xfffffc08 ms (about to wrap), again at 0, again at 0x7fffffff", async () => {
      const client = await RtmpTestClient.connect(origin.rtmpPort);
      expect((await client.publish("live", streamName(), { port: origin.rtmpPort }))?.code).toBe("NetStream.Publish.Start");
      sendFlvTags(client, tags.slice(0, 60), 0xfffffff0 - 1000);
      sendFlvTags(client, tags.slice(0, 60), 0);
      sendFlvTags(client, tags.slice(0, 60), 0x7fffffff);
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const statuses = client.statuses().map((s) => s.code);
      await client.close();
      return { lost: `only the hostile stream's own media (its statuses: ${statuses.join(", ")})` };
    });
  }, 60_000);
});

describe("ingest limits, enforced before any publish is authorized", () => {
  // Whatever a limit test did, the healthy stream (one of the connections from 127.0.0.1) goes on.
  const suite = healthyOriginSuite("limits", { seconds: 4, gopSeconds: 1, width: 320, height: 160, videoKbps: 200 }, [
    "--max-connections", "6", "--max-connections-per-address", "3", "--max-streams", "2",
    "--rtmp-publish-timeout", "2", "--rtmp-idle-timeout", "3", "--max-rtmp-message-bytes", "65536", "--max-chunk-streams", "8",
  ], { checkAfterEach: true });
  let origin: OriginProcess;
  let fixture: OriginWithHealthyStream;
  beforeAll(() => {
    ({ origin, fixture } = suite);
  });

  const limitHits = (limit: string): Promise<number> => metric(origin.http, "live360_origin_ingest_limits_total", `limit="${limit}"`);
  /** A TCP connection that says nothing: resolves true when the origin closes it within `ms`. */
  async function closedWithin(socket: Socket, ms: number): Promise<boolean> {
    if (socket.destroyed || socket.readableEnded) return true;
    return Promise.race([once(socket, "close").then(() => true), new Promise<boolean>((resolve) => setTimeout(resolve, ms, false))]);
  }
  const rawConnection = async (localAddress: string): Promise<Socket> => {
    const socket = connect({ port: origin.rtmpPort, host: "127.0.0.1", localAddress });
    socket.on("error", () => undefined);
    await once(socket, "connect");
    return socket;
  };


  test("connections per address and in all are capped; the ones over the cap are closed at once and counted", async () => {
    await fixture.faultCase("rtmp-connection-flood", "RTMP connections over --max-connections-per-address 3 and --max-connections 6", async () => {
      const [perAddressBefore, totalBefore] = [await limitHits("max-connections-per-address"), await limitHits("max-connections")];
      const held: Socket[] = [];
      try {
        // 127.0.0.2 may hold 3; the 4th is refused.
        for (let i = 0; i < 3; i++) held.push(await rawConnection("127.0.0.2"));
        const fourth = await rawConnection("127.0.0.2");
        expect(await closedWithin(fourth, 2000)).toBe(true);
        expect(await limitHits("max-connections-per-address")).toBe(perAddressBefore + 1);
        // The healthy publisher (127.0.0.1) + 3 + 2 from 127.0.0.3 = 6: the next from anywhere is refused.
        for (let i = 0; i < 2; i++) held.push(await rawConnection("127.0.0.3"));
        const seventh = await rawConnection("127.0.0.4");
        expect(await closedWithin(seventh, 2000)).toBe(true);
        expect(await limitHits("max-connections")).toBe(totalBefore + 1);
      } finally {
        for (const socket of held) socket.destroy();
      }
      return { lost: "only the 2 connections over the caps: closed on accept, each counted (max-connections-per-address, max-connections)" };
    });
  }, 60_000);

  test("a client that never publishes is closed at the publish timeout, one that falls silent at the idle timeout", async () => {
    await fixture.faultCase("rtmp-silent-clients", "a connection that never publishes; a publisher that falls silent", async () => {
      const [publishBefore, idleBefore] = [await limitHits("publish-timeout"), await limitHits("idle-timeout")];
      const silent = await rawConnection("127.0.0.5");
      expect(await closedWithin(silent, 1000)).toBe(false);
      expect(await closedWithin(silent, 4000)).toBe(true);
      expect(await limitHits("publish-timeout")).toBe(publishBefore + 1);

      const client = await RtmpTestClient.connect(origin.rtmpPort, { localAddress: "127.0.0.5" });
      expect((await client.publish("live", "goes-silent", { port: origin.rtmpPort }))?.code).toBe("NetStream.Publish.Start");
      await Promise.race([client.closed, new Promise((resolve) => setTimeout(resolve, 8000))]);
      expect(client.isClosed).toBe(true);
      expect(await limitHits("idle-timeout")).toBe(idleBefore + 1);
      return { lost: "only the 2 silent connections: closed at the publish timeout (2 s) and the idle timeout (3 s), each counted" };
    });
  }, 60_000);

  test("a message longer than the limit, too many chunk streams and a chunk size of 0 end only that connection", async () => {
    await fixture.faultCase("rtmp-chunk-abuse", "a 70 000-byte message (limit 65 536), 20 chunk stream ids (limit 8), chunk size 0", async () => {
      const [longBefore, chunkStreamsBefore, protocolBefore] = [await limitHits("message-too-long"), await limitHits("too-many-chunk-streams"), await metric(origin.http, "live360_origin_stream_errors_total", 'reason="protocol-error"')];
      const long = await RtmpTestClient.connect(origin.rtmpPort, { localAddress: "127.0.0.6" });
      await long.publish("live", "too-long", { port: origin.rtmpPort });
      long.sendVideo(0, randomBytes(70_000));
      await long.closed;
      expect(await limitHits("message-too-long")).toBe(longBefore + 1);

      const many = await RtmpTestClient.connect(origin.rtmpPort, { localAddress: "127.0.0.6" });
      // Window acknowledgement sizes (type 5): harmless messages, each on a chunk stream of its own.
      for (let csid = 10; csid < 30; csid++) many.writeMessage(csid, 5, 0, 0, Buffer.from([0, 0, 0x10, 0]));
      await many.closed;
      expect(await limitHits("too-many-chunk-streams")).toBe(chunkStreamsBefore + 1);

      const zero = await RtmpTestClient.connect(origin.rtmpPort, { localAddress: "127.0.0.6" });
      zero.writeMessage(2, 1, 0, 0, Buffer.from([0, 0, 0, 0]));
      await zero.closed;
      expect(await metric(origin.http, "live360_origin_stream_errors_total", 'reason="protocol-error"')).toBe(protocolBefore + 1);
      return { lost: "only the 3 abusive connections, each closed and counted (message-too-long, too-many-chunk-streams, protocol-error)" };
    });
  }, 60_000);

  test("a publish beyond --max-streams is refused, with the reason sent to the publisher", async () => {
    // Streams of the tests before (ended, in their 1 s reconnect grace) count until they expire.
    await waitFor("only the healthy stream on the origin", async () => JSON.parse((await getText(`${origin.http}/stat`)).body).streams.length === 1, { timeoutMs: 20_000 });
    await fixture.faultCase("rtmp-too-many-streams", "a third stream's publish with --max-streams 2", async () => {
      const second = await RtmpTestClient.connect(origin.rtmpPort, { localAddress: "127.0.0.7" });
      const third = await RtmpTestClient.connect(origin.rtmpPort, { localAddress: "127.0.0.7" });
      try {
        expect((await second.publish("live", "second", { port: origin.rtmpPort }))?.code).toBe("NetStream.Publish.Start");
        await third.publish("live", "third", { port: origin.rtmpPort });
        const refused = await third.nextStatus((s) => s.level === "error");
        expect(refused).toEqual({ level: "error", code: "NetStream.Publish.Rejected", description: REFUSAL_EXPLANATIONS["too-many-streams"] });
        expect(await metric(origin.http, "live360_origin_publish_refused_total", 'reason="too-many-streams"')).toBe(1);
      } finally {
        await second.close();
        await third.close();
      }
      return { lost: "only the third publish: refused (too-many-streams), told why; the second stream was accepted" };
    });
  }, 60_000);
});
