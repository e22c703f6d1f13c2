import { describe, expect, test } from "@jest/globals";
import { BeaconCollector } from "./beacon.js";

class Clock {
  ms = 0;
  readonly now = (): number => this.ms;
}

describe("BeaconCollector", () => {
  test("an interval's play and stall time, stalls after the first frame, startup once, and a fresh interval after each flush", () => {
    const clock = new Clock();
    const beacon = new BeaconCollector("sid-1", "demo", clock.now);
    expect(beacon.flush()).toBeUndefined();
    // Waiting for the start is startup, not a stall.
    beacon.setState("stalled");
    clock.ms = 700;
    beacon.firstFrame(850.4);
    beacon.setState("playing");
    clock.ms = 5700;
    beacon.setState("stalled");
    clock.ms = 6200;
    beacon.setState("playing");
    beacon.rungSwitched();
    beacon.error("network");
    beacon.error("fatal");
    beacon.droppedFrames(7);
    beacon.view(10, 5, 80);
    clock.ms = 10_700;
    expect(beacon.flush()).toEqual({
      v: 1,
      sid: "sid-1",
      cid: "demo",
      startupMs: 850,
      playedMs: 9500,
      rebufferMs: 500,
      rebuffers: 1,
      droppedFrames: 7,
      rungSwitches: 1,
      errors: [
        { kind: "network", fatal: false },
        { kind: "fatal", fatal: true },
      ],
      views: [[10, 5, 80]],
    });
    beacon.droppedFrames(9);
    beacon.firstFrame(5000);
    clock.ms = 20_700;
    beacon.setState("stalled");
    clock.ms = 21_700;
    expect(beacon.flush()).toEqual({ v: 1, sid: "sid-1", cid: "demo", playedMs: 10_000, rebufferMs: 1000, rebuffers: 1, droppedFrames: 2, rungSwitches: 0, errors: [], views: [] });
  });

  test("paused time is neither played nor stalled; an idle interval sends nothing", () => {
    const clock = new Clock();
    const beacon = new BeaconCollector("s", "demo", clock.now);
    beacon.firstFrame(100);
    beacon.setState("playing");
    clock.ms = 1000;
    beacon.setState("idle");
    clock.ms = 60_000;
    expect(beacon.flush()).toMatchObject({ playedMs: 1000, rebufferMs: 0, rebuffers: 0 });
    clock.ms = 70_000;
    expect(beacon.flush()).toBeUndefined();
  });

  test("views are clamped and rounded to what the edge accepts, and capped at the last 120", () => {
    const beacon = new BeaconCollector("s", "demo", () => 0);
    beacon.view(190.123, -95, 0);
    for (let i = 0; i < 130; i += 1) beacon.view(i, 0, 80);
    const { views } = beacon.flush()!;
    expect(views).toHaveLength(120);
    expect(views[0]).toEqual([10, 0, 80]);
    expect(views.at(-1)).toEqual([129, 0, 80]);
    const single = new BeaconCollector("s", "demo", () => 0);
    single.view(190.123, -95, 0);
    expect(single.flush()!.views).toEqual([[180, -90, 1]]);
  });
});
