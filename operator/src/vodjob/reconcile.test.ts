/**
 * The VodJob controller and queue poller in the operator's manager, against a real control plane
 * (kube-apiserver, controller-manager with the Job controller, scheduler, kwok nodes that run and
 * complete Job pods) and a real SQS server (ElasticMQ with a dead-letter queue).
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { BatchV1Api, CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type ApiException, type KubeConfig, type V1Job } from "@kubernetes/client-node";
import { SqsQueue, createLogger, formatRecordingJob, sleep } from "@live360/core";
import {
  installCustomResourceDefinitions,
  kubeConfigFor,
  recordAwsCalls,
  startApiProxy,
  startCluster,
  startSqsServer,
  stopCluster,
  unlistedPermissions,
  waitFor,
  type ApiProxy,
  type LocalCluster,
  type SqsServer,
} from "@live360/testkit";
import { CRDS_DIR } from "../api/crd.js";
import { API_VERSION, GROUP, VERSION, type LiveEventSpecInput, type VodJob, type VodJobSpecInput } from "../api/v1alpha1/index.js";
import { resolveOperatorConfig } from "../config.js";
import { Manager } from "../manager.js";
import { QUEUE_LEASE_FINALIZER, vodJobName } from "./queue-poller.js";
import { vodJobController } from "./reconcile.js";
import { resolveVodJobSettings } from "./settings.js";

const NS = "vod";
/** Where LiveEvents live that the VodJobs' namespace cannot take Secrets from. */
const OTHER_NS = "media";
/** What the operator logged, for the reasons of refused messages; errors are shown as before. */
const logLines: string[] = [];
const debug = process.env.LIVE360_LOG_LEVEL === "debug";
const logger = createLogger("vodjob-test", {
  level: debug ? "debug" : "warn",
  sink: (line) => {
    logLines.push(line);
    if (debug || (JSON.parse(line) as { level: string }).level === "error") process.stderr.write(line + "\n");
  },
});
const signing = { signing: { secretRef: { name: "signing" } } };
const hlsSecret = (name: string) => ({ secretRef: { name } });
/**
 * LiveEvents whose streams' recordings the tests below send, made before the operator starts so
 * its cache holds them when the first message comes (no LiveEvent controller runs: just objects).
 */
const LIVE_EVENTS: { namespace: string; name: string; spec: LiveEventSpecInput }[] = [
  { namespace: NS, name: "enc", spec: { streamName: "enc", hls: { encryption: { ...hlsSecret("enc-hls"), rotationSegments: 4 } }, playback: signing } },
  // The same stream encrypted in another namespace too: the VodJobs' namespace wins.
  { namespace: OTHER_NS, name: "enc", spec: { streamName: "enc", hls: { encryption: hlsSecret("media-hls") }, playback: signing } },
  { namespace: OTHER_NS, name: "elsewhere", spec: { streamName: "elsewhere", hls: { encryption: hlsSecret("media-hls") }, playback: signing } },
  // A clear event of that stream in the VodJobs' namespace does not make its recordings clear.
  { namespace: NS, name: "elsewhere-clear", spec: { streamName: "elsewhere" } },
  { namespace: NS, name: "plain", spec: { streamName: "plain" } },
];
// The first run may build the control plane from source; later starts take seconds.
const START_TIMEOUT_MS = 60 * 60_000;
const converge = { timeoutMs: 120_000, intervalMs: 250 };
/** What the operator puts into every VodJob it makes from a message (Helm vod.job*): on-demand-c is the only node in us-east-1c. */
const JOB_DEFAULTS = {
  jobResources: { requests: { cpu: "250m", memory: "512Mi" }, limits: { memory: "1Gi" } },
  jobCapacityType: "onDemand",
  jobNodeSelector: { "topology.kubernetes.io/zone": "us-east-1c" },
  jobActiveDeadlineSeconds: 3600,
  jobTtlSecondsAfterFinished: 7200,
} as const;

describe("VodJobs from the VOD queue (real API server, kwok, ElasticMQ)", () => {
  let cluster: LocalCluster;
  let kc: KubeConfig;
  let sqs: SqsServer;
  let queue: SqsQueue;
  let awsCalls: ReturnType<typeof recordAwsCalls>;
  let deadLetters: SqsQueue;
  let proxy: ApiProxy;
  let manager: Manager;

  const vodJobs = () => kc.makeApiClient(CustomObjectsApi);
  const readVodJob = async (name: string) =>
    (await vodJobs().getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: "vodjobs", name })) as VodJob;
  const deleteVodJob = (name: string) => vodJobs().deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: "vodjobs", name });
  const vodJobGone = async (name: string) => (await readVodJob(name).then(() => false, (error: unknown) => (error as { code?: number }).code === 404));
  const eventReasons = async (name: string) =>
    (await kc.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: NS, fieldSelector: `involvedObject.name=${name}` })).items.map((e) => e.reason);
  const listVodJobs = async () =>
    ((await vodJobs().listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: "vodjobs" })) as { items: VodJob[] }).items;
  const recordingMessage = (stream: string, stamp: string) =>
    formatRecordingJob({
      bucket: "ingest",
      key: `recordings/${stream}/${stamp}.mp4`,
      recording: { stream, startedAt: new Date(`${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T18:00:00Z`), durationSeconds: 60, projection: "equirectangular" },
    });
  const queueEmpty = async (q: SqsQueue) => {
    const counts = await q.counts();
    return counts.visible + counts.inFlight + counts.delayed === 0;
  };
  /** The API server's refusal (status code and message) of a write that must fail. */
  const refusal = async (write: Promise<unknown>) => {
    const error = await write.then(
      () => undefined,
      (e: unknown) => e as ApiException<string>,
    );
    if (!error) throw new Error("the API server accepted a write that should have been refused");
    return { code: error.code, message: (JSON.parse(error.body) as { message: string }).message };
  };
  const createVodJobDryRun = (name: string, spec: VodJobSpecInput) =>
    vodJobs().createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: NS,
      plural: "vodjobs",
      body: { apiVersion: API_VERSION, kind: "VodJob", metadata: { name }, spec },
      dryRun: "All",
    }) as Promise<VodJob>;
  const workerJob = (name: string): Promise<V1Job> => kc.makeApiClient(BatchV1Api).readNamespacedJob({ name, namespace: NS });
  const reconciles = async () => {
    const text = await manager.registry.metrics();
    return [...text.matchAll(/^live360_operator_reconcile_total\{controller="vodjob",result="[a-z]+"\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
  };

  /** The operator as it runs in production, minus leader election: one Manager with the VodJob controller. */
  const startManager = () =>
    new Manager({
      kubeConfig: proxy.kubeConfig,
      namespaces: [NS, OTHER_NS],
      identity: "vodjob-test",
      leaderElection: undefined,
      httpPort: undefined,
      bindAddress: "127.0.0.1",
      logger,
      controllers: [
        vodJobController({
          config: resolveOperatorConfig(),
          settings: resolveVodJobSettings({ egressBucket: "egress", namespace: NS, visibilityTimeoutSeconds: 20, heartbeatSeconds: 5, maxConcurrentJobs: 2, ...JOB_DEFAULTS }),
          namespaces: [NS, OTHER_NS],
          // Labelled: the operator's calls are told apart from the test's own.
          queue: queue.forCaller("operator"),
          resyncIntervalMs: 500,
          queueDepthIntervalMs: 500,
        }),
      ],
    });
  /** With every node cordoned, worker pods cannot be scheduled and their VodJobs stay Pending. */
  const cordon = async (unschedulable: boolean) => {
    const core = kc.makeApiClient(CoreV1Api);
    for (const node of (await core.listNode()).items) {
      await core.patchNode({ name: node.metadata!.name!, body: { spec: { unschedulable } } }, setHeaderOptions("Content-Type", PatchStrategy.MergePatch));
    }
  };

  beforeAll(async () => {
    [cluster, sqs] = await Promise.all([
      startCluster(),
      startSqsServer({ queues: [{ name: "vod", visibilityTimeoutSeconds: 30, deadLetter: { name: "vod-dead", maxReceiveCount: 2 } }] }),
    ]);
    kc = kubeConfigFor(cluster);
    await installCustomResourceDefinitions(kc, CRDS_DIR);
    for (const name of [NS, OTHER_NS]) await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name } } });
    for (const { namespace, name, spec } of LIVE_EVENTS) {
      await vodJobs().createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: "liveevents",
        body: { apiVersion: API_VERSION, kind: "LiveEvent", metadata: { name }, spec },
      });
    }
    await waitFor("the namespace's default service account", async () => {
      const accounts = await kc.makeApiClient(CoreV1Api).listNamespacedServiceAccount({ namespace: NS });
      return accounts.items.some((a) => a.metadata?.name === "default");
    }, converge);
    const sqsOptions = { endpoint: sqs.endpoint, region: sqs.region, credentials: sqs.credentials };
    queue = new SqsQueue({ queueUrl: sqs.queueUrls.vod!, ...sqsOptions });
    deadLetters = new SqsQueue({ queueUrl: sqs.queueUrls["vod-dead"]!, ...sqsOptions });
    // The operator talks through a recording proxy, so the test counts what it really writes.
    proxy = await startApiProxy(kc);
    awsCalls = recordAwsCalls("operator");
    manager = startManager();
    await manager.start();
  }, START_TIMEOUT_MS);

  afterAll(async () => {
    awsCalls?.stop();
    await manager?.stop();
    await proxy?.close();
    await Promise.all([sqs?.stop(), cluster && stopCluster(cluster)]);
  }, 120_000);

  test("a message becomes one VodJob, whose Job kwok completes; the VodJob Succeeds and only then is the message deleted", async () => {
    await queue.send(recordingMessage("cam1", "20260624T180000Z"));
    const name = vodJobName("s3://ingest/recordings/cam1/20260624T180000Z.mp4");
    const done = await waitFor("the VodJob to succeed", async () => {
      const vodJob = await readVodJob(name).catch(() => undefined);
      return vodJob?.status?.phase === "Succeeded" ? vodJob : undefined;
    }, converge);
    expect(done.spec.source).toBe("s3://ingest/recordings/cam1/20260624T180000Z.mp4");
    expect(done.metadata.labels?.["live360.io/stream"]).toBe("cam1");
    expect(done.status).toMatchObject({ phase: "Succeeded", progress: 100, attempts: 1, jobName: name, observedGeneration: 1 });
    expect(done.status?.conditions?.map((c) => [c.type, c.status, c.observedGeneration])).toEqual([
      ["JobCreated", "True", 1],
      ["Complete", "True", 1],
      ["Failed", "False", 1],
    ]);

    const job: V1Job = await kc.makeApiClient(BatchV1Api).readNamespacedJob({ name, namespace: NS });
    expect(job.metadata?.ownerReferences).toEqual([expect.objectContaining({ kind: "VodJob", name, uid: done.metadata.uid, controller: true })]);
    expect(job.spec?.podFailurePolicy?.rules?.[0]).toMatchObject({ action: "Ignore", onPodConditions: [{ type: "DisruptionTarget", status: "True" }] });
    expect(job.spec?.template.spec?.containers[0]?.args?.slice(0, 3)).toEqual(["vod-worker", "--job", "s3://ingest/recordings/cam1/20260624T180000Z.mp4"]);
    // Every write the operator made went through server-side apply with its own field manager.
    expect(job.metadata?.managedFields?.find((f) => f.operation === "Apply")?.manager).toBe("live360-operator");
    // The operator's VodJob defaults, accepted by the CRD, reached the Job and the scheduler.
    expect(done.spec).toMatchObject({
      resources: JOB_DEFAULTS.jobResources,
      capacityType: "onDemand",
      nodeSelector: JOB_DEFAULTS.jobNodeSelector,
      activeDeadlineSeconds: 3600,
      ttlSecondsAfterFinished: 7200,
    });
    expect(job.spec).toMatchObject({ activeDeadlineSeconds: 3600, ttlSecondsAfterFinished: 7200 });
    expect(job.spec?.template.spec?.containers[0]?.resources).toEqual(JOB_DEFAULTS.jobResources);
    const pods = await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: NS, labelSelector: `live360.io/vodjob=${name}` });
    expect(pods.items.map((pod) => pod.spec?.nodeName)).toEqual(["on-demand-c"]);

    await waitFor("the message to be deleted", () => queueEmpty(queue), converge);
    expect(await queueEmpty(deadLetters)).toBe(true);
    // The message is settled: nothing holds the finished VodJob back from being deleted.
    await waitFor("the queue-lease finalizer to go", async () => (await readVodJob(name)).metadata.finalizers === undefined, converge);
    const metrics = await manager.registry.metrics();
    expect(metrics).toMatch(/^live360_operator_vod_jobs\{phase="Succeeded"\} 1$/m);
    expect(metrics).toMatch(/^live360_operator_vod_messages_held 0$/m);
  }, 180_000);

  test("the same recording announced twice still makes one VodJob, and both messages are deleted when it succeeds", async () => {
    const body = recordingMessage("cam2", "20260625T180000Z");
    await queue.send(body);
    await queue.send(body);
    const name = vodJobName("s3://ingest/recordings/cam2/20260625T180000Z.mp4");
    await waitFor("both messages to be deleted", () => queueEmpty(queue), converge);
    const forCam2 = (await listVodJobs()).filter((v) => v.metadata.labels?.["live360.io/stream"] === "cam2");
    expect(forCam2.map((v) => [v.metadata.name, v.status?.phase])).toEqual([[name, "Succeeded"]]);
    const jobs = await kc.makeApiClient(BatchV1Api).listNamespacedJob({ namespace: NS, labelSelector: `live360.io/vodjob=${name}` });
    expect(jobs.items).toHaveLength(1);
    expect(await queueEmpty(deadLetters)).toBe(true);
  }, 180_000);

  test("at steady state the controller keeps reconciling (resyncs) but writes nothing", async () => {
    await waitFor("no unfinished VodJobs, none holding a message", async () => (await listVodJobs()).every((v) => v.status?.phase === "Succeeded" && !v.metadata.finalizers), converge);
    proxy.requests.length = 0;
    const before = await reconciles();
    await waitFor("several more reconciles", async () => (await reconciles()) >= before + 6, converge);
    expect(proxy.requests.filter((r) => r.method !== "GET")).toEqual([]);
  }, 180_000);

  test("at maxConcurrentJobs no further message is taken; when a VodJob finishes, the waiting message becomes one", async () => {
    // Pending VodJobs fill both slots.
    await cordon(true);
    try {
      const streams = ["cam3", "cam4", "cam5"];
      for (const stream of streams) await queue.send(recordingMessage(stream, "20260626T180000Z"));
      const names = streams.map((stream) => vodJobName(`s3://ingest/recordings/${stream}/20260626T180000Z.mp4`));
      const pending = async () => (await listVodJobs()).filter((v) => names.includes(v.metadata.name ?? "") && v.status?.phase === "Pending");
      await waitFor("two VodJobs Pending", async () => (await pending()).length === 2, converge);
      // With room, a long poll would take the third message at once; while resyncs go on it stays in the queue.
      const before = await reconciles();
      await waitFor("a few resyncs", async () => (await reconciles()) >= before + 10, converge);
      expect(await queue.counts()).toMatchObject({ visible: 1, inFlight: 2 });
      expect((await listVodJobs()).filter((v) => names.includes(v.metadata.name ?? ""))).toHaveLength(2);
    } finally {
      await cordon(false);
    }
    // The pods run and complete, the VodJobs succeed, and the third message gets its turn.
    await waitFor("all three messages to be done with", () => queueEmpty(queue), converge);
    const done = (await listVodJobs()).filter((v) => v.metadata.labels?.["live360.io/stream"]?.match(/^cam[345]$/));
    expect(done.map((v) => v.status?.phase)).toEqual(["Succeeded", "Succeeded", "Succeeded"]);
  }, 240_000);

  test("the operator stops while a VodJob waits: its message comes back to the next operator, which deletes it once the VodJob succeeds", async () => {
    await cordon(true);
    try {
      await queue.send(recordingMessage("cam6", "20260628T180000Z"));
      const name = vodJobName("s3://ingest/recordings/cam6/20260628T180000Z.mp4");
      await waitFor("the VodJob to be Pending", async () => (await readVodJob(name).catch(() => undefined))?.status?.phase === "Pending", converge);
      await manager.stop();
      manager = startManager();
      await manager.start();
      // The stopped operator's heartbeats are over; the message stays hidden until its visibility timeout.
      expect(await queue.counts()).toMatchObject({ visible: 0, inFlight: 1 });
    } finally {
      await cordon(false);
    }
    await waitFor("the message to be deleted by the new operator", () => queueEmpty(queue), converge);
    const cam6 = (await listVodJobs()).filter((v) => v.metadata.labels?.["live360.io/stream"] === "cam6");
    expect(cam6.map((v) => v.status?.phase)).toEqual(["Succeeded"]);
    // Deleted, not dead-lettered: stopping spent none of its receives on a long poll nobody read.
    expect(await queueEmpty(deadLetters)).toBe(true);
  }, 240_000);

  test("deleting an unfinished VodJob cancels it: its message is deleted with it and does not make it again after the visibility timeout", async () => {
    const source = "s3://ingest/recordings/cam7/20260629T180000Z.mp4";
    const name = vodJobName(source);
    await cordon(true);
    try {
      await queue.send(recordingMessage("cam7", "20260629T180000Z"));
      const pending = await waitFor("the VodJob to be Pending", async () => {
        const vodJob = await readVodJob(name).catch(() => undefined);
        return vodJob?.status?.phase === "Pending" ? vodJob : undefined;
      }, converge);
      expect(pending.metadata.finalizers).toEqual([QUEUE_LEASE_FINALIZER]);
      expect(await queue.counts()).toMatchObject({ visible: 0, inFlight: 1 });

      await deleteVodJob(name);
      await waitFor("the VodJob to be gone", () => vodJobGone(name), converge);
      expect(await queueEmpty(queue)).toBe(true);
      expect(await queueEmpty(deadLetters)).toBe(true);
      await waitFor("the Cancelled event", async () => (await eventReasons(name)).includes("Cancelled"), converge);
      // Absence can only be shown by waiting: past the visibility timeout (20 s) and a long poll (10 s), nothing made it again.
      await sleep(32_000);
      expect(await vodJobGone(name)).toBe(true);
      expect(await queueEmpty(queue)).toBe(true);
    } finally {
      await cordon(false);
    }
  }, 240_000);

  test("a VodJob deleted before a restarted operator holds its message again waits for the message to come back, which is deleted; only then is it gone", async () => {
    const source = "s3://ingest/recordings/cam8/20260630T180000Z.mp4";
    const name = vodJobName(source);
    await cordon(true);
    try {
      await queue.send(recordingMessage("cam8", "20260630T180000Z"));
      await waitFor("the VodJob to be Pending", async () => (await readVodJob(name).catch(() => undefined))?.status?.phase === "Pending", converge);
      await manager.stop();
      manager = startManager();
      await manager.start();
      // The new operator does not hold the message: it is hidden until the old lease runs out.
      await deleteVodJob(name);
      const held = await waitFor("the deletion to be seen by the operator", async () => {
        const vodJob = await readVodJob(name).catch(() => undefined);
        return vodJob?.metadata.deletionTimestamp ? vodJob : undefined;
      }, converge);
      expect(held.metadata.finalizers).toEqual([QUEUE_LEASE_FINALIZER]);
      expect(await queue.counts()).toMatchObject({ visible: 0, inFlight: 1 });

      await waitFor("the VodJob to be gone", () => vodJobGone(name), converge);
      expect(await queueEmpty(queue)).toBe(true);
      expect(await queueEmpty(deadLetters)).toBe(true);
      expect((await listVodJobs()).filter((v) => v.metadata.labels?.["live360.io/stream"] === "cam8")).toEqual([]);
    } finally {
      await cordon(false);
    }
  }, 240_000);

  test("the message of a failed VodJob, and one that is no job at all, are never deleted: they reach the dead-letter queue", async () => {
    // The worker cannot make flat output: this VodJob fails without a Job, as a Job out of retries would.
    const source = "s3://ingest/recordings/broken/20260627T180000Z.mp4";
    const name = vodJobName(source);
    await vodJobs().createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: NS,
      plural: "vodjobs",
      body: { apiVersion: `${GROUP}/${VERSION}`, kind: "VodJob", metadata: { name }, spec: { source, projection: { output: "flat" } } },
    });
    await waitFor("the VodJob to fail", async () => (await readVodJob(name)).status?.phase === "Failed", converge);
    await queue.send(recordingMessage("broken", "20260627T180000Z"));
    await queue.send("this is not a job message");
    await waitFor("both messages in the dead-letter queue", async () => (await deadLetters.counts()).visible === 2, converge);
    expect(await queueEmpty(queue)).toBe(true);
    // The failed VodJob was left as it is: not re-created, not re-run.
    const failed = await readVodJob(name);
    expect(failed.status?.phase).toBe("Failed");
    expect(failed.status?.conditions?.find((c) => c.type === "Failed")?.reason).toBe("InvalidSpec");
  }, 240_000);

  test("the queues' depths are metrics: the dead-letter queue found through the queue's redrive policy, both read as SQS counts them", async () => {
    // Left by the test above: two messages dead, none waiting.
    const gauge = async (queueLabel: string, state: string): Promise<number | undefined> => {
      const line = new RegExp(`^live360_operator_vod_queue_messages\\{queue="${queueLabel}",state="${state}"\\} (\\d+)$`, "m").exec(await manager.registry.metrics());
      return line ? Number(line[1]) : undefined;
    };
    await waitFor("the dead-letter queue's depth as a metric", async () => (await gauge("dead_letter", "visible")) === (await deadLetters.counts()).visible, converge);
    expect(await gauge("dead_letter", "visible")).toBe(2);
    await queue.send(recordingMessage("waiting", "20260628T180000Z"), { delaySeconds: 600 });
    await waitFor("the delayed message in the queue's depth", async () => (await gauge("jobs", "delayed")) === 1, converge);
    expect(await gauge("jobs", "visible")).toBe(0);
    expect(await manager.registry.metrics()).toMatch(/^live360_operator_vod_queue_depth_failures_total 0$/m);
    // The dead-letter queue was found by name from its ARN, by the operator's own client.
    expect(awsCalls.calls.some((c) => c.operation === "GetQueueUrl" && c.queueName === "vod-dead")).toBe(true);
  }, 120_000);

  test("a recording of a stream whose LiveEvent in the VodJobs' namespace is encrypted becomes an encrypted VodJob, from live360's message and from an S3 event alike", async () => {
    const own = "s3://ingest/recordings/enc/20260701T180000Z.mp4";
    const s3Event = "s3://ingest/recordings/enc/20260702T180000Z.mp4";
    await queue.send(recordingMessage("enc", "20260701T180000Z"));
    // An S3 event names only the object (eks-infra notifyQueueOnUpload): the stream comes from the key.
    await queue.send(JSON.stringify({ Records: [{ eventName: "ObjectCreated:Put", s3: { bucket: { name: "ingest" }, object: { key: "recordings/enc/20260702T180000Z.mp4", size: 1024 } } }] }));
    for (const source of [own, s3Event]) {
      const name = vodJobName(source);
      const done = await waitFor(`the VodJob of ${source} to succeed`, async () => {
        const vodJob = await readVodJob(name).catch(() => undefined);
        return vodJob?.status?.phase === "Succeeded" ? vodJob : undefined;
      }, converge);
      // The event in the VodJobs' namespace, with the CRD's default key; not the other namespace's event of the same stream.
      expect(done.spec.hls).toEqual({ encryption: { secretRef: { name: "enc-hls", key: "secret" }, rotationSegments: 4 } });
      const pod = (await workerJob(name)).spec?.template.spec;
      const args = pod?.containers[0]?.args ?? [];
      expect(args.slice(args.indexOf("--hls-encryption-secret-file"))).toEqual(["--hls-encryption-secret-file", "/etc/live360/hls/secret", "--hls-key-rotation", "4"]);
      expect(pod?.volumes?.find((v) => v.name === "hls-encryption")?.secret).toEqual({ secretName: "enc-hls", items: [{ key: "secret", path: "secret" }], defaultMode: 0o440 });
    }
    await waitFor("both messages to be deleted", async () => {
      const counts = await queue.counts();
      return counts.visible + counts.inFlight === 0;
    }, converge);
  }, 180_000);

  test("the API server validates VodJob.spec.hls.encryption like the LiveEvent's, defaults it alike, and keeps it immutable", async () => {
    const source = "s3://ingest/recordings/schema/20260701T180000Z.mp4";
    const noName = await refusal(createVodJobDryRun("no-name", { source, hls: { encryption: { secretRef: {} as { name: string } } } }));
    expect(noName.code).toBe(422);
    expect(noName.message).toContain("spec.hls.encryption.secretRef.name: Required value");
    const noRef = await refusal(createVodJobDryRun("no-ref", { source, hls: { encryption: {} as { secretRef: { name: string } } } }));
    expect(noRef.message).toContain("spec.hls.encryption.secretRef: Required value");
    const zero = await refusal(createVodJobDryRun("zero", { source, hls: { encryption: { secretRef: { name: "hls" }, rotationSegments: 0 } } }));
    expect(zero.code).toBe(422);
    expect(zero.message).toMatch(/spec\.hls\.encryption\.rotationSegments: Invalid value: 0: .*greater than or equal to 1/);
    const badSecret = await refusal(createVodJobDryRun("bad-secret", { source, hls: { encryption: { secretRef: { name: "Not_A_Secret" } } } }));
    expect(badSecret.message).toContain("spec.hls.encryption.secretRef.name");

    const accepted = await createVodJobDryRun("minimal", { source, hls: { encryption: { secretRef: { name: "hls" } } } });
    expect(accepted.spec.hls).toEqual({ encryption: { secretRef: { name: "hls", key: "secret" }, rotationSegments: 10 } });
    expect((await createVodJobDryRun("clear", { source })).spec.hls).toEqual({});

    // The encrypted VodJob made above: neither its rotation nor its encryption may change.
    const name = vodJobName("s3://ingest/recordings/enc/20260701T180000Z.mp4");
    const patch = (spec: unknown) =>
      vodJobs().patchNamespacedCustomObject(
        { group: GROUP, version: VERSION, namespace: NS, plural: "vodjobs", name, body: { spec }, dryRun: "All" },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
    for (const change of [{ hls: { encryption: { rotationSegments: 5 } } }, { hls: { encryption: null } }]) {
      const refused = await refusal(patch(change));
      expect(refused.code).toBe(422);
      expect(refused.message).toContain("a VodJob's spec cannot change: delete it and create a new one");
    }
  });

  test("a clear LiveEvent's recording stays a clear VodJob", async () => {
    const source = "s3://ingest/recordings/plain/20260701T180000Z.mp4";
    await queue.send(recordingMessage("plain", "20260701T180000Z"));
    const name = vodJobName(source);
    const done = await waitFor("the VodJob to succeed", async () => {
      const vodJob = await readVodJob(name).catch(() => undefined);
      return vodJob?.status?.phase === "Succeeded" ? vodJob : undefined;
    }, converge);
    expect(done.spec.hls).toEqual({});
    expect(JSON.stringify((await workerJob(name)).spec?.template)).not.toContain("hls-encryption");
  }, 180_000);

  test("a recording of a stream encrypted only by a LiveEvent in another namespace makes no VodJob: its message is released, with the reason and the fix, until the dead-letter queue takes it", async () => {
    const source = "s3://ingest/recordings/elsewhere/20260701T180000Z.mp4";
    const deadBefore = (await deadLetters.counts()).visible;
    await queue.send(recordingMessage("elsewhere", "20260701T180000Z"));
    await waitFor("the message in the dead-letter queue", async () => (await deadLetters.counts()).visible === deadBefore + 1, converge);
    // Never deleted, never made into a VodJob (not even for a moment: no clear asset is ever written).
    expect(await vodJobGone(vodJobName(source))).toBe(true);
    expect(proxy.requests.some((r) => r.method !== "GET" && r.url.includes(vodJobName(source)))).toBe(false);
    const reasons = logLines
      .map((line) => JSON.parse(line) as { msg: string; reason?: string; receiveCount?: number })
      .filter((record) => record.msg === "VOD queue message released towards the dead-letter queue" && record.reason?.includes("stream elsewhere"));
    // Each receive released it again, with a growing delay (maxReceiveCount 2).
    expect(reasons.map((r) => r.receiveCount)).toEqual([1, 2]);
    expect(reasons[0]?.reason).toContain(`LiveEvent ${OTHER_NS}/elsewhere`);
    expect(reasons[0]?.reason).toContain(`put the LiveEvent in ${NS} or create the VodJob by hand in its namespace (${OTHER_NS})`);
  }, 180_000);

  test("every SQS call the operator made above is a permission eks-infra grants its role (eks-infra/workload-calls.json)", async () => {
    expect(awsCalls.calls.length).toBeGreaterThan(0);
    expect(await unlistedPermissions("operator", awsCalls.calls, { "vod-dead": "deadLetterQueue" })).toEqual([]);
  });
});
