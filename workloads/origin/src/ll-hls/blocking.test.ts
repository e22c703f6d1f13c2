import { afterEach, beforeEach, describe, expect, jest, test } from "@jest/globals";
import {
  DEFAULT_MAX_WAITING,
  PlaylistWaiters,
  advancePartLimit,
  decidePartRequest,
  decidePlaylistRequest,
  type PartWaitOutcome,
  type PlaylistWaitOutcome,
} from "./blocking.js";
import { variantState } from "./state.fixture.js";

// 1-s segments of two 0.5-s parts: 100…104 complete, 105 has part 0. The hint is 105.1.
const live = variantState({ openParts: 1 });

describe("the 400 rules", () => {
  const reasonFor = (query: string, state = live): string | undefined => {
    const decision = decidePlaylistRequest(state, query);
    return decision.kind === "bad-request" ? decision.reason : undefined;
  };

  test("_HLS_part without _HLS_msn (6.2.5.2: MUST), whatever the state", () => {
    expect(reasonFor("_HLS_part=1")).toBe("_HLS_part without _HLS_msn");
    expect(reasonFor("_HLS_part=1", variantState({ ended: true }))).toBe("_HLS_part without _HLS_msn");
  });

  test.each([
    ["abc", "a word"],
    ["1.5", "a fraction"],
    ["-1", "a negative number"],
    ["+1", "a sign"],
    ["", "nothing"],
    ["0105", "a leading zero"],
    ["%31%30%35", "percent-encoded digits"],
    ["1e2", "an exponent"],
    ["0x69", "hex"],
    [" 105", "a space"],
    ["105#", "trailing junk"],
  ])("_HLS_msn=%s (%s) is not a decimal integer", (value) => {
    expect(reasonFor(`_HLS_msn=${value}`)).toMatch(/^_HLS_msn must be a decimal integer without sign or leading zeros, not "/);
    expect(reasonFor(`_HLS_msn=105&_HLS_part=${value}`)).toMatch(/^_HLS_part must be a decimal integer/);
  });

  test("numbers past what a safe integer holds", () => {
    expect(reasonFor("_HLS_msn=9007199254740993")).toBe('_HLS_msn="9007199254740993" is out of range');
    expect(reasonFor(`_HLS_msn=105&_HLS_part=${"9".repeat(400)}`)).toBe(`_HLS_part="${"9".repeat(24)}…" is out of range`);
  });

  test("a directive given twice, without a value, or spelled in another case", () => {
    expect(reasonFor("_HLS_msn=105&_HLS_msn=105")).toBe("_HLS_msn is given more than once");
    expect(reasonFor("_HLS_msn=105&_HLS_part=0&_HLS_part=1")).toBe("_HLS_part is given more than once");
    expect(reasonFor("_HLS_skip=YES&_HLS_skip=YES")).toBe("_HLS_skip is given more than once");
    expect(reasonFor("_HLS_msn")).toBe("_HLS_msn has no value");
    expect(reasonFor("_hls_msn=105")).toBe('"_hls_msn": the directive is spelled _HLS_msn');
    expect(reasonFor("_HLS_MSN=105&_HLS_part=0")).toBe('"_HLS_MSN": the directive is spelled _HLS_msn');
  });

  test("_HLS_skip other than YES or v2", () => {
    for (const value of ["yes", "V2", "NO", "", "v3", "YES "]) {
      expect(reasonFor(`_HLS_skip=${encodeURIComponent(value)}`)).toMatch(/^_HLS_skip must be YES or v2, not "/);
    }
  });

  test("a hostile value is quoted back short", () => {
    const reason = reasonFor(`_HLS_msn=${"x".repeat(10_000)}`)!;
    expect(reason.length).toBeLessThan(120);
    expect(reason.endsWith(`"${"x".repeat(24)}…"`)).toBe(true);
  });

  test("_HLS_msn more than two segments past the last complete one", () => {
    // The last complete segment is 104: 106 is allowed, 107 is not.
    expect(reasonFor("_HLS_msn=106")).toBeUndefined();
    expect(reasonFor("_HLS_msn=107")).toBe("_HLS_msn=107 is more than two segments past the last one (104)");
    expect(reasonFor("_HLS_msn=9007199254740991&_HLS_part=0")).toMatch(/more than two segments past the last one \(104\)/);
    // Before any segment is complete, the open one counts as the one after the last.
    const starting = variantState({ complete: 0, openParts: 1 });
    expect(reasonFor("_HLS_msn=101", starting)).toBeUndefined();
    expect(reasonFor("_HLS_msn=102", starting)).toMatch(/more than two segments past the last one \(99\)/);
  });

  test("_HLS_part further past the last part than the Advance Part Limit", () => {
    // Parts of 0.5 s: the limit is 3 / 0.5 = 6 parts past the last one, 105.0.
    expect(advancePartLimit(0.5)).toBe(6);
    expect(advancePartLimit(1)).toBe(3);
    expect(advancePartLimit(2)).toBe(3);
    expect(reasonFor("_HLS_msn=105&_HLS_part=6")).toBeUndefined();
    expect(reasonFor("_HLS_msn=105&_HLS_part=7")).toBe("_HLS_part=7 of segment 105 is 7 parts past the last one, more than 6.00");
    // In a later segment, at least one part per segment in between counts.
    expect(reasonFor("_HLS_msn=106&_HLS_part=5")).toBeUndefined();
    expect(reasonFor("_HLS_msn=106&_HLS_part=6")).toMatch(/is 7 parts past the last one/);
    expect(reasonFor("_HLS_msn=105&_HLS_part=9007199254740991")).toMatch(/parts past the last one/);
  });
});

describe("deciding a playlist request", () => {
  test("without directives, or with only _HLS_skip: now", () => {
    expect(decidePlaylistRequest(live, "")).toEqual({ kind: "now", skip: undefined });
    expect(decidePlaylistRequest(live, "_HLS_skip=YES")).toEqual({ kind: "now", skip: "YES" });
    expect(decidePlaylistRequest(live, "_HLS_skip=v2")).toEqual({ kind: "now", skip: "v2" });
  });

  test("parameters that are not directives are not this module's business", () => {
    expect(decidePlaylistRequest(live, "token=abc%20def&expires=1&&=x&_HLS_push=1&_HLS_=&flag")).toEqual({ kind: "now", skip: undefined });
    expect(decidePlaylistRequest(live, "token=abc&_HLS_msn=106&x")).toEqual({ kind: "wait", until: { msn: 106, part: undefined }, skip: undefined });
  });

  test("_HLS_msn alone waits for that segment to be complete", () => {
    expect(decidePlaylistRequest(live, "_HLS_msn=104")).toEqual({ kind: "now", skip: undefined });
    // Long gone from the playlist: the whole playlist, now (6.2.5.2).
    expect(decidePlaylistRequest(live, "_HLS_msn=3")).toEqual({ kind: "now", skip: undefined });
    // 105 has begun but is not complete.
    expect(decidePlaylistRequest(live, "_HLS_msn=105")).toEqual({ kind: "wait", until: { msn: 105, part: undefined }, skip: undefined });
    expect(decidePlaylistRequest(live, "_HLS_msn=106&_HLS_skip=YES")).toEqual({ kind: "wait", until: { msn: 106, part: undefined }, skip: "YES" });
  });

  test("with _HLS_part it waits for that part, or any later one", () => {
    expect(decidePlaylistRequest(live, "_HLS_msn=105&_HLS_part=0")).toEqual({ kind: "now", skip: undefined });
    expect(decidePlaylistRequest(live, "_HLS_msn=104&_HLS_part=1")).toEqual({ kind: "now", skip: undefined });
    // Past the end of segment 104: "Part Index 0 of the following Parent Segment", which exists.
    expect(decidePlaylistRequest(live, "_HLS_msn=104&_HLS_part=2")).toEqual({ kind: "now", skip: undefined });
    expect(decidePlaylistRequest(live, "_HLS_msn=105&_HLS_part=1&_HLS_skip=v2")).toEqual({ kind: "wait", until: { msn: 105, part: 1 }, skip: "v2" });
    expect(decidePlaylistRequest(live, "_HLS_msn=106&_HLS_part=0")).toEqual({ kind: "wait", until: { msn: 106, part: 0 }, skip: undefined });
    // Segment 104 complete with two parts and 105 not begun: part 2 of 104 means 105.0.
    const between = variantState();
    expect(decidePlaylistRequest(between, "_HLS_msn=104&_HLS_part=2")).toEqual({ kind: "wait", until: { msn: 104, part: 2 }, skip: undefined });
  });

  test("an ended stream ignores _HLS_msn and _HLS_part: now, however far ahead", () => {
    const ended = variantState({ ended: true });
    expect(decidePlaylistRequest(ended, "_HLS_msn=999999&_HLS_part=99")).toEqual({ kind: "now", skip: undefined });
  });

  test("a variant with nothing yet: a blocking request waits (and is judged when the first part comes)", () => {
    const empty = variantState({ complete: 0 });
    expect(decidePlaylistRequest(empty, "_HLS_msn=5000")).toEqual({ kind: "wait", until: { msn: 5000, part: undefined }, skip: undefined });
  });
});

describe("deciding a part request", () => {
  test("a part the variant holds is sent now, listed in the playlist or not", () => {
    expect(decidePartRequest(live, { msn: 105, part: 0 })).toEqual({ kind: "now", part: live.open!.parts[0] });
    expect(decidePartRequest(live, { msn: 100, part: 1 })).toEqual({ kind: "now", part: live.segments[0]!.parts[1] });
  });

  test("the hinted part, and the one after it, are held; the rest is not found", () => {
    expect(decidePartRequest(live, { msn: 105, part: 1 })).toEqual({ kind: "wait", until: { msn: 105, part: 1 } });
    expect(decidePartRequest(live, { msn: 105, part: 2 })).toEqual({ kind: "wait", until: { msn: 105, part: 2 } });
    expect(decidePartRequest(live, { msn: 106, part: 0 })).toEqual({ kind: "wait", until: { msn: 106, part: 0 } });
    expect(decidePartRequest(live, { msn: 105, part: 3 })).toEqual({ kind: "not-found" });
    expect(decidePartRequest(live, { msn: 106, part: 1 })).toEqual({ kind: "not-found" });
    expect(decidePartRequest(live, { msn: 99, part: 0 })).toEqual({ kind: "not-found" });
    expect(decidePartRequest(live, { msn: 104, part: 2 })).toEqual({ kind: "not-found" });
  });

  test("with no open segment the hint is the next segment's first part", () => {
    const between = variantState();
    expect(decidePartRequest(between, { msn: 105, part: 0 })).toEqual({ kind: "wait", until: { msn: 105, part: 0 } });
    expect(decidePartRequest(between, { msn: 105, part: 1 })).toEqual({ kind: "wait", until: { msn: 105, part: 1 } });
  });

  test("an ended stream, or one with nothing yet, holds nothing", () => {
    expect(decidePartRequest(variantState({ ended: true }), { msn: 105, part: 0 })).toEqual({ kind: "not-found" });
    expect(decidePartRequest(variantState({ complete: 0 }), { msn: 100, part: 0 })).toEqual({ kind: "not-found" });
  });
});

describe("waiting requests", () => {
  let waiters: PlaylistWaiters;
  beforeEach(() => {
    jest.useFakeTimers();
    waiters = new PlaylistWaiters();
  });
  afterEach(() => {
    waiters.close();
    jest.useRealTimers();
  });

  /** Lets settled promises' callbacks run. */
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };

  test("woken by the state that answers them, in stream order, oldest first; the others wait on", async () => {
    const order: string[] = [];
    const track = <T extends { kind: string }>(label: string, p: Promise<T>): Promise<T> =>
      p.then((outcome) => {
        order.push(`${label}:${outcome.kind}`);
        return outcome;
      });
    const all = [
      track("msn106", waiters.waitForPlaylist(live, { msn: 106, part: undefined })),
      track("part105.1", waiters.waitForPart(live, { msn: 105, part: 1 })),
      track("msn105", waiters.waitForPlaylist(live, { msn: 105, part: undefined })),
      track("105.1-a", waiters.waitForPlaylist(live, { msn: 105, part: 1 })),
      track("106.0", waiters.waitForPlaylist(live, { msn: 106, part: 0 })),
      track("105.1-b", waiters.waitForPlaylist(live, { msn: 105, part: 1 })),
    ];
    expect(waiters.waiting).toBe(6);
    // Another variant moving on wakes nobody here.
    waiters.advance(variantState({ name: "360p", openParts: 2 }));
    await settle();
    expect(order).toEqual([]);

    // 105.1 is made.
    waiters.advance(variantState({ openParts: 2 }));
    await settle();
    expect(order).toEqual(["105.1-a:ready", "105.1-b:ready", "part105.1:ready"]);
    expect(waiters.waiting).toBe(3);

    // 105 completes and 106 begins: segment 105 first, then the part of 106.
    waiters.advance(variantState({ complete: 6, openParts: 1 }));
    await settle();
    expect(order.slice(3)).toEqual(["msn105:ready", "106.0:ready"]);
    waiters.advance(variantState({ complete: 7 }));
    await settle();
    expect(order.slice(5)).toEqual(["msn106:ready"]);
    expect(waiters.waiting).toBe(0);
    expect(jest.getTimerCount()).toBe(0);

    const [, part] = (await Promise.all(all)) as [PlaylistWaitOutcome, PartWaitOutcome];
    expect(part).toEqual({ kind: "ready", part: variantState({ openParts: 2 }).open!.parts[1] });
  });

  test("a playlist answer carries the state that answered it", async () => {
    const waiting = waiters.waitForPlaylist(live, { msn: 105, part: 1 });
    const next = variantState({ openParts: 2 });
    waiters.advance(next);
    expect(await waiting).toEqual({ kind: "ready", state: next });
  });

  test("a request the state already answers is not held", async () => {
    expect(await waiters.waitForPlaylist(live, { msn: 105, part: 0 })).toEqual({ kind: "ready", state: live });
    expect(await waiters.waitForPart(live, { msn: 105, part: 0 })).toEqual({ kind: "ready", part: live.open!.parts[0] });
    expect(waiters.waiting).toBe(0);
    expect(jest.getTimerCount()).toBe(0);
  });

  test("503 after three target durations by default, or the configured time", async () => {
    const playlist = waiters.waitForPlaylist(live, { msn: 106, part: undefined });
    const part = waiters.waitForPart(variantState({ targetDurationSeconds: 2, openParts: 1 }), { msn: 105, part: 1 });
    let done = false;
    void playlist.then(() => (done = true));
    jest.advanceTimersByTime(2999);
    await settle();
    expect(done).toBe(false);
    jest.advanceTimersByTime(1);
    expect(await playlist).toEqual({ kind: "timeout" });
    expect(waiters.waiting).toBe(1);
    jest.advanceTimersByTime(3000);
    expect(await part).toEqual({ kind: "timeout" });
    expect(waiters.timeouts).toBe(2);
    expect(waiters.waiting).toBe(0);
    expect(jest.getTimerCount()).toBe(0);

    const quick = new PlaylistWaiters({ timeoutMs: 250 });
    const held = quick.waitForPlaylist(live, { msn: 106, part: undefined });
    jest.advanceTimersByTime(250);
    expect(await held).toEqual({ kind: "timeout" });
    // An answer after the timeout changes nothing.
    quick.advance(variantState({ complete: 7 }));
    expect(quick.waiting).toBe(0);
  });

  test("at most maxWaiting held: more are refused at once and counted", async () => {
    expect(new PlaylistWaiters().maxWaiting).toBe(DEFAULT_MAX_WAITING);
    const capped = new PlaylistWaiters({ maxWaiting: 2 });
    const held = [capped.waitForPlaylist(live, { msn: 106, part: undefined }), capped.waitForPart(live, { msn: 105, part: 1 })];
    expect(await capped.waitForPlaylist(live, { msn: 105, part: 1 })).toEqual({ kind: "over-limit" });
    expect(await capped.waitForPart(live, { msn: 105, part: 1 })).toEqual({ kind: "over-limit" });
    expect(capped.limitHits).toBe(2);
    // What needs no wait is still answered.
    expect(await capped.waitForPlaylist(live, { msn: 104, part: undefined })).toEqual({ kind: "ready", state: live });
    expect(capped.limitHits).toBe(2);
    // A place freed is a place taken.
    capped.advance(variantState({ openParts: 2 }));
    expect(await held[1]).toMatchObject({ kind: "ready" });
    const again = capped.waitForPlaylist(live, { msn: 105, part: 1 });
    expect(capped.waiting).toBe(2);
    capped.close();
    expect(await again).toEqual({ kind: "closed" });
    expect(await held[0]).toEqual({ kind: "closed" });
    expect(() => new PlaylistWaiters({ maxWaiting: -1 })).toThrow(RangeError);
    expect(() => new PlaylistWaiters({ maxWaiting: 1.5 })).toThrow(RangeError);
    expect(() => new PlaylistWaiters({ timeoutMs: 0 })).toThrow(RangeError);
    expect(() => new PlaylistWaiters({ timeoutMs: Infinity })).toThrow(RangeError);
  });

  test("close() answers every held request, clears every timer, refuses new ones and can be called again", async () => {
    const held = [waiters.waitForPlaylist(live, { msn: 106, part: 0 }), waiters.waitForPart(live, { msn: 105, part: 1 }), waiters.waitForPlaylist(variantState({ name: "360p", openParts: 1 }), { msn: 105, part: 1 })];
    expect(jest.getTimerCount()).toBe(3);
    waiters.close();
    waiters.close();
    expect(await Promise.all(held)).toEqual([{ kind: "closed" }, { kind: "closed" }, { kind: "closed" }]);
    expect(jest.getTimerCount()).toBe(0);
    expect(waiters.waiting).toBe(0);
    expect(await waiters.waitForPlaylist(live, { msn: 105, part: 0 })).toEqual({ kind: "closed" });
    waiters.advance(variantState({ complete: 9 }));
  });

  test("a client that goes away stops waiting and frees its place and its timer", async () => {
    const controller = new AbortController();
    const gone = waiters.waitForPlaylist(live, { msn: 105, part: 1 }, { signal: controller.signal });
    const stays = waiters.waitForPlaylist(live, { msn: 105, part: 1 });
    expect(jest.getTimerCount()).toBe(2);
    controller.abort();
    expect(await gone).toEqual({ kind: "aborted" });
    expect(waiters.waiting).toBe(1);
    expect(jest.getTimerCount()).toBe(1);
    waiters.advance(variantState({ openParts: 2 }));
    expect(await stays).toMatchObject({ kind: "ready" });
    // Aborting later, or before asking, changes nothing else.
    controller.abort();
    expect(await waiters.waitForPart(live, { msn: 105, part: 1 }, { signal: controller.signal })).toEqual({ kind: "aborted" });
    expect(waiters.waiting).toBe(0);
    expect(jest.getTimerCount()).toBe(0);
  });

  test("a request held before the first part is judged by it: too far ahead is a 400 then", async () => {
    const empty = variantState({ complete: 0 });
    const far = waiters.waitForPlaylist(empty, { msn: 5000, part: undefined });
    const near = waiters.waitForPlaylist(empty, { msn: 100, part: 1 });
    waiters.advance(variantState({ complete: 0, openParts: 1 }));
    expect(await far).toEqual({ kind: "bad-request", reason: "_HLS_msn=5000 is more than two segments past the last one (99)" });
    expect(waiters.waiting).toBe(1);
    waiters.advance(variantState({ complete: 0, openParts: 2 }));
    expect(await near).toMatchObject({ kind: "ready" });
  });

  test("a held part that will never come is not found: its segment completed without it, or the stream ended", async () => {
    const beyond = waiters.waitForPart(live, { msn: 105, part: 2 });
    const next = waiters.waitForPart(live, { msn: 106, part: 0 });
    // 105 ends with two parts.
    waiters.advance(variantState({ complete: 6 }));
    expect(await beyond).toEqual({ kind: "not-found" });
    expect(waiters.waiting).toBe(1);
    const playlist = waiters.waitForPlaylist(variantState({ complete: 6 }), { msn: 106, part: 1 });
    waiters.advance(variantState({ complete: 6, ended: true }));
    expect(await next).toEqual({ kind: "not-found" });
    // A playlist request is answered by the ended playlist (6.2.5.2: directives ignored).
    expect(await playlist).toEqual({ kind: "ready", state: variantState({ complete: 6, ended: true }) });
    expect(jest.getTimerCount()).toBe(0);
  });

  test("many waiters on one position: one group, all woken, nothing left", async () => {
    const many = Array.from({ length: 500 }, () => waiters.waitForPlaylist(live, { msn: 105, part: 1 }));
    expect(waiters.waiting).toBe(500);
    waiters.advance(variantState({ openParts: 2 }));
    const outcomes = await Promise.all(many);
    expect(outcomes.every((o) => o.kind === "ready")).toBe(true);
    expect(waiters.waiting).toBe(0);
    expect(jest.getTimerCount()).toBe(0);
  });
});
