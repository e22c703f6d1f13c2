import { describe, expect, test } from "@jest/globals";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { KubernetesObject, V1Deployment, V1HorizontalPodAutoscaler, V1NetworkPolicy, V1PodDisruptionBudget, V1Service, V1StatefulSet } from "@kubernetes/client-node";
import { parseLadder } from "@live360/core";
import { parse } from "yaml";
import { applyDefaults } from "../api/schema.js";
import { API_VERSION, liveEventSpec, type LiveEvent, type LiveEventSpecInput } from "../api/v1alpha1/index.js";
import { resolveOperatorConfig, type OperatorConfigInput } from "../config.js";
import { toYamlDocuments } from "../yaml.js";
import { childNames } from "./names.js";
import { PUBLISH_KEYS_FILE, RECORDINGS_VOLUME, SPOT_NOTICE_SECONDS, generatedPublishKeySecret, liveEventResources, publishKeySource } from "./resources.js";

/** Golden files live in the source tree (dist/ is rebuilt): LIVE360_UPDATE_GOLDEN=1 rewrites them. */
const goldenDir = fileURLToPath(new URL("../../testdata/", import.meta.url));
const examplesDir = fileURLToPath(new URL("../../../examples/", import.meta.url));

async function matchesGolden(name: string, text: string): Promise<void> {
  const file = path.join(goldenDir, name);
  if (process.env.LIVE360_UPDATE_GOLDEN === "1") {
    await mkdir(goldenDir, { recursive: true });
    await writeFile(file, text);
  }
  expect(text).toBe(await readFile(file, "utf8"));
}

/** A LiveEvent as the API server returns it: defaults applied, uid and namespace set. */
function liveEvent(name: string, spec: LiveEventSpecInput, namespace = "events"): LiveEvent {
  return {
    apiVersion: API_VERSION,
    kind: "LiveEvent",
    metadata: { name, namespace, uid: `uid-${name}`, generation: 1 },
    spec: applyDefaults(liveEventSpec, spec),
  };
}

async function exampleEvent(): Promise<LiveEvent> {
  const example = parse(await readFile(path.join(examplesDir, "liveevent.yaml"), "utf8")) as { metadata: { name: string }; spec: LiveEventSpecInput };
  return liveEvent(example.metadata.name, example.spec);
}

/** Everything the defaults do not cover: one origin, keys, low latency, NodePort, on-demand placement, recording. */
const KITCHEN_SINK: LiveEventSpecInput = {
  streamName: "keynote",
  publishKeySecretRef: { name: "keynote-keys" },
  projection: "cubemap",
  ladder: { preset: "mobile" },
  hls: { lowLatency: true, windowSegments: 10, format: "cmaf", partTargetMs: 400, partHoldBackParts: 2 },
  origin: {
    redundancy: "single",
    capacityType: "onDemand",
    nodeSelector: { "live360.io/pool": "media" },
    tolerations: [{ key: "live360.io/media", operator: "Exists", effect: "NoSchedule" }],
    resources: { requests: { cpu: "3500m", memory: "3Gi" }, limits: { cpu: 4, memory: "6Gi" } },
    dataVolumeSize: "50Gi",
  },
  edge: { minReplicas: 3, maxReplicas: 30, targetCPUUtilizationPercentage: 60, cacheSizeMegabytes: 4096, resources: { requests: { cpu: "2" } } },
};
const KITCHEN_SINK_CONFIG: OperatorConfigInput = {
  rtmpServiceType: "NodePort",
  edgeInsight: true,
  edgeServiceType: "LoadBalancer",
  images: { origin: "registry.example.com/live360/origin@sha256:" + "a".repeat(64) },
  originServiceAccount: "live360-origin",
  awsCredentialsSecret: "live360-aws-credentials",
  recording: { bucket: "ingest", queueUrl: "http://sqs.local:9324/000000000000/vod", s3Endpoint: "http://s3.local:7070", sqsEndpoint: "http://sqs.local:9324", region: "eu-west-1" },
};

const NLB = {
  "service.beta.kubernetes.io/aws-load-balancer-type": "external",
  "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
  "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
};

function find<T extends KubernetesObject>(objects: KubernetesObject[], kind: string, name: string): T {
  const found = objects.find((o) => o.kind === kind && o.metadata?.name === name);
  if (!found) throw new Error(`no ${kind} ${name} among ${objects.map((o) => `${o.kind}/${o.metadata?.name}`).join(", ")}`);
  return found as T;
}

function podTemplateLabels(objects: KubernetesObject[]): { workload: string; labels: Record<string, string> }[] {
  return objects
    .filter((o): o is V1StatefulSet | V1Deployment => o.kind === "StatefulSet" || o.kind === "Deployment")
    .map((o) => ({ workload: `${o.kind}/${o.metadata?.name}`, labels: o.spec?.template.metadata?.labels ?? {} }));
}

/** The workloads whose pods a label selector picks. */
function selected(objects: KubernetesObject[], selector: Record<string, string>): string[] {
  return podTemplateLabels(objects)
    .filter(({ labels }) => Object.entries(selector).every(([key, value]) => labels[key] === value))
    .map(({ workload }) => workload);
}

function args(objects: KubernetesObject[], kind: string, name: string): string[] {
  const workload = find<V1StatefulSet | V1Deployment>(objects, kind, name);
  return workload.spec?.template.spec?.containers[0]?.args ?? [];
}

function flag(argv: string[], name: string): string | undefined {
  const index = argv.indexOf(name);
  return index < 0 ? undefined : argv[index + 1];
}

/** Every value of a repeatable flag, in order. */
function flagValues(argv: string[], name: string): string[] {
  return argv.flatMap((arg, i) => (arg === name && i + 1 < argv.length ? [argv[i + 1]!] : []));
}

describe("LiveEvent desired state", () => {
  test("the example event matches its golden manifests", async () => {
    await matchesGolden("liveevent-example.yaml", toYamlDocuments(liveEventResources(await exampleEvent(), resolveOperatorConfig())));
  });

  test("a single-origin, keyed, low-latency event on NodePort matches its golden manifests", async () => {
    const objects = liveEventResources(liveEvent("keynote", KITCHEN_SINK), resolveOperatorConfig(KITCHEN_SINK_CONFIG));
    await matchesGolden("liveevent-single-keys-nodeport.yaml", toYamlDocuments(objects));
  });

  test("primary and backup: exactly the expected children, each owned by the event", async () => {
    const event = await exampleEvent();
    const objects = liveEventResources(event, resolveOperatorConfig());
    expect(objects.map((o) => `${o.kind}/${o.metadata?.name}`).sort()).toEqual([
      "ConfigMap/demo-edge",
      "Deployment/demo-edge",
      "Deployment/demo-test-source",
      "HorizontalPodAutoscaler/demo-edge",
      "NetworkPolicy/demo-origins",
      "PodDisruptionBudget/demo-edge",
      "PodDisruptionBudget/demo-origins",
      "Service/demo-edge",
      "Service/demo-edge-peers",
      "Service/demo-origin-backup",
      "Service/demo-origin-backup-rtmp",
      "Service/demo-origin-primary",
      "Service/demo-origin-primary-rtmp",
      "StatefulSet/demo-origin-backup",
      "StatefulSet/demo-origin-primary",
    ]);
    for (const object of objects) {
      expect(object.metadata?.namespace).toBe("events");
      expect(object.metadata?.ownerReferences).toEqual([
        { apiVersion: API_VERSION, kind: "LiveEvent", name: "demo", uid: "uid-demo", controller: true, blockOwnerDeletion: true },
      ]);
      expect(object.metadata?.labels?.["app.kubernetes.io/managed-by"]).toBe("live360-operator");
    }
  });

  test("recordings wait for the VOD pipeline on a claim per origin, sized from the event and mounted where the origin writes them; persistent: false keeps them on the scratch volume", () => {
    const recordingsOf = (spec: LiveEventSpecInput) => {
      const origin = find<V1StatefulSet>(liveEventResources(liveEvent("talk", spec), resolveOperatorConfig()), "StatefulSet", "talk-origin-primary");
      const pod = origin.spec!.template.spec!;
      return {
        claims: origin.spec!.volumeClaimTemplates?.map((c) => ({ name: c.metadata?.name, class: c.spec?.storageClassName, size: c.spec?.resources?.requests?.storage })),
        retention: origin.spec!.persistentVolumeClaimRetentionPolicy,
        mounts: pod.containers[0]!.volumeMounts?.map((m) => `${m.name}:${m.mountPath}`),
        dataDir: flag(pod.containers[0]!.args ?? [], "--data-dir"),
        fsGroup: pod.securityContext?.fsGroup,
      };
    };
    const persistent = recordingsOf({ streamName: "talk", recording: { volume: { size: "50Gi", storageClassName: "gp3-retain" } } });
    expect(persistent).toEqual({
      claims: [{ name: RECORDINGS_VOLUME, class: "gp3-retain", size: "50Gi" }],
      retention: { whenDeleted: "Retain", whenScaled: "Retain" },
      mounts: ["data:/var/lib/live360", `${RECORDINGS_VOLUME}:/var/lib/live360/recordings`, "publish-keys:/etc/live360/keys"],
      dataDir: "/var/lib/live360",
      fsGroup: 1000,
    });
    // The origin keeps recordings in <data dir>/recordings: the claim must be mounted exactly there.
    expect(persistent.mounts).toContain(`${RECORDINGS_VOLUME}:${persistent.dataDir}/recordings`);
    const defaults = recordingsOf({ streamName: "talk" });
    expect(defaults.claims).toEqual([{ name: RECORDINGS_VOLUME, class: undefined, size: "20Gi" }]);
    const ephemeral = recordingsOf({ streamName: "talk", recording: { volume: { persistent: false } } });
    expect(ephemeral.claims).toBeUndefined();
    expect(ephemeral.retention).toBeUndefined();
    expect(ephemeral.mounts).toEqual(["data:/var/lib/live360", "publish-keys:/etc/live360/keys"]);
  });

  test("every Service and disruption budget selects exactly the pods it is for", async () => {
    const objects = liveEventResources(await exampleEvent(), resolveOperatorConfig());
    const services = objects.filter((o): o is V1Service => o.kind === "Service");
    const expected: Record<string, string[]> = {
      "demo-origin-primary": ["StatefulSet/demo-origin-primary"],
      "demo-origin-primary-rtmp": ["StatefulSet/demo-origin-primary"],
      "demo-origin-backup": ["StatefulSet/demo-origin-backup"],
      "demo-origin-backup-rtmp": ["StatefulSet/demo-origin-backup"],
      "demo-edge": ["Deployment/demo-edge"],
      "demo-edge-peers": ["Deployment/demo-edge"],
    };
    for (const service of services) expect(selected(objects, service.spec?.selector ?? {})).toEqual(expected[service.metadata?.name ?? ""]);

    // A drain may evict one origin at a time: the budget covers both, allowing one out.
    const origins = find<V1PodDisruptionBudget>(objects, "PodDisruptionBudget", "demo-origins");
    expect(selected(objects, origins.spec?.selector?.matchLabels ?? {})).toEqual(["StatefulSet/demo-origin-primary", "StatefulSet/demo-origin-backup"]);
    expect(origins.spec?.maxUnavailable).toBe(1);
    const edges = find<V1PodDisruptionBudget>(objects, "PodDisruptionBudget", "demo-edge");
    expect(selected(objects, edges.spec?.selector?.matchLabels ?? {})).toEqual(["Deployment/demo-edge"]);
    for (const set of objects.filter((o): o is V1StatefulSet => o.kind === "StatefulSet")) {
      expect(selected(objects, set.spec?.selector.matchLabels ?? {})).toEqual([`StatefulSet/${set.metadata?.name}`]);
    }
  });

  test("origins never share a node and prefer different zones and Spot capacity", async () => {
    const objects = liveEventResources(await exampleEvent(), resolveOperatorConfig());
    const both = ["StatefulSet/demo-origin-primary", "StatefulSet/demo-origin-backup"];
    for (const name of ["demo-origin-primary", "demo-origin-backup"]) {
      const pod = find<V1StatefulSet>(objects, "StatefulSet", name).spec?.template.spec;
      const antiAffinity = pod?.affinity?.podAntiAffinity;
      const required = antiAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.[0];
      expect(required?.topologyKey).toBe("kubernetes.io/hostname");
      expect(selected(objects, required?.labelSelector?.matchLabels ?? {})).toEqual(both);
      expect(antiAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.[0]?.podAffinityTerm.topologyKey).toBe("topology.kubernetes.io/zone");
      const spread = pod?.topologySpreadConstraints?.[0];
      expect(spread?.topologyKey).toBe("topology.kubernetes.io/zone");
      expect(selected(objects, spread?.labelSelector?.matchLabels ?? {})).toEqual(both);
      expect(pod?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.[0]?.preference.matchExpressions).toEqual([
        { key: "eks.amazonaws.com/capacityType", operator: "In", values: ["SPOT"] },
      ]);
    }
  });

  test("every pod stops well inside the 2-minute Spot notice, origins through the preStop pause and their own grace", async () => {
    const objects = liveEventResources(await exampleEvent(), resolveOperatorConfig());
    for (const workload of objects.filter((o): o is V1StatefulSet | V1Deployment => o.kind === "StatefulSet" || o.kind === "Deployment")) {
      expect(workload.spec?.template.spec?.terminationGracePeriodSeconds ?? 30).toBeLessThan(SPOT_NOTICE_SECONDS);
    }
    const origin = find<V1StatefulSet>(objects, "StatefulSet", "demo-origin-primary").spec?.template.spec;
    const container = origin?.containers[0];
    const preStop = container?.lifecycle?.preStop?.sleep?.seconds ?? 0;
    const shutdownGrace = Number(flag(container?.args ?? [], "--shutdown-grace"));
    expect(preStop + shutdownGrace).toBeLessThan(origin?.terminationGracePeriodSeconds ?? 0);
    const edge = find<V1Deployment>(objects, "Deployment", "demo-edge").spec?.template.spec?.containers[0];
    expect(edge?.lifecycle?.preStop?.exec?.command?.join(" ")).toMatch(/touch \S+\/draining && sleep \d+/);
  });

  test("the origin runs `live360 origin` with the event's ladder, window and projection, taking the event's stream only, and the test source publishes to both origins", async () => {
    const event = await exampleEvent();
    const objects = liveEventResources(event, resolveOperatorConfig());
    const origin = find<V1StatefulSet>(objects, "StatefulSet", "demo-origin-primary").spec?.template.spec?.containers[0];
    expect(origin?.command).toEqual(["live360"]);
    const argv = origin?.args ?? [];
    expect(argv[0]).toBe("origin");
    expect(flag(argv, "--rtmp-port")).toBe("1935");
    expect(flag(argv, "--http-port")).toBe("8080");
    expect(parseLadder("ladder", flag(argv, "--ladder") ?? "")).toEqual(parseLadder("ladder", "source,1920x960:5000k,960x480:1600k"));
    expect(flag(argv, "--window")).toBe("6");
    expect(flag(argv, "--projection")).toBe("equirectangular");
    expect(flagValues(argv, "--allow-stream")).toEqual(["demo"]);
    expect(flagValues(args(objects, "StatefulSet", "demo-origin-backup"), "--allow-stream")).toEqual(["demo"]);
    expect(argv).not.toContain("--low-latency");
    // TS by default: the origin's own default, so no flag.
    expect(argv).not.toContain("--hls-format");
    // No bucket and queue configured anywhere: recordings stay local, no upload flags.
    expect(argv).not.toContain("--ingest-bucket");

    const source = args(objects, "Deployment", "demo-test-source");
    expect(source[0]).toBe("test-source");
    expect(flagValues(source, "--url")).toEqual([
      "rtmp://demo-origin-primary-rtmp.events.svc.cluster.local:1935/live/demo",
      "rtmp://demo-origin-backup-rtmp.events.svc.cluster.local:1935/live/demo",
    ]);
    expect(flag(source, "--keyframe-interval")).toBe("2");
  });

  test("no key named: the ingest (LoadBalancer or NodePort) is reachable from outside, so origins and test source use the generated Secret; publishing.open uses none", async () => {
    for (const rtmpServiceType of ["LoadBalancer", "NodePort"] as const) {
      const objects = liveEventResources(await exampleEvent(), resolveOperatorConfig({ rtmpServiceType }));
      for (const [kind, name] of [["StatefulSet", "demo-origin-primary"], ["StatefulSet", "demo-origin-backup"], ["Deployment", "demo-test-source"]] as const) {
        const pod = find<V1StatefulSet>(objects, kind, name).spec?.template.spec;
        expect(flag(pod?.containers[0]?.args ?? [], "--publish-keys-file")).toBe(PUBLISH_KEYS_FILE);
        expect(pod?.volumes?.find((v) => v.name === "publish-keys")?.secret).toEqual({ secretName: "demo-publish-key", items: [{ key: "keys", path: "keys" }], defaultMode: 0o444 });
        expect(pod?.containers[0]?.volumeMounts).toContainEqual({ name: "publish-keys", mountPath: path.dirname(PUBLISH_KEYS_FILE), readOnly: true });
      }
      // The Secret itself is not part of the desired state: its key is drawn once, by the reconciler.
      expect(objects.some((o) => o.kind === "Secret")).toBe(false);
    }
    const open = liveEventResources(liveEvent("demo", { streamName: "demo", publishing: { open: true }, testSource: { enabled: true } }), resolveOperatorConfig());
    expect(JSON.stringify(open)).not.toContain("publish-keys");
    expect(publishKeySource({ spec: liveEvent("demo", { streamName: "demo", publishing: { open: true } }).spec, names: childNames("demo") })).toBeUndefined();
  });

  test("the generated Secret holds the event's <stream>=<key> line, is owned by the event, and the key appears in no other manifest", async () => {
    const event = await exampleEvent();
    const secret = generatedPublishKeySecret(event, "k3y-drawn-by-the-reconciler-0123") as KubernetesObject & { stringData: Record<string, string> };
    expect(secret).toMatchObject({ apiVersion: "v1", kind: "Secret", type: "Opaque", metadata: { name: "demo-publish-key", namespace: "events" } });
    expect(secret.stringData).toEqual({ keys: "demo=k3y-drawn-by-the-reconciler-0123\n" });
    expect(secret.metadata?.ownerReferences).toEqual([expect.objectContaining({ kind: "LiveEvent", name: "demo", controller: true })]);
    expect(JSON.stringify(liveEventResources(event, resolveOperatorConfig()))).not.toContain("k3y-drawn-by-the-reconciler");
  });

  test("the NetworkPolicy: RTMP from anywhere; the origins' HTTP port only from this event's edge and origins, the operator's pods and the metrics namespaces", async () => {
    const objects = liveEventResources(await exampleEvent(), resolveOperatorConfig({ networkPolicy: { operatorNamespace: "live360-system", metricsNamespaces: ["monitoring"] } }));
    const policy = find<V1NetworkPolicy>(objects, "NetworkPolicy", "demo-origins");
    expect(policy.spec?.podSelector).toEqual({ matchLabels: { "app.kubernetes.io/name": "live360", "app.kubernetes.io/component": "origin", "live360.io/event": "demo" } });
    expect(policy.spec?.policyTypes).toEqual(["Ingress"]);
    expect(policy.spec?.ingress).toEqual([
      { ports: [{ protocol: "TCP", port: 1935 }] },
      {
        from: [
          { podSelector: { matchLabels: { "app.kubernetes.io/name": "live360", "app.kubernetes.io/component": "edge", "live360.io/event": "demo" } } },
          { podSelector: { matchLabels: { "app.kubernetes.io/name": "live360", "app.kubernetes.io/component": "origin", "live360.io/event": "demo" } } },
          { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "live360-system" } }, podSelector: { matchLabels: { "app.kubernetes.io/name": "live360-operator" } } },
          { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } } },
        ],
        ports: [{ protocol: "TCP", port: 8080 }],
      },
    ]);
    // The ports are the origin container's.
    const ports = find<V1StatefulSet>(objects, "StatefulSet", "demo-origin-primary").spec?.template.spec?.containers[0]?.ports?.map((p) => p.containerPort);
    expect(ports).toEqual([1935, 8080]);
    expect(liveEventResources(await exampleEvent(), resolveOperatorConfig({ networkPolicy: { enabled: false } })).some((o) => o.kind === "NetworkPolicy")).toBe(false);
  });

  test("ingest TLS: origins serve RTMPS from the mounted certificate, the ingest Service offers 443 (and 1935 only when plain RTMP is allowed), the test source publishes over TLS", async () => {
    const eventWith = (allowPlainRtmp?: boolean) =>
      liveEventResources(liveEvent("demo", { streamName: "demo", testSource: { enabled: true }, ingest: { tls: { secretName: "demo-ingest-tls", ...(allowPlainRtmp === undefined ? {} : { allowPlainRtmp }) } } }), resolveOperatorConfig());
    const objects = eventWith();
    for (const role of ["primary", "backup"]) {
      const pod = find<V1StatefulSet>(objects, "StatefulSet", `demo-origin-${role}`).spec?.template.spec;
      const argv = pod?.containers[0]?.args ?? [];
      expect([flag(argv, "--rtmps-port"), flag(argv, "--tls-cert-file"), flag(argv, "--tls-key-file")]).toEqual(["1936", "/etc/live360/tls/tls.crt", "/etc/live360/tls/tls.key"]);
      expect(pod?.containers[0]?.ports).toContainEqual({ name: "rtmps", containerPort: 1936, protocol: "TCP" });
      expect(pod?.volumes?.find((v) => v.name === "ingest-tls")?.secret).toEqual({
        secretName: "demo-ingest-tls",
        items: [{ key: "tls.crt", path: "tls.crt" }, { key: "tls.key", path: "tls.key" }],
        defaultMode: 0o440,
      });
      expect(pod?.containers[0]?.volumeMounts).toContainEqual({ name: "ingest-tls", mountPath: "/etc/live360/tls", readOnly: true });
      // The key is readable through the pod's fsGroup, the origin image's group.
      expect(pod?.securityContext?.fsGroup).toBe(1000);
      const ports = find<V1Service>(objects, "Service", `demo-origin-${role}-rtmp`).spec?.ports?.map((p) => `${p.name}:${p.port}->${p.targetPort}`);
      expect(ports).toEqual(["rtmps:443->rtmps"]);
    }
    expect(flagValues(args(objects, "Deployment", "demo-test-source"), "--url")).toEqual([
      "rtmps://demo-origin-primary-rtmp.events.svc.cluster.local:443/live/demo",
      "rtmps://demo-origin-backup-rtmp.events.svc.cluster.local:443/live/demo",
    ]);
    const open = find<V1NetworkPolicy>(objects, "NetworkPolicy", "demo-origins").spec?.ingress?.[0]?.ports?.map((p) => p.port);
    expect(open).toEqual([1935, 1936]);
    const both = find<V1Service>(eventWith(true), "Service", "demo-origin-primary-rtmp").spec?.ports?.map((p) => `${p.name}:${p.port}`);
    expect(both).toEqual(["rtmp:1935", "rtmps:443"]);
    // Without TLS nothing of it.
    expect(JSON.stringify(liveEventResources(await exampleEvent(), resolveOperatorConfig()))).not.toContain("rtmps");
  });

  test("signed playback and HLS encryption: the edge takes the signing secret from its Secret into its environment and serves media and keys to signed URLs only; the origins encrypt with the mounted secret", () => {
    const objects = liveEventResources(
      liveEvent("demo", {
        streamName: "demo",
        playback: { signing: { secretRef: { name: "demo-signing" }, maxLifetimeSeconds: 3600 } },
        hls: { encryption: { secretRef: { name: "demo-hls", key: "k" }, rotationSegments: 5 } },
      }),
      resolveOperatorConfig(),
    );
    const edge = find<V1Deployment>(objects, "Deployment", "demo-edge").spec?.template.spec?.containers[0];
    expect(edge?.env).toEqual([{ name: "LIVE360_EDGE_SIGNING_KEYS", valueFrom: { secretKeyRef: { name: "demo-signing", key: "keys" } } }]);
    const conf = find<KubernetesObject & { data: Record<string, string> }>(objects, "ConfigMap", "demo-edge").data;
    expect(conf["nginx.conf"]).toContain("env LIVE360_EDGE_SIGNING_KEYS;");
    expect(conf["nginx.conf"]).toContain('if ($edge_signed != 1) { return 403 "forbidden\\n"; }');
    expect(conf["nginx.conf"]).toContain("set $edge_max_lifetime 3600;");
    expect(Object.keys(conf)).toContain("edge-access.js");
    for (const role of ["primary", "backup"]) {
      const pod = find<V1StatefulSet>(objects, "StatefulSet", `demo-origin-${role}`).spec?.template.spec;
      const argv = pod?.containers[0]?.args ?? [];
      expect([flag(argv, "--hls-encryption-secret-file"), flag(argv, "--hls-key-rotation")]).toEqual(["/etc/live360/hls/secret", "5"]);
      expect(pod?.volumes?.find((v) => v.name === "hls-encryption")?.secret).toEqual({ secretName: "demo-hls", items: [{ key: "k", path: "secret" }], defaultMode: 0o440 });
      expect(pod?.containers[0]?.volumeMounts).toContainEqual({ name: "hls-encryption", mountPath: "/etc/live360/hls", readOnly: true });
    }
    // Neither by default.
    const plain = liveEventResources(liveEvent("demo", { streamName: "demo" }), resolveOperatorConfig());
    expect(find<V1Deployment>(plain, "Deployment", "demo-edge").spec?.template.spec?.containers[0]?.env).toBeUndefined();
    expect(JSON.stringify(plain)).not.toContain("hls-encryption");
    expect(find<KubernetesObject & { data: Record<string, string> }>(plain, "ConfigMap", "demo-edge").data["nginx.conf"]).not.toContain("edge_signed");
  });

  test("an LL-HLS event's edges wait for parts in the sidecar's relay, about a part's wait on an origin before the next one (longer parts, longer waits); nginx falls back to the origins without it", () => {
    const edgeOf = (hls: LiveEventSpecInput["hls"], config: OperatorConfigInput = {}) => {
      const objects = liveEventResources(liveEvent("demo", { streamName: "demo", hls }), resolveOperatorConfig(config));
      const containers = find<V1Deployment>(objects, "Deployment", "demo-edge").spec!.template.spec!.containers;
      const conf = find<KubernetesObject & { data: Record<string, string> }>(objects, "ConfigMap", "demo-edge").data["nginx.conf"]!;
      return { conf, sidecar: containers.find((c) => c.name === "metrics") };
    };
    const flag = (args: string[] | undefined, name: string): string[] => (args ?? []).flatMap((a, i) => (a === name ? [args![i + 1]!] : []));
    /** The location whose first line contains `marker`. */
    const locationIn = (conf: string, marker: string): string => {
      const block = conf.slice(conf.indexOf(marker));
      return block.slice(0, block.indexOf("\n    }"));
    };
    const blocking = "location ~ \"^/_edge_blocking";
    const part = "location ~ \"^/hls/.+_[0-9]{1,12}\\.[0-9]{1,6}\\.m4s$\"";
    const origins = ["http://demo-origin-primary.events.svc.cluster.local:8080", "http://demo-origin-backup.events.svc.cluster.local:8080"];

    const longParts = edgeOf({ format: "cmaf", partTargetMs: 900 });
    expect(flag(longParts.sidecar?.args, "--ll-hls-relay-port")).toEqual(["8083"]);
    expect(flag(longParts.sidecar?.args, "--origin")).toEqual(origins);
    expect(flag(longParts.sidecar?.args, "--blocking-read-timeout")).toEqual(["1500"]);
    // The default parts (0.33 s) get the edge's default, which is made for them.
    expect(flag(edgeOf({ format: "cmaf" }).sidecar?.args, "--blocking-read-timeout")).toEqual(["1000"]);
    // nginx passes both kinds to the relay and waits out its whole failover; the origins stand behind it.
    for (const marker of [blocking, part]) expect(locationIn(longParts.conf, marker)).toContain("proxy_pass http://edge_ll_relay");
    const relayUpstream = /\n {2}upstream edge_ll_relay \{[\s\S]*?\n {2}\}/.exec(longParts.conf)?.[0] ?? "";
    expect(relayUpstream).toContain("server 127.0.0.1:8083 max_fails=1");
    expect(relayUpstream).toMatch(/server demo-origin-primary\S+ .*backup;[\s\S]*server demo-origin-backup\S+ .*backup;/);

    // Without viewer insight the sidecar runs for the relay alone; a TS event has no relay.
    const relayOnly = edgeOf({ format: "cmaf" }, { edgeInsight: false }).sidecar;
    expect(flag(relayOnly?.args, "--ll-hls-relay-port")).toEqual(["8083"]);
    expect(flag(relayOnly?.args, "--insight-port")).toEqual([]);
    expect(relayOnly?.volumeMounts).toBeUndefined();
    const ts = edgeOf({ format: "ts" });
    expect(ts.conf).not.toContain("edge_ll_relay");
    expect(flag(ts.sidecar?.args, "--ll-hls-relay-port")).toEqual([]);
    expect(edgeOf({ format: "ts" }, { edgeInsight: false }).sidecar).toBeUndefined();
  });

  test("VOD through the edge: with the egress bucket's URL every edge serves /vod/ from it; an encrypted event's edges mount its HLS secret (nginx's group) and derive its assets' keys", () => {
    const config = resolveOperatorConfig({ vodEgressOrigin: "https://live360-egress.s3.eu-west-1.amazonaws.com" });
    const encrypted = liveEventResources(
      liveEvent("demo", {
        streamName: "demo",
        playback: { signing: { secretRef: { name: "demo-signing" } } },
        hls: { encryption: { secretRef: { name: "demo-hls", key: "k" }, rotationSegments: 5 } },
      }),
      config,
    );
    const conf = find<KubernetesObject & { data: Record<string, string> }>(encrypted, "ConfigMap", "demo-edge").data;
    expect(conf["nginx.conf"]).toContain("server live360-egress.s3.eu-west-1.amazonaws.com:443;");
    expect(conf["nginx.conf"]).toContain("js_content edge_access.vodKey;");
    expect(conf["edge-access.js"]).toContain('fs.readFileSync("/etc/live360/hls/secret", "utf8")');
    const pod = find<V1Deployment>(encrypted, "Deployment", "demo-edge").spec?.template.spec;
    expect(pod?.securityContext).toEqual({ fsGroup: 101, fsGroupChangePolicy: "OnRootMismatch" });
    expect(pod?.volumes?.find((v) => v.name === "hls-encryption")?.secret).toEqual({ secretName: "demo-hls", items: [{ key: "k", path: "secret" }], defaultMode: 0o440 });
    expect(pod?.containers[0]?.volumeMounts).toContainEqual({ name: "hls-encryption", mountPath: "/etc/live360/hls", readOnly: true });
    // The edge takes no flags: the file is named in its ConfigMap only, and no secret is in any manifest.
    expect(pod?.containers[0]?.args).toBeUndefined();

    // A clear event's edges serve its assets but hold no secret and hand out no key.
    const clear = liveEventResources(liveEvent("demo", { streamName: "demo" }), config);
    const clearConf = find<KubernetesObject & { data: Record<string, string> }>(clear, "ConfigMap", "demo-edge").data["nginx.conf"];
    expect(clearConf).toContain("proxy_pass https://edge_vod$uri;");
    expect(clearConf).not.toContain("edge_access.vodKey");
    expect(JSON.stringify(clear)).not.toContain("hls-encryption");
    expect(find<V1Deployment>(clear, "Deployment", "demo-edge").spec?.template.spec?.securityContext).toBeUndefined();

    // Without the URL, edges serve no VOD, encrypted or not.
    const none = liveEventResources(liveEvent("demo", { streamName: "demo", playback: { signing: { secretRef: { name: "demo-signing" } } }, hls: { encryption: { secretRef: { name: "demo-hls" } } } }), resolveOperatorConfig());
    expect(find<KubernetesObject & { data: Record<string, string> }>(none, "ConfigMap", "demo-edge").data["nginx.conf"]).not.toContain("edge_vod");
    expect(find<V1Deployment>(none, "Deployment", "demo-edge").spec?.template.spec?.volumes?.map((v) => v.name)).not.toContain("hls-encryption");
    expect(() => resolveOperatorConfig({ vodEgressOrigin: "s3://live360-egress" })).toThrow(/vodEgressOrigin \(--vod-egress-origin\)/);
  });

  test("CDN-only edges: with an origin-verify Secret the edge mounts it (read per request, so a rotation needs no restart) and refuses requests without the header; the edge NLB gets the given security groups", () => {
    const config = resolveOperatorConfig({
      edgeServiceType: "LoadBalancer",
      edgeCdn: {
        originVerifySecret: "live360-origin-verify",
        securityGroups: ["sg-0123456789abcdef0"],
        tlsCertificateArn: "arn:aws:acm:eu-west-1:123456789012:certificate/01234567-89ab-cdef-0123-456789abcdef",
      },
    });
    const objects = liveEventResources(liveEvent("demo", { streamName: "demo", playback: { signing: { secretRef: { name: "demo-signing" } } } }), config);
    const pod = find<V1Deployment>(objects, "Deployment", "demo-edge").spec?.template.spec;
    expect(pod?.containers[0]?.env).toEqual([{ name: "LIVE360_EDGE_SIGNING_KEYS", valueFrom: { secretKeyRef: { name: "demo-signing", key: "keys" } } }]);
    expect(pod?.volumes?.find((v) => v.name === "origin-verify")?.secret).toEqual({ secretName: "live360-origin-verify", items: [{ key: "values", path: "values" }], defaultMode: 0o444 });
    expect(pod?.containers[0]?.volumeMounts).toContainEqual({ name: "origin-verify", mountPath: "/etc/live360/origin-verify", readOnly: true });
    const files = find<KubernetesObject & { data: Record<string, string> }>(objects, "ConfigMap", "demo-edge").data;
    expect(files["nginx.conf"]).toContain('if ($edge_from_cdn != "1") { return 403 "forbidden\\n"; }');
    expect(files["edge-access.js"]).toContain('fs.readFileSync("/etc/live360/origin-verify/values", "utf8")');
    const service = find<V1Service>(objects, "Service", "demo-edge");
    expect(service.metadata?.annotations).toEqual({
      ...NLB,
      "service.beta.kubernetes.io/aws-load-balancer-security-groups": "sg-0123456789abcdef0",
      "service.beta.kubernetes.io/aws-load-balancer-manage-backend-security-group-rules": "true",
      "service.beta.kubernetes.io/aws-load-balancer-ssl-cert": "arn:aws:acm:eu-west-1:123456789012:certificate/01234567-89ab-cdef-0123-456789abcdef",
      "service.beta.kubernetes.io/aws-load-balancer-ssl-ports": "443",
      "service.beta.kubernetes.io/aws-load-balancer-ssl-negotiation-policy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
    });
    // TLS ends at the NLB; both listeners lead to the pods' plain port.
    expect(service.spec?.ports?.map((p) => `${p.name}:${p.port}->${p.targetPort}`)).toEqual(["http:80->http", "https:443->http"]);
    // Neither by default.
    const plain = liveEventResources(liveEvent("demo", { streamName: "demo" }), resolveOperatorConfig({ edgeServiceType: "LoadBalancer" }));
    expect(find<KubernetesObject & { data: Record<string, string> }>(plain, "ConfigMap", "demo-edge").data["nginx.conf"]).not.toContain("edge_from_cdn");
    expect(find<V1Service>(plain, "Service", "demo-edge").metadata?.annotations).toEqual(NLB);
    expect(find<V1Service>(plain, "Service", "demo-edge").spec?.ports?.map((p) => p.port)).toEqual([80]);
    expect(() => resolveOperatorConfig({ edgeCdn: { securityGroups: ["cloudfront"] } })).toThrow(/edgeCdn.securityGroups \(--edge-security-group\)="cloudfront": give security group ids/);
    expect(() => resolveOperatorConfig({ edgeCdn: { originVerifySecret: "Not_A_Name" } })).toThrow(/Helm value workloads.edgeCdn.originVerifySecret/);
  });

  test("publish keys, low latency, recording and placement reach the pods", () => {
    const objects = liveEventResources(liveEvent("keynote", KITCHEN_SINK), resolveOperatorConfig(KITCHEN_SINK_CONFIG));
    const set = find<V1StatefulSet>(objects, "StatefulSet", "keynote-origin-primary");
    const pod = set.spec?.template.spec;
    const argv = pod?.containers[0]?.args ?? [];
    expect(flag(argv, "--publish-keys-file")).toBe(PUBLISH_KEYS_FILE);
    expect(flagValues(argv, "--allow-stream")).toEqual(["keynote"]);
    expect(pod?.volumes?.find((v) => v.name === "publish-keys")?.secret).toEqual({
      secretName: "keynote-keys",
      items: [{ key: "keys", path: "keys" }],
      defaultMode: 0o444,
    });
    expect(pod?.containers[0]?.volumeMounts).toContainEqual({ name: "publish-keys", mountPath: path.dirname(PUBLISH_KEYS_FILE), readOnly: true });
    expect(argv).toContain("--low-latency");
    expect([flag(argv, "--hls-format"), flag(argv, "--part-target"), flag(argv, "--part-hold-back")]).toEqual(["cmaf", "0.4", "2"]);
    expect(flag(argv, "--ladder")).toBe("source,1280x640:2500k,960x480:1400k,640x320:700k");
    expect([flag(argv, "--ingest-bucket"), flag(argv, "--queue-url"), flag(argv, "--s3-endpoint"), flag(argv, "--region")]).toEqual([
      "ingest",
      "http://sqs.local:9324/000000000000/vod",
      "http://s3.local:7070",
      "eu-west-1",
    ]);
    expect(pod?.nodeSelector).toEqual({ "live360.io/pool": "media" });
    expect(pod?.tolerations).toEqual([{ key: "live360.io/media", operator: "Exists", effect: "NoSchedule" }]);
    expect(pod?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.[0]?.preference.matchExpressions?.[0]?.values).toEqual(["ON_DEMAND"]);
    expect(pod?.containers[0]?.resources).toEqual({ requests: { cpu: "3500m", memory: "3Gi" }, limits: { cpu: 4, memory: "6Gi" } });

    // One origin: no backup, no origin budget (it could only ever block a drain), and the RTMP Service type from the config.
    expect(objects.some((o) => o.metadata?.name?.includes("backup"))).toBe(false);
    expect(objects.some((o) => o.kind === "PodDisruptionBudget" && o.metadata?.name === "keynote-origins")).toBe(false);
    expect(find<V1Service>(objects, "Service", "keynote-origin-primary-rtmp").spec?.type).toBe("NodePort");
    expect(find<V1Service>(objects, "Service", "keynote-origin-primary-rtmp").metadata?.annotations).toBeUndefined();
    expect(find<V1Service>(objects, "Service", "keynote-edge").spec?.type).toBe("LoadBalancer");
    expect(find<V1Service>(objects, "Service", "keynote-edge").metadata?.annotations).toEqual(NLB);
    expect(pod?.serviceAccountName).toBe("live360-origin");
    // On-demand origins never tolerate the Spot origin pool, so on EKS they stay on the untainted on-demand nodes.
    expect(JSON.stringify(pod?.tolerations)).not.toContain('"origin"');
    // Spot edges still go to their pool.
    const edgePod = find<V1Deployment>(objects, "Deployment", "keynote-edge").spec?.template.spec;
    expect(edgePod?.tolerations).toEqual([{ key: "live360.io/pool", operator: "Equal", value: "edge", effect: "NoSchedule" }]);
  });

  test("static AWS keys: both origins take them from the configured Secret, no other pod does, and none without the setting", async () => {
    const event = await exampleEvent();
    const envOf = (objects: KubernetesObject[]) =>
      Object.fromEntries(
        objects
          .filter((o): o is V1StatefulSet | V1Deployment => o.kind === "StatefulSet" || o.kind === "Deployment")
          .map((o) => [`${o.kind}/${o.metadata?.name}`, o.spec?.template.spec?.containers.map((c) => c.env)]),
      );
    const keys = [
      { name: "AWS_ACCESS_KEY_ID", valueFrom: { secretKeyRef: { name: "live360-aws-credentials", key: "AWS_ACCESS_KEY_ID" } } },
      { name: "AWS_SECRET_ACCESS_KEY", valueFrom: { secretKeyRef: { name: "live360-aws-credentials", key: "AWS_SECRET_ACCESS_KEY" } } },
    ];
    expect(envOf(liveEventResources(event, resolveOperatorConfig({ awsCredentialsSecret: "live360-aws-credentials" })))).toEqual({
      "StatefulSet/demo-origin-primary": [keys],
      "StatefulSet/demo-origin-backup": [keys],
      "Deployment/demo-edge": [undefined],
      "Deployment/demo-test-source": [undefined],
    });
    // EKS: credentials come from the origin ServiceAccount's Pod Identity; no pod names a Secret.
    const eks = liveEventResources(event, resolveOperatorConfig({ originServiceAccount: "live360-origin" }));
    expect(Object.values(envOf(eks)).flat().every((env) => env === undefined)).toBe(true);
    expect(JSON.stringify(eks)).not.toContain("secretKeyRef");
  });

  test("Spot origins and edges tolerate their eks-infra node pool and prefer it; required only when configured", async () => {
    const event = await exampleEvent();
    const podsOf = (objects: KubernetesObject[]) => ({
      origin: find<V1StatefulSet>(objects, "StatefulSet", "demo-origin-primary").spec?.template.spec,
      edge: find<V1Deployment>(objects, "Deployment", "demo-edge").spec?.template.spec,
    });
    const preferring = podsOf(liveEventResources(event, resolveOperatorConfig()));
    for (const pool of ["origin", "edge"] as const) {
      const pod = preferring[pool];
      expect(pod?.tolerations).toEqual([{ key: "live360.io/pool", operator: "Equal", value: pool, effect: "NoSchedule" }]);
      // A preference: clusters without pools (kind, the tests' kwok nodes) still schedule the pods.
      expect(pod?.nodeSelector).toBeUndefined();
      expect(pod?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution).toContainEqual({
        weight: 50,
        preference: { matchExpressions: [{ key: "live360.io/pool", operator: "In", values: [pool] }] },
      });
    }
    expect(preferring.origin?.serviceAccountName).toBeUndefined();

    const requiring = podsOf(liveEventResources(event, resolveOperatorConfig({ nodePools: { require: true } })));
    expect(requiring.origin?.nodeSelector).toEqual({ "live360.io/pool": "origin" });
    expect(requiring.edge?.nodeSelector).toEqual({ "live360.io/pool": "edge" });

    // eks-infra's example spells the toleration out as well: it is listed once.
    const spelled = structuredClone(event);
    spelled.spec.origin.tolerations = [{ key: "live360.io/pool", operator: "Equal", value: "origin", effect: "NoSchedule" }];
    expect(podsOf(liveEventResources(spelled, resolveOperatorConfig())).origin?.tolerations).toHaveLength(1);

    const none = podsOf(liveEventResources(event, resolveOperatorConfig({ nodePools: { origin: undefined, edge: undefined } })));
    expect(none.origin?.tolerations).toBeUndefined();
    expect(none.edge?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution).toHaveLength(1);
  });

  test("LoadBalancer Services, RTMP and edge, get an internet-facing NLB to the pod IPs", async () => {
    const objects = liveEventResources(await exampleEvent(), resolveOperatorConfig({ rtmpServiceType: "LoadBalancer", edgeServiceType: "LoadBalancer" }));
    for (const name of ["demo-origin-primary-rtmp", "demo-origin-backup-rtmp", "demo-edge"]) {
      expect(find<V1Service>(objects, "Service", name).metadata?.annotations).toEqual(NLB);
    }
    expect(find<V1Service>(objects, "Service", "demo-origin-primary").metadata?.annotations).toBeUndefined();
  });

  test("the edge: no replica count (the autoscaler owns it), nginx.conf with the primary first, rolled when the config changes", async () => {
    const event = await exampleEvent();
    const objects = liveEventResources(event, resolveOperatorConfig());
    const deployment = find<V1Deployment>(objects, "Deployment", "demo-edge");
    expect(deployment.spec && "replicas" in deployment.spec).toBe(false);
    const hpa = find<V1HorizontalPodAutoscaler & { spec: { metrics: unknown[] } }>(objects, "HorizontalPodAutoscaler", "demo-edge");
    expect(hpa.apiVersion).toBe("autoscaling/v2");
    expect(hpa.spec).toMatchObject({ scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "demo-edge" }, minReplicas: 2, maxReplicas: 20 });
    // Scaled on nginx's CPU, never the metrics sidecar's.
    expect(hpa.spec.metrics).toEqual([{ type: "ContainerResource", containerResource: { name: "cpu", container: "nginx", target: { type: "Utilization", averageUtilization: 70 } } }]);
    // Viewer insight: the metrics sidecar beside nginx, reading what nginx spools to the volume they share.
    const pod = deployment.spec?.template.spec;
    expect(pod?.containers.map((c) => c.name)).toEqual(["nginx", "metrics"]);
    const spoolMounts = pod?.containers.map((c) => c.volumeMounts?.find((m) => m.name === "insight-spool")?.mountPath);
    expect(spoolMounts).toEqual(["/var/cache/live360-edge/insight", "/var/cache/live360-edge/insight"]);
    expect(pod?.containers[1]?.args).toEqual(expect.arrayContaining(["--insight-dir", "/var/cache/live360-edge/insight"]));
    expect((find(objects, "ConfigMap", "demo-edge") as { data?: Record<string, string> }).data?.["nginx.conf"]).toContain("access_log /var/cache/live360-edge/insight/$insight_second.log insight if=$insight_line;");
    // Without it: nginx alone, no peers Service.
    const without = liveEventResources(event, resolveOperatorConfig({ edgeInsight: false }));
    expect(find<V1Deployment>(without, "Deployment", "demo-edge").spec?.template.spec?.containers.map((c) => c.name)).toEqual(["nginx"]);
    expect(without.some((o) => o.kind === "Service" && o.metadata?.name === "demo-edge-peers")).toBe(false);

    const conf = (find(objects, "ConfigMap", "demo-edge") as { data?: Record<string, string> }).data?.["nginx.conf"] ?? "";
    const primary = conf.indexOf("server demo-origin-primary.events.svc.cluster.local:8080");
    const backup = conf.indexOf("server demo-origin-backup.events.svc.cluster.local:8080");
    expect(primary).toBeGreaterThan(0);
    expect(backup).toBeGreaterThan(primary);
    expect(conf.slice(backup).split("\n")[0]).toMatch(/ backup;/);

    const checksum = (objects: KubernetesObject[]) =>
      find<V1Deployment>(objects, "Deployment", "demo-edge").spec?.template.metadata?.annotations?.["live360.io/config-sha256"];
    const bigger = { ...event, spec: { ...event.spec, edge: { ...event.spec.edge, cacheSizeMegabytes: 8192 } } };
    expect(checksum(liveEventResources(bigger, resolveOperatorConfig()))).not.toBe(checksum(objects));
    expect(checksum(liveEventResources(event, resolveOperatorConfig()))).toBe(checksum(objects));
  });

  test("pure: the same event gives the same manifests and is not modified", async () => {
    const event = await exampleEvent();
    const before = structuredClone(event);
    const config = resolveOperatorConfig();
    expect(liveEventResources(event, config)).toEqual(liveEventResources(event, config));
    expect(event).toEqual(before);
  });

  test("with a single origin the test source publishes to it alone", async () => {
    const event = await exampleEvent();
    const single = { ...event, spec: { ...event.spec, origin: { ...event.spec.origin, redundancy: "single" as const } } };
    const source = args(liveEventResources(single, resolveOperatorConfig()), "Deployment", "demo-test-source");
    expect(flagValues(source, "--url")).toEqual(["rtmp://demo-origin-primary-rtmp.events.svc.cluster.local:1935/live/demo"]);
  });

  test("the test source, standing in for an outside encoder, avoids the origins' nodes and their Spot capacity", async () => {
    const event = await exampleEvent();
    const objects = liveEventResources(event, resolveOperatorConfig({ nodePools: { origin: "live360-spot", require: true } }));
    const pod = (objects.find((o) => o.kind === "Deployment" && o.metadata?.name === "demo-test-source") as V1Deployment).spec!.template.spec!;
    expect(pod.nodeSelector).toBeUndefined();
    expect(pod.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution?.[0]?.preference.matchExpressions).toEqual([
      { key: "eks.amazonaws.com/capacityType", operator: "In", values: ["ON_DEMAND"] },
    ]);
    const originPod = (objects.find((o) => o.kind === "StatefulSet") as V1StatefulSet).spec!.template.metadata!.labels!;
    const [avoid] = pod.affinity!.podAntiAffinity!.preferredDuringSchedulingIgnoredDuringExecution!;
    expect(avoid!.podAffinityTerm.topologyKey).toBe("kubernetes.io/hostname");
    for (const [key, value] of Object.entries(avoid!.podAffinityTerm.labelSelector!.matchLabels!)) expect(originPod[key]).toBe(value);
  });

  test("the test source is optional", async () => {
    const event = await exampleEvent();
    const withoutSource = { ...event, spec: { ...event.spec, testSource: { ...event.spec.testSource, enabled: false } } };
    expect(liveEventResources(withoutSource, resolveOperatorConfig()).some((o) => o.metadata?.name === "demo-test-source")).toBe(false);
  });
});
