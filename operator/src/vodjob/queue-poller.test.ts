import { describe, expect, test } from "@jest/globals";
import { EncryptedElsewhereError, recordingEncryption, recordingStream, vodJobForSource, type EncryptedLiveEvent } from "./queue-poller.js";
import { resolveVodJobSettings } from "./settings.js";

const settings = resolveVodJobSettings({ namespace: "vod" });
const encrypted = (namespace: string, name: string, secret: string): EncryptedLiveEvent => ({
  namespace,
  name,
  encryption: { secretRef: { name: secret, key: "secret" }, rotationSegments: 10 },
});

describe("a queue-made VodJob's encryption (the poller's pure part; reconcile.test.ts runs it against a real API server and SQS)", () => {
  test("an encrypted LiveEvent of the stream in the VodJobs' namespace: the VodJob is encrypted as it is", () => {
    const here = encrypted("vod", "demo", "demo-hls");
    const encryption = recordingEncryption("demo", [encrypted("media", "demo", "other-hls"), here], "vod");
    expect(encryption).toEqual(here.encryption);
    const manifest = vodJobForSource("s3://ingest/recordings/demo/20260101T000000Z.mp4", settings, { stream: "demo" }, encryption);
    expect(manifest.spec.hls).toEqual({ encryption: here.encryption });
    // Two events of one stream in that namespace: the same one every time.
    expect(recordingEncryption("demo", [encrypted("vod", "b", "b-hls"), encrypted("vod", "a", "a-hls")], "vod")?.secretRef.name).toBe("a-hls");
  });

  test("encrypted only in another namespace: no VodJob, and the reason names both namespaces and the fix", () => {
    const refuse = () => recordingEncryption("demo", [encrypted("media", "demo", "demo-hls")], "vod");
    expect(refuse).toThrow(EncryptedElsewhereError);
    expect(refuse).toThrow("put the LiveEvent in vod or create the VodJob by hand in its namespace (media)");
    expect(refuse).toThrow("LiveEvent media/demo");
  });

  test("no encrypted event of the stream, but the origin says it encrypted the stream live (the event was deleted meanwhile): no VodJob, never a clear one", () => {
    const refuse = () => recordingEncryption("demo", [], "vod", true);
    expect(refuse).toThrow(EncryptedElsewhereError);
    expect(refuse).toThrow("stream demo was encrypted live");
    expect(refuse).toThrow("re-create the LiveEvent with its spec.hls.encryption in vod, or create the VodJob by hand with spec.hls.encryption");
    // An encrypted event of the stream in the namespace is all it takes.
    expect(recordingEncryption("demo", [encrypted("vod", "demo", "demo-hls")], "vod", true)?.secretRef.name).toBe("demo-hls");
  });

  test("no encrypted event of the stream: a clear VodJob, as before", () => {
    expect(recordingEncryption("demo", [], "vod")).toBeUndefined();
    expect(recordingEncryption("demo", [], "vod", false)).toBeUndefined();
    expect(vodJobForSource("s3://ingest/recordings/demo/20260101T000000Z.mp4", settings, { stream: "demo" }).spec).not.toHaveProperty("hls");
  });

  test("the stream comes from live360's message, else from the origin's key layout (an S3 event names only the object)", () => {
    expect(recordingStream("recordings/cam/20260101T000000Z.mp4", { stream: "demo" })).toBe("demo");
    expect(recordingStream("recordings/cam/20260101T000000Z.mp4")).toBe("cam");
    expect(recordingStream("uploads/cam/20260101T000000Z.mp4")).toBeUndefined();
    expect(recordingStream("recordings/Not_A_Stream/20260101T000000Z.mp4")).toBeUndefined();
    expect(recordingStream("recordings/cam/nested/20260101T000000Z.mp4")).toBeUndefined();
  });
});
