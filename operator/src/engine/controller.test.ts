import { describe, expect, test } from "@jest/globals";
import type { KubernetesObject } from "@kubernetes/client-node";
import { createLogger } from "@live360/core";
import { Controller } from "./controller.js";
import { Informer, type ListWatch } from "./informer.js";

const quiet = createLogger("test", { sink: () => {} });

/** An informer over a fixed list whose watch stays open: the test drives changes through onChange handlers. */
function staticInformer(names: string[]): Informer<KubernetesObject> {
  const source: ListWatch<KubernetesObject> = {
    list: async () => ({ items: names.map((name) => ({ metadata: { namespace: "ns", name, resourceVersion: "1" } })), resourceVersion: "1" }),
    watch: (_rv, _onEvent, signal) => new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true })),
  };
  return new Informer(source, { name: "test", logger: quiet });
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 2000 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 1));
  expect(condition()).toBe(true);
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => {};
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe("Controller", () => {
  test("changes during a reconcile collapse into one more reconcile of that key, which sees only the key", async () => {
    const informer = staticInformer([]);
    const seen: string[] = [];
    const gate = deferred();
    const controller = new Controller({
      name: "test",
      logger: quiet,
      workers: 2,
      reconcile: async (...args: unknown[]) => {
        seen.push(args.join("|"));
        if (seen.length === 1) await gate.promise;
      },
    });
    controller.watchPrimary(informer);
    controller.start();
    controller.queue.add("ns/a");
    await until(() => seen.length === 1);
    for (let i = 0; i < 5; i++) controller.queue.add("ns/a");
    // The second worker must not pick up ns/a while the first still reconciles it.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(seen).toEqual(["ns/a"]);
    gate.resolve();
    await until(() => seen.length === 2);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(seen).toEqual(["ns/a", "ns/a"]);
    await controller.stop();
  });

  test("a failing reconcile is retried with backoff until it succeeds, then the failures are forgotten", async () => {
    let calls = 0;
    const controller = new Controller({
      name: "test",
      logger: quiet,
      backoff: { baseDelayMs: 1, maxDelayMs: 4 },
      reconcile: async () => {
        calls += 1;
        if (calls < 4) throw new Error(`attempt ${calls} failed`);
      },
    });
    controller.start();
    controller.queue.add("ns/a");
    await until(() => calls === 4);
    await until(() => controller.queue.failuresOf("ns/a") === 0);
    await controller.stop();
  });

  test("every object of the primary informer is reconciled at start and again at each resync", async () => {
    const informer = staticInformer(["a", "b"]);
    const seen: string[] = [];
    const controller = new Controller({ name: "test", logger: quiet, resyncIntervalMs: 30, reconcile: async (key) => void seen.push(key) });
    controller.watchPrimary(informer);
    informer.start();
    await informer.waitForSync();
    controller.start();
    await until(() => seen.filter((key) => key === "ns/a").length >= 3 && seen.filter((key) => key === "ns/b").length >= 3);
    await controller.stop();
    await informer.stop();
  });

  test("stop() waits for the reconcile in progress and starts no new one", async () => {
    const gate = deferred();
    const seen: string[] = [];
    let finished = false;
    const controller = new Controller({
      name: "test",
      logger: quiet,
      workers: 1,
      reconcile: async (key) => {
        seen.push(key);
        await gate.promise;
        finished = true;
      },
    });
    controller.start();
    controller.queue.add("ns/a");
    controller.queue.add("ns/b");
    await until(() => seen.length === 1);
    const stopped = controller.stop();
    setTimeout(() => gate.resolve(), 10);
    await stopped;
    expect(finished).toBe(true);
    expect(seen).toEqual(["ns/a"]);
  });
});
