import { describe, expect, test } from "@jest/globals";
import type { KubernetesObject } from "@kubernetes/client-node";
import { createLogger } from "@live360/core";
import { Informer, type ListResult, type ListWatch, type WatchEventType } from "./informer.js";

/**
 * The informer's state machine against a scripted list/watch, to reach the paths a healthy API
 * server rarely takes on demand (410 after compaction, dropped watches). The client-node
 * list/watch itself is exercised against the real API server in the reconciler's tests.
 */
type Emit = (type: WatchEventType, object: unknown) => void;
type Session = (emit: Emit) => Promise<void>;

function configMap(name: string, resourceVersion: string): KubernetesObject {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { namespace: "ns", name, resourceVersion } };
}

class ScriptedListWatch implements ListWatch<KubernetesObject> {
  readonly watchedFrom: string[] = [];
  constructor(
    private readonly lists: ListResult<KubernetesObject>[],
    private readonly sessions: Session[],
  ) {}

  async list(): Promise<ListResult<KubernetesObject>> {
    const next = this.lists.shift();
    if (!next) throw new Error("unexpected list");
    return next;
  }

  async watch(resourceVersion: string, onEvent: Emit, signal: AbortSignal): Promise<void> {
    this.watchedFrom.push(resourceVersion);
    const session = this.sessions.shift();
    if (session) return session(onEvent);
    // Script exhausted: stay connected until the informer stops.
    await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
  }
}

const quiet = createLogger("test", { sink: () => {} });

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 1));
  expect(condition()).toBe(true);
}

describe("Informer", () => {
  test("loads the list, then applies watch events; bookmarks move the resourceVersion the next watch starts from", async () => {
    const source = new ScriptedListWatch(
      [{ items: [configMap("a", "10"), configMap("b", "11")], resourceVersion: "12" }],
      [
        async (emit) => {
          emit("ADDED", configMap("c", "13"));
          emit("MODIFIED", configMap("a", "14"));
          emit("DELETED", configMap("b", "15"));
          emit("BOOKMARK", { kind: "ConfigMap", metadata: { resourceVersion: "20" } });
        },
      ],
    );
    const informer = new Informer(source, { name: "configmaps", logger: quiet });
    const changed: string[] = [];
    informer.onChange((object) => changed.push(`${object.metadata?.name}@${object.metadata?.resourceVersion}`));
    informer.start();
    await informer.waitForSync();
    await until(() => source.watchedFrom.length === 2);
    await informer.stop();

    expect(changed).toEqual(["a@10", "b@11", "c@13", "a@14", "b@15"]);
    expect(informer.list().map((o) => o.metadata?.name).sort()).toEqual(["a", "c"]);
    expect(informer.get("ns/a")?.metadata?.resourceVersion).toBe("14");
    expect(source.watchedFrom).toEqual(["12", "20"]);
    expect(informer.lists).toBe(1);
  });

  test("a 410 relists; objects that vanished meanwhile are reported once and dropped", async () => {
    const source = new ScriptedListWatch(
      [
        { items: [configMap("a", "10"), configMap("b", "11")], resourceVersion: "12" },
        { items: [configMap("a", "10"), configMap("c", "30")], resourceVersion: "31" },
      ],
      [async (emit) => emit("ERROR", { kind: "Status", code: 410, reason: "Expired", message: "too old resource version" })],
    );
    const informer = new Informer(source, { name: "configmaps", logger: quiet });
    const changed: string[] = [];
    informer.onChange((object) => changed.push(`${object.metadata?.name}@${object.metadata?.resourceVersion}`));
    informer.start();
    await until(() => source.watchedFrom.length === 2);
    await informer.stop();

    // "a" did not change between the lists, so it is not reported again.
    expect(changed).toEqual(["a@10", "b@11", "b@11", "c@30"]);
    expect(informer.list().map((o) => o.metadata?.name).sort()).toEqual(["a", "c"]);
    expect(source.watchedFrom).toEqual(["12", "31"]);
    expect(informer.lists).toBe(2);
  });

  test("a dropped watch resumes from the last resourceVersion without relisting", async () => {
    const source = new ScriptedListWatch(
      [{ items: [], resourceVersion: "5" }],
      [
        async (emit) => {
          emit("ADDED", configMap("a", "6"));
          throw Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
        },
      ],
    );
    const informer = new Informer(source, { name: "configmaps", logger: quiet, retry: { initialMs: 1, maxMs: 1 } });
    informer.start();
    await until(() => source.watchedFrom.length === 2);
    await informer.stop();
    expect(source.watchedFrom).toEqual(["5", "6"]);
    expect(informer.lists).toBe(1);
    expect(informer.get("ns/a")).toBeDefined();
  });

  test("stop() ends a running watch and releases anyone waiting for the first sync", async () => {
    const source = new ScriptedListWatch([], []);
    const informer = new Informer(source, { name: "configmaps", logger: quiet, retry: { initialMs: 60_000, maxMs: 60_000 } });
    informer.start();
    const waiting = informer.waitForSync();
    await informer.stop();
    await waiting;
    expect(informer.hasSynced).toBe(false);
  });
});
