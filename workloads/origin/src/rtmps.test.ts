/**
 * RTMPS ingest against real encoders: FFmpeg and GStreamer publish over TLS with a publish key,
 * and a TCP tap between encoder and origin proves the key never crosses the wire in clear text.
 * Plain RTMP or garbage sent to the TLS port, and a handshake that never finishes, end only that
 * connection; a renewed certificate is served to new connections while the live one keeps going.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { copyFile } from "node:fs/promises";
import { connect as connectTcp, createServer, type Server, type Socket } from "node:net";
import { connect as connectTls } from "node:tls";
import { createLogger, parseLadder } from "@live360/core";
import {
  freePort,
  loopbackOrigin,
  getText,
  makeTestClip,
  publishFile,
  selfSignedCertificate,
  startProcess,
  tempDir,
  waitFor,
  type ManagedProcess,
  type Publisher,
  type TestCertificate,
} from "@live360/testkit";
import { resolveOriginConfig } from "./config.js";
import { metric } from "./healthy-origin.fixture.js";
import { startOrigin, type Origin } from "./origin.js";

const quiet = { logger: createLogger("origin", { level: process.env.LIVE360_LOG_LEVEL === "debug" ? "debug" : "error" }) };
const KEY = "tls-only-key-5e1d08c3b7a2f946";

/** A TCP tap: forwards to `target` and keeps every byte the client sent. */
async function tap(target: number): Promise<{ port: number; sent: () => Buffer; close: () => Promise<void> }> {
  const chunks: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connectTcp(target, "127.0.0.1");
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => s.destroy());
      s.on("close", () => sockets.delete(s));
    }
    client.on("data", (d: Buffer) => chunks.push(d));
    client.pipe(upstream).pipe(client);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    port,
    sent: () => Buffer.concat(chunks),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The SHA-256 fingerprint of the certificate a TLS listener presents now. */
function presentedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connectTls({ port, host: "127.0.0.1", rejectUnauthorized: false }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.end();
    });
    socket.on("error", reject);
  });
}

describe("RTMPS ingest", () => {
  let dir: string;
  let clip: string;
  let origin: Origin;
  let http: string;
  let rtmpsPort: number;
  let certificate: TestCertificate;
  let live: Publisher;
  let wire: Awaited<ReturnType<typeof tap>> | undefined;

  const segments = async (stream: string) => (await getText(`${http}/hls/${stream}/source/index.m3u8`)).body.split("\n").filter((l) => l.endsWith(".ts"));
  const advancing = async (stream: string) => {
    const before = (await segments(stream)).at(-1);
    await waitFor(`${stream}'s next segment`, async () => (await segments(stream)).at(-1) !== before, { timeoutMs: 20_000, intervalMs: 250 });
  };

  beforeAll(async () => {
    dir = await tempDir("rtmps");
    clip = await makeTestClip(dir, { seconds: 4, gopSeconds: 1 });
    certificate = await selfSignedCertificate(dir, "first");
    const local = await loopbackOrigin(dir);
    rtmpsPort = await freePort();
    const config = resolveOriginConfig({
      ...local.settings,
      ladder: parseLadder("ladder", "source"),
      allowedStreams: ["secure", "gst"],
      publishKeys: new Map([["secure", KEY], ["gst", KEY]]),
      rtmps: { port: rtmpsPort, certFile: certificate.certFile, keyFile: certificate.keyFile, reloadIntervalSeconds: 0.2 },
      limits: { publishTimeoutSeconds: 3 },
    });
    origin = await startOrigin(config, quiet);
    http = local.http;
  }, 60_000);

  afterAll(async () => {
    await live?.stop();
    await wire?.close();
    await origin?.close();
  }, 60_000);

  test("FFmpeg publishes over RTMPS with its key: the stream plays, and what crossed the wire is TLS, without the key or the stream name in it", async () => {
    // The tap stays for the whole suite: the publisher's connection runs through it.
    wire = await tap(rtmpsPort);
    live = await publishFile(clip, `rtmps://127.0.0.1:${wire.port}/live/secure?key=${KEY}`, { loop: true });
    await waitFor("segments of the stream published over TLS", async () => (await segments("secure")).length > 0, { timeoutMs: 45_000, intervalMs: 250 });
    const sent = wire.sent();
    // A TLS handshake record opens the connection (content type 22, version 3.x) ...
    expect([sent[0], sent[1]]).toEqual([0x16, 0x03]);
    // ... and nothing the encoder sent is readable: not the key, not the RTMP connect command.
    expect(sent.includes(Buffer.from(KEY))).toBe(false);
    expect(sent.includes(Buffer.from("connect"))).toBe(false);
    expect(sent.includes(Buffer.from("secure"))).toBe(false);
  }, 90_000);

  test("GStreamer (rtmp2sink) publishes over RTMPS too", async () => {
    const VIDEO = "videotestsrc is-live=true ! video/x-raw,width=320,height=160,framerate=25/1 ! x264enc tune=zerolatency speed-preset=veryfast key-int-max=25 bitrate=300 ! h264parse";
    const AUDIO = "audiotestsrc is-live=true ! audioconvert ! audioresample ! avenc_aac bitrate=64000 ! aacparse";
    // The test certificate is self-signed: validation off, as for an encoder told to trust it.
    const sink = `rtmp2sink location=rtmps://127.0.0.1:${rtmpsPort}/live/gst?key=${KEY} tls-validation-flags=0`;
    const pipeline = ["-q", ...VIDEO.split(" "), "!", "queue", "!", "m.", ...AUDIO.split(" "), "!", "queue", "!", "m.", "flvmux", "name=m", "streamable=true", "!", ...sink.split(" ")];
    let encoder: ManagedProcess | undefined;
    try {
      encoder = startProcess("gst-launch-1.0", pipeline);
      await waitFor("segments of GStreamer's stream", async () => (await segments("gst")).length > 1, { timeoutMs: 60_000, intervalMs: 500 });
    } finally {
      await encoder?.stop();
    }
  }, 90_000);

  test("plain RTMP, garbage and a stalled handshake on the RTMPS port end only that connection, counted; the stream over TLS goes on", async () => {
    const before = await metric(http, "live360_origin_stream_errors_total", 'reason="protocol-error"');
    // An encoder set to rtmp:// on the TLS port: its RTMP handshake is no TLS ClientHello.
    const plain = await publishFile(clip, `rtmp://127.0.0.1:${rtmpsPort}/live/secure?key=${KEY}`);
    expect(await plain.exited).not.toBe(0);
    const garbage = connectTcp(rtmpsPort, "127.0.0.1");
    garbage.on("error", () => undefined);
    garbage.write(Buffer.alloc(4096, 0xab));
    await waitFor("both to be counted", async () => (await metric(http, "live360_origin_stream_errors_total", 'reason="protocol-error"')) >= before + 2, { timeoutMs: 15_000 });
    garbage.destroy();
    // A client that opens TLS and says nothing is cut at the publish timeout (3 s here).
    const silent = connectTcp(rtmpsPort, "127.0.0.1");
    silent.on("error", () => undefined);
    const closed = await new Promise<boolean>((resolve) => {
      silent.on("close", () => resolve(true));
      setTimeout(() => resolve(false), 15_000);
    });
    expect(closed).toBe(true);
    await advancing("secure");
  }, 60_000);

  test("a renewed certificate is presented to new connections without a restart, and the live publisher keeps its connection", async () => {
    const first = await presentedFingerprint(rtmpsPort);
    const renewed = await selfSignedCertificate(dir, "renewed");
    // As the kubelet updates a mounted Secret: both files replaced.
    await copyFile(renewed.keyFile, certificate.keyFile);
    await copyFile(renewed.certFile, certificate.certFile);
    const next = await waitFor("the renewed certificate to be presented", async () => {
      const fingerprint = await presentedFingerprint(rtmpsPort);
      return fingerprint !== first ? fingerprint : undefined;
    }, { timeoutMs: 15_000, intervalMs: 200 });
    expect(next).not.toBe(first);
    expect(live.process.exitCode).toBeNull();
    await advancing("secure");
  }, 60_000);
});
