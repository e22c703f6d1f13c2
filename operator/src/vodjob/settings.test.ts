import { describe, expect, test } from "@jest/globals";
import { ConfigError } from "@live360/core";
import { applyDefaults } from "../api/schema.js";
import { ACTIVE_DEADLINE_SECONDS, vodJobSpec } from "../api/v1alpha1/index.js";
import { defaultJobDeadlineSeconds, vodJobForSource } from "./queue-poller.js";
import { resolveVodJobSettings } from "./settings.js";

const SOURCE = "s3://ingest/recordings/cam1/20260701T180000Z.mp4";

describe("VOD settings", () => {
  test("a heartbeat slower than half the visibility timeout is refused with the fix", () => {
    expect(() => resolveVodJobSettings({ visibilityTimeoutSeconds: 60, heartbeatSeconds: 40 })).toThrow(
      /vod.heartbeatSeconds=40: use at most half of vod.visibilityTimeoutSeconds \(30 s\)/,
    );
    expect(() => resolveVodJobSettings({ maxConcurrentJobs: 0 })).toThrow(/vod.maxConcurrentJobs/);
  });

  test("no VodJob defaults unless set: a queue-made VodJob names its source and a deadline, and gets the CRD's defaults", () => {
    const settings = resolveVodJobSettings({ namespace: "media" });
    expect(JSON.parse(JSON.stringify(vodJobForSource(SOURCE, settings).spec))).toEqual({ source: SOURCE, activeDeadlineSeconds: 86_400 });
    // Empty lists ask for nothing rather than for a pod without requests.
    expect(resolveVodJobSettings({ jobResources: { requests: {}, limits: {} }, jobNodeSelector: {} })).toMatchObject({ jobResources: undefined, jobNodeSelector: undefined });
    expect(applyDefaults(vodJobSpec, vodJobForSource(SOURCE, settings).spec).resources).toEqual({ requests: { cpu: "2", memory: "2Gi" }, limits: { memory: "4Gi" } });
  });

  test("a queue-made VodJob is bounded by default: every attempt at the worker's transcode deadline (the recording × 4, at least 120 s) plus 15 min, within the CRD's limits", () => {
    const settings = resolveVodJobSettings({ namespace: "media" });
    const deadline = (durationSeconds?: number) => vodJobForSource(SOURCE, settings, { stream: "cam1", durationSeconds }).spec.activeDeadlineSeconds;
    // 4 attempts (backoffLimit 3) × 120 s + 900 s.
    expect(deadline(10)).toBe(4 * 120 + 900);
    // One hour: 4 × 4 h + 15 min.
    expect(deadline(3600)).toBe(4 * 14_400 + 900);
    expect(defaultJobDeadlineSeconds(10 * 86_400)).toBe(604_800);
    // Length unknown (a message without it): a day.
    expect(deadline(undefined)).toBe(86_400);
    // Every value is one the CRD accepts.
    for (const seconds of [deadline(0.5), deadline(10), deadline(3600), defaultJobDeadlineSeconds(10 * 86_400)]) {
      expect(seconds).toBeGreaterThanOrEqual(ACTIVE_DEADLINE_SECONDS.minimum);
      expect(seconds).toBeLessThanOrEqual(ACTIVE_DEADLINE_SECONDS.maximum);
    }
  });

  test("set, they go into the spec of every queue-made VodJob, replacing the CRD's defaults", () => {
    const settings = resolveVodJobSettings({
      jobResources: { requests: { cpu: "250m", memory: "512Mi" }, limits: { memory: "1Gi" } },
      jobCapacityType: "onDemand",
      jobNodeSelector: { "kubernetes.io/arch": "amd64", disk: "" },
      jobActiveDeadlineSeconds: 3600,
      // Zero is a TTL (Jobs deleted as soon as they finish), not "unset".
      jobTtlSecondsAfterFinished: 0,
    });
    const spec = applyDefaults(vodJobSpec, vodJobForSource(SOURCE, settings).spec);
    expect(spec).toMatchObject({
      source: SOURCE,
      resources: { requests: { cpu: "250m", memory: "512Mi" }, limits: { memory: "1Gi" } },
      capacityType: "onDemand",
      nodeSelector: { "kubernetes.io/arch": "amd64", disk: "" },
      activeDeadlineSeconds: 3600,
      ttlSecondsAfterFinished: 0,
      // What the settings do not name keeps the CRD's default.
      backoffLimit: 3,
    });
    // A request may equal its limit, in whatever units.
    expect(resolveVodJobSettings({ jobResources: { requests: { cpu: "1000m", memory: "1024Mi" }, limits: { cpu: "1", memory: "1Gi" } } }).jobResources).toBeDefined();
  });

  test("bad VodJob defaults name the field, the value and the fix", () => {
    const refused: [Parameters<typeof resolveVodJobSettings>[0], RegExp][] = [
      [{ jobResources: { requests: { cpu: "2 cores" } } }, /vod\.jobResources\.requests\.cpu="2 cores": give a CPU quantity in cores \("1"\) or millicores \("250m"\)/],
      [{ jobResources: { limits: { memory: "1GB" } } }, /vod\.jobResources\.limits\.memory="1GB": give a memory quantity such as "512Mi"/],
      [{ jobResources: { requests: { memory: "-1Gi" } } }, /vod\.jobResources\.requests\.memory="-1Gi": give a memory quantity/],
      [{ jobResources: { requests: { gpu: "1" } as never } }, /vod\.jobResources\.requests\.gpu="1": set cpu and memory only/],
      [
        { jobResources: { requests: { cpu: "1500m", memory: "2Gi" }, limits: { cpu: "1", memory: "4Gi" } } },
        /vod\.jobResources\.requests\.cpu="1500m": request at most vod\.jobResources\.limits\.cpu \(1\)/,
      ],
      [{ jobResources: { requests: { memory: "2Gi" }, limits: { memory: "1Gi" } } }, /vod\.jobResources\.requests\.memory="2Gi": request at most vod\.jobResources\.limits\.memory \(1Gi\)/],
      [{ jobCapacityType: "reserved" as never }, /vod\.jobCapacityType="reserved": use one of spot, onDemand/],
      [{ jobNodeSelector: { "node type": "big" } }, /vod\.jobNodeSelector="node type": give node label keys as \[prefix\/\]name/],
      [{ jobNodeSelector: { "Example.com/arch": "amd64" } }, /vod\.jobNodeSelector="Example\.com\/arch": give node label keys/],
      [{ jobNodeSelector: { "kubernetes.io/arch": "amd64/v2" } }, /vod\.jobNodeSelector\.kubernetes\.io\/arch="amd64\/v2": give a label value/],
      [{ jobNodeSelector: { pool: "x".repeat(64) } }, /vod\.jobNodeSelector\.pool="x{64}": give a label value: at most 63/],
      [{ jobNodeSelector: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`label-${i}`, "x"])) }, /vod\.jobNodeSelector=.*: name at most 16 labels/],
      [{ jobActiveDeadlineSeconds: 30 }, /vod\.jobActiveDeadlineSeconds=30: use a number from 60 to 604800/],
      [{ jobTtlSecondsAfterFinished: 1.5 }, /vod\.jobTtlSecondsAfterFinished=1\.5: use a whole number from 0 to 2592000/],
    ];
    for (const [input, message] of refused) {
      expect(() => resolveVodJobSettings(input)).toThrow(ConfigError);
      expect(() => resolveVodJobSettings(input)).toThrow(message);
    }
  });
});
