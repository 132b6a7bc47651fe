import { afterEach, describe, expect, it } from "vitest";
import { type ScheduledFunctions, type ScheduledHandler, startSchedules } from "#host/schedules.ts";
import { ScheduleEventError, scheduleScale } from "#shared/runtime/schedule.ts";
import { waitUntil } from "#test/helpers/wait.ts";

/**
 * The local host's one scheduler (host/schedules.ts): every `schedule` event of a service called with a
 * schedule event, at its rate shortened by PACKETPULSE_SCHEDULE_SCALE (0.01: rate(1 minute) every 600 ms).
 */

const everyMinute = (name: string) => ({
  functions: { [name]: { handler: `${name}.handler`, events: [{ schedule: "rate(1 minute)" }] } },
});
const env = { PACKETPULSE_SCHEDULE_SCALE: "0.01" };

let running: ScheduledFunctions[] = [];
afterEach(async () => {
  await Promise.all(running.map((schedules) => schedules.stop()));
  running = [];
});

async function schedule(handler: ScheduledHandler, runAtStart = false) {
  const lines: string[] = [];
  const schedules = await startSchedules({
    serverlessConfig: everyMinute("probe"),
    handlers: { probe: handler },
    runAtStart: runAtStart ? ["probe"] : [],
    healthChecked: ["probe"],
    env,
    say: (line) => lines.push(line),
  });
  running.push(schedules);
  return { schedules, lines };
}

describe("PACKETPULSE_SCHEDULE_SCALE", () => {
  it("is 1 when unset or empty, and the number given from 0.01 to 1", () => {
    expect(scheduleScale({})).toBe(1);
    expect(scheduleScale({ PACKETPULSE_SCHEDULE_SCALE: " " })).toBe(1);
    expect(scheduleScale({ PACKETPULSE_SCHEDULE_SCALE: "0.05" })).toBe(0.05);
    expect(scheduleScale({ PACKETPULSE_SCHEDULE_SCALE: "1" })).toBe(1);
    expect(scheduleScale({ PACKETPULSE_SCHEDULE_SCALE: ".5" })).toBe(0.5);
  });

  it.each(["0", "0.001", "2", "-0.5", "abc", "1e-2", "Infinity", "0.05s"])(
    "refuses %j naming the variable",
    (value) => {
      expect(() => scheduleScale({ PACKETPULSE_SCHEDULE_SCALE: value })).toThrow(ScheduleEventError);
      expect(() => scheduleScale({ PACKETPULSE_SCHEDULE_SCALE: value })).toThrow(
        `PACKETPULSE_SCHEDULE_SCALE must be a number from 0.01 to 1, the share of each rate(...) period to wait (0.05 runs rate(1 minute) every 3 s); got "${value}"`,
      );
    },
  );

  it("stops the scheduler from starting when it makes no sense", async () => {
    // Act
    const started = startSchedules({
      serverlessConfig: everyMinute("probe"),
      handlers: { probe: async () => undefined },
      env: { PACKETPULSE_SCHEDULE_SCALE: "fast" },
    });

    // Assess
    await expect(started).rejects.toThrow(/PACKETPULSE_SCHEDULE_SCALE must be a number/);
  });
});

describe("startSchedules", () => {
  it("calls the handler with schedule events one scaled period apart", async () => {
    // Prepare
    const events: Record<string, unknown>[] = [];

    // Act
    const { schedules } = await schedule(async (event) => {
      events.push(event);
    });
    await waitUntil(() => events.length >= 3, "three scheduled runs", 10_000);

    // Assess
    expect(schedules.functions).toEqual([{ name: "probe", expression: "rate(1 minute)", everyMs: 600 }]);
    expect(events[0]).toMatchObject({ source: "aws.events", "detail-type": "Scheduled Event" });
    const times = events.slice(0, 3).map((event) => Date.parse(event.time as string));
    expect([times[1]! - times[0]!, times[2]! - times[1]!]).toEqual([600, 600]);
    expect(new Set(events.map((event) => event.id)).size).toBe(events.length);
  });

  it("runs a function named in runAtStart at once, before its first period", async () => {
    // Prepare
    let runs = 0;

    // Act
    const { schedules } = await schedule(async () => {
      runs++;
    }, true);
    await schedules.startRuns;

    // Assess
    expect(runs).toBe(1);
    expect(schedules.ticks("probe")).toBe(0);
  });

  it("skips a tick that comes while the previous run is still going", async () => {
    // Prepare: the first run lasts until released.
    let release = () => {};
    let runs = 0;
    const { schedules, lines } = await schedule(
      () =>
        new Promise<void>((resolve) => {
          runs++;
          release = resolve;
        }),
    );

    // Act
    await waitUntil(() => schedules.ticks("probe") >= 3, "three ticks", 10_000);
    release();
    await waitUntil(() => lines.length >= 1, "the first run's line", 10_000);

    // Assess
    expect(runs).toBe(1);
    expect(lines[0]).toMatch(/^probe finished in \d+ ms$/);
  });

  it("reports a failing function degraded, then failing after three failed runs in a row", async () => {
    // Prepare
    const { schedules, lines } = await schedule(async () => {
      throw new Error("no bronze table");
    });
    const [check] = schedules.healthChecks();

    // Act
    const first = await waitUntil(async () => {
      const result = await check!.check();
      return result.status !== "ok" ? result : undefined;
    }, "a failed run");
    await waitUntil(() => lines.length >= 3, "three failed runs", 10_000);
    const later = await check!.check();

    // Assess
    expect(check!.component).toBe("probe");
    expect(first).toMatchObject({ status: "degraded", detail: "no bronze table" });
    expect(later.status).toBe("failing");
    expect(lines[0]).toBe("probe failed: no bronze table");
  });

  it("runs nothing after stop, while another schedule of the same rate keeps ticking", async () => {
    // Prepare
    let runs = 0;
    const { schedules } = await schedule(async () => {
      runs++;
    });
    const marker = await schedule(async () => undefined);
    await waitUntil(() => runs >= 1, "a first run", 10_000);

    // Act
    await schedules.stop();
    const runsAtStop = runs;
    const ticksAtStop = marker.schedules.ticks("probe");
    await waitUntil(
      () => marker.schedules.ticks("probe") >= ticksAtStop + 2,
      "two more ticks elsewhere",
      10_000,
    );

    // Assess
    expect(runs).toBe(runsAtStop);
  });
});
