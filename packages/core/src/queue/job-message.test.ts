import { describe, expect, test } from "@jest/globals";
import {
  formatRecordingJob,
  InvalidJobMessageError,
  parseJobMessage,
  recordingFromMetadata,
  recordingToMetadata,
  type RecordingInfo,
} from "./job-message.js";

const recording: RecordingInfo = {
  stream: "test",
  startedAt: new Date("2026-11-24T13:55:44.000Z"),
  durationSeconds: 12.48,
  projection: "equirectangular",
};

/** An `s3:ObjectCreated:Put` notification as S3 delivers it to SQS (shape from the AWS docs). */
function s3Event(key: string, overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    Records: [
      {
        eventVersion: "2.1",
        eventSource: "aws:s3",
        awsRegion: "eu-west-1",
        eventTime: "2026-11-24T13:56:01.123Z",
        eventName: "ObjectCreated:CompleteMultipartUpload",
        s3: {
          s3SchemaVersion: "1.0",
          configurationId: "recordings",
          bucket: { name: "live360-ingest", arn: "arn:aws:s3:::live360-ingest" },
          object: { key, size: 7340032, eTag: "0123456789abcdef0123456789abcdef-2", sequencer: "0055AED6DCD90281E5" },
        },
        ...overrides,
      },
    ],
  });
}

/** The reason parseJobMessage gives for `body`; fails the test if it accepts it. */
function reasonFor(body: string): string {
  try {
    parseJobMessage(body);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidJobMessageError);
    expect((error as InvalidJobMessageError).body).toBe(body);
    return (error as InvalidJobMessageError).reason;
  }
  throw new Error(`accepted ${body}`);
}

describe("job messages", () => {
  test("live360's own message round-trips through format and parse", () => {
    const body = formatRecordingJob({ bucket: "live360-ingest", key: "recordings/test/20261124T135544Z.mp4", recording });
    expect(JSON.parse(body)).toMatchObject({ type: "live360.recording", version: 1, startedAt: "2026-11-24T13:55:44.000Z" });
    expect(parseJobMessage(body)).toEqual({
      kind: "job",
      job: { bucket: "live360-ingest", key: "recordings/test/20261124T135544Z.mp4", source: "live360", recording },
    });
  });

  test("an S3 ObjectCreated event becomes a job for its object, with the size", () => {
    expect(parseJobMessage(s3Event("recordings/test/20261124T135544Z.mp4"))).toEqual({
      kind: "job",
      job: { bucket: "live360-ingest", key: "recordings/test/20261124T135544Z.mp4", source: "s3-event", sizeBytes: 7340032 },
    });
  });

  test("URL-encoded keys in S3 events are decoded ('+' is a space)", () => {
    const parsed = parseJobMessage(s3Event("recordings/my+show/caf%C3%A9%3A1%2B1.mp4"));
    expect(parsed.kind === "job" && parsed.job.key).toBe("recordings/my show/café:1+1.mp4");
  });

  test("S3's test event is recognised as not a job", () => {
    const body = JSON.stringify({ Service: "Amazon S3", Event: "s3:TestEvent", Time: "2026-11-24T13:00:00.000Z", Bucket: "live360-ingest" });
    expect(parseJobMessage(body)).toEqual({ kind: "s3-test-event" });
  });

  test("bad messages are refused with a reason that says what is wrong", () => {
    expect(reasonFor("{not json")).toMatch(/^not JSON/);
    expect(reasonFor("[1,2]")).toBe("not a JSON object");
    expect(reasonFor(JSON.stringify({ hello: "world" }))).toMatch(/neither a live360 job.*nor an S3 event/);
    const own = JSON.parse(formatRecordingJob({ bucket: "live360-ingest", key: "recordings/test/a.mp4", recording })) as Record<string, unknown>;
    expect(reasonFor(JSON.stringify({ ...own, type: "live360.thumbnail" }))).toMatch(/unknown type "live360.thumbnail"; expected "live360.recording"/);
    expect(reasonFor(JSON.stringify({ ...own, version: 2 }))).toMatch(/unsupported version 2; this worker understands version 1/);
    expect(reasonFor(JSON.stringify({ ...own, bucket: "Not_A_Bucket" }))).toMatch(/bucket "Not_A_Bucket"/);
    expect(reasonFor(JSON.stringify({ ...own, key: "" }))).toBe("no object key");
    expect(reasonFor(JSON.stringify({ ...own, stream: "Bad Stream" }))).toMatch(/stream "Bad Stream" does not match/);
    expect(reasonFor(JSON.stringify({ ...own, startedAt: "yesterday" }))).toMatch(/startedAt "yesterday" is not an ISO 8601/);
    expect(reasonFor(JSON.stringify({ ...own, durationSeconds: 0 }))).toMatch(/durationSeconds 0 is not a positive number/);
    expect(reasonFor(JSON.stringify({ ...own, projection: "fisheye" }))).toMatch(/projection "fisheye" is not one of equirectangular, cubemap, flat/);
  });

  test("S3 events that are not one object-created record are refused with a reason", () => {
    expect(reasonFor(s3Event("a.mp4", { eventName: "ObjectRemoved:Delete" }))).toMatch(/"ObjectRemoved:Delete" is not an s3:ObjectCreated/);
    expect(reasonFor(JSON.stringify({ Records: [] }))).toMatch(/0 records; expected exactly 1/);
    expect(reasonFor(s3Event("bad%ZZkey.mp4"))).toMatch(/"bad%ZZkey.mp4" is not valid URL encoding/);
    expect(reasonFor(s3Event("a.mp4", { s3: { bucket: { name: "live360-ingest" }, object: {} } }))).toMatch(/no s3.object.key/);
  });

  test("the error message quotes the offending body, shortened", () => {
    const long = `{"type":"x","padding":"${"p".repeat(500)}"}`;
    expect(() => parseJobMessage(long)).toThrow(new RegExp(`unknown type "x".*\\(${long.length} characters\\)`));
  });

  test("recording metadata round-trips through S3 user metadata and is checked on the way back", () => {
    const metadata = recordingToMetadata(recording);
    expect(metadata).toEqual({ stream: "test", "started-at": "2026-11-24T13:55:44.000Z", "duration-seconds": "12.48", projection: "equirectangular" });
    expect(recordingFromMetadata(metadata, "s3://live360-ingest/a.mp4")).toEqual(recording);
    expect(() => recordingFromMetadata({ ...metadata, "duration-seconds": "abc" }, "s3://live360-ingest/a.mp4")).toThrow(
      /object metadata: durationSeconds NaN is not a positive number/,
    );
    expect(() => recordingFromMetadata({}, "s3://live360-ingest/a.mp4")).toThrow(InvalidJobMessageError);
  });

  test("an encrypted stream's recording says so in the message and the metadata, and nothing else is taken for it", () => {
    const secretOne: RecordingInfo = { ...recording, encrypted: true };
    const body = formatRecordingJob({ bucket: "live360-ingest", key: "recordings/test/20261124T135544Z.mp4", recording: secretOne });
    expect(JSON.parse(body)).toMatchObject({ encrypted: true });
    expect(parseJobMessage(body)).toMatchObject({ job: { recording: secretOne } });
    // A clear recording's message and metadata carry no field at all (older workers read them as before).
    expect(JSON.parse(formatRecordingJob({ bucket: "live360-ingest", key: "k.mp4", recording }))).not.toHaveProperty("encrypted");
    expect(recordingToMetadata(recording)).not.toHaveProperty("encrypted");
    expect(recordingToMetadata(secretOne)).toMatchObject({ encrypted: "true" });
    expect(recordingFromMetadata(recordingToMetadata(secretOne), "s3://live360-ingest/a.mp4")).toEqual(secretOne);
    expect(reasonFor(JSON.stringify({ ...JSON.parse(body), encrypted: "yes" }))).toBe('encrypted "yes" is not true (leave it out for a clear recording)');
    expect(() => recordingFromMetadata({ ...recordingToMetadata(recording), encrypted: "no" }, "s3://live360-ingest/a.mp4")).toThrow(/encrypted "no" is not true/);
  });
});
