import { beforeAll, describe, expect, it } from "vitest";
import { athens } from "#mars/cities/athens.ts";
import { distanceM } from "#mars/geo.ts";
import { demandAt, orderTimes } from "#mars/orders.ts";
import { Random } from "#mars/random.ts";
import { networkOf, type SimulationOptions, simulate } from "#mars/simulate.ts";
import { LocalClock, Traffic } from "#mars/traffic.ts";
import type { LocationPingEvent, SimulatedEvent, StatusChangedEvent } from "#mars/types.ts";
import { VEHICLE_PROFILES } from "#mars/vehicles.ts";
import { validateV2 } from "#shared/events/index.ts";
import { StreetIndex } from "#test/helpers/mars-geo.ts";

const START = Date.UTC(2024, 4, 1, 4, 0); // Wednesday 1 May 2024, 07:00 in Athens

const BASE: SimulationOptions = { seed: 7, sessions: 60, startMs: START, hours: 14, couriers: 8 };

function run(options: Partial<SimulationOptions> = {}): SimulatedEvent[] {
  return [...simulate({ ...BASE, ...options })];
}

function bySession(events: readonly SimulatedEvent[]): Map<string, SimulatedEvent[]> {
  const sessions = new Map<string, SimulatedEvent[]>();
  for (const e of events) {
    const list = sessions.get(e.event.session_id) ?? [];
    list.push(e);
    sessions.set(e.event.session_id, list);
  }
  return sessions;
}

describe("Mars simulation", () => {
  let noisy: SimulatedEvent[];
  let exact: SimulatedEvent[];

  beforeAll(() => {
    noisy = run();
    exact = run({ gpsNoise: false });
  });

  it("produces the same event stream for the same seed and start", () => {
    // Prepare
    const options = { sessions: 15 };

    // Act
    const first = JSON.stringify(run(options).map((e) => e.event));
    const second = JSON.stringify(run(options).map((e) => e.event));

    // Assess
    expect(second).toBe(first);
  });

  it("produces a different stream for a different seed or start", () => {
    // Prepare
    const reference = run({ sessions: 5 }).map((e) => e.event);

    // Act
    const otherSeed = run({ sessions: 5, seed: 8 }).map((e) => e.event);
    const otherStart = run({ sessions: 5, startMs: START + 86_400_000 }).map((e) => e.event);

    // Assess
    expect(otherSeed[0]!.session_id).not.toBe(reference[0]!.session_id);
    expect(JSON.stringify(otherSeed)).not.toBe(JSON.stringify(reference));
    expect(otherStart[0]!.event_id).not.toBe(reference[0]!.event_id);
  });

  it("simulates every requested session with the three event types", () => {
    // Act
    const types = new Set(noisy.map((e) => e.event.event_type));
    const sessions = noisy.filter((e) => e.event.event_type === "session_started");

    // Assess
    expect(types).toEqual(new Set(["session_started", "location_ping", "status_changed"]));
    expect(sessions).toHaveLength(BASE.sessions);
    expect(new Set(sessions.map((e) => e.event.order_id)).size).toBe(BASE.sessions);
  });

  it("emits only events the shared v2 validator accepts", () => {
    // Act
    const invalid = noisy
      .map((e) => ({ event: e.event, result: validateV2(e.event) }))
      .filter(({ result }) => !result.ok);

    // Assess
    expect(invalid.slice(0, 3)).toEqual([]);
  });

  it("keeps the stream, and so every device's events, in event-time order", () => {
    // Prepare
    const lastByDevice = new Map<string, number>();
    let previous = Number.NEGATIVE_INFINITY;
    let outOfOrder = 0;

    // Act
    for (const e of noisy) {
      const at = Date.parse(e.event.occurred_at);
      expect(at).toBe(e.atMs);
      if (at < previous || at < (lastByDevice.get(e.event.device_id) ?? Number.NEGATIVE_INFINITY))
        outOfOrder++;
      previous = at;
      lastByDevice.set(e.event.device_id, at);
    }

    // Assess
    expect(outOfOrder).toBe(0);
    expect(lastByDevice.size).toBeLessThanOrEqual(BASE.couriers!);
  });

  it("never has two sessions of one device at the same time", () => {
    // Prepare
    const spans = [...bySession(noisy).values()].map((events) => ({
      device: events[0]!.event.device_id,
      from: events[0]!.atMs,
      to: events[events.length - 1]!.atMs,
    }));

    // Act
    const overlaps = spans.filter((a) =>
      spans.some((b) => a !== b && a.device === b.device && a.from < b.to && b.from < a.to),
    );

    // Assess
    expect(overlaps).toEqual([]);
  });

  it("moves every session through a valid lifecycle", () => {
    // Prepare
    const valid = [
      "started,picked_up,en_route,arrived,completed",
      "started,picked_up,en_route,arrived,failed",
      "started,cancelled",
    ];

    for (const events of bySession(noisy).values()) {
      // Act
      const statuses = events
        .map((e) => e.event)
        .filter((e): e is StatusChangedEvent => e.event_type === "status_changed");
      const first = events[0]!.event;
      const last = events[events.length - 1]!.event;

      // Assess
      expect(first.event_type).toBe("session_started");
      expect(valid).toContain(statuses.map((s) => s.status).join(","));
      expect(last).toBe(statuses[statuses.length - 1]);
      for (const s of statuses) {
        const needsReason = s.status === "failed" || s.status === "cancelled";
        expect(s.reason !== undefined).toBe(needsReason);
      }
      if (first.event_type === "session_started") {
        expect(Date.parse(first.promised_at)).toBeGreaterThan(Date.parse(first.occurred_at));
      }
    }
  });

  it("picks up at the merchant and arrives at the customer's door", () => {
    for (const events of bySession(exact).values()) {
      // Prepare
      const started = events[0]!.event;
      if (started.event_type !== "session_started") throw new Error("first event is not session_started");

      // Act
      const at = (status: string) =>
        events.find((e) => e.event.event_type === "status_changed" && e.event.status === status)?.truth;
      const pickedUp = at("picked_up");
      const arrived = at("arrived");

      // Assess
      if (pickedUp) {
        expect(
          distanceM([pickedUp.lon, pickedUp.lat], [started.pickup_lon, started.pickup_lat]),
        ).toBeLessThan(1);
      }
      if (arrived) {
        expect(
          distanceM([arrived.lon, arrived.lat], [started.dropoff_lon, started.dropoff_lat]),
        ).toBeLessThan(1);
      }
    }
  });

  it("keeps every true position on a street of the network", () => {
    // Prepare
    const streets = new StreetIndex(networkOf(athens));

    // Act
    const offStreet = exact
      .filter((e) => e.truth !== undefined)
      .map((e) => ({
        at: e.event.occurred_at,
        metres: streets.distanceToStreet([e.truth!.lon, e.truth!.lat]),
      }))
      .filter(({ metres }) => metres > 2);

    // Assess
    expect(offStreet.slice(0, 5)).toEqual([]);
  });

  it("drives within the vehicle's speed limits, between pings and in the reported speed", () => {
    for (const events of bySession(exact).values()) {
      // Prepare
      const maxKmh = VEHICLE_PROFILES[events[0]!.vehicleType].maxKmh;
      const pings = events.filter((e) => e.event.event_type === "location_ping");

      for (let i = 1; i < pings.length; i++) {
        // Act
        const a = pings[i - 1]!;
        const b = pings[i]!;
        const hours = (b.atMs - a.atMs) / 3_600_000;
        const kmh = distanceM([a.truth!.lon, a.truth!.lat], [b.truth!.lon, b.truth!.lat]) / 1000 / hours;

        // Assess
        expect(kmh).toBeLessThanOrEqual(maxKmh + 0.01);
        expect((b.event as LocationPingEvent).speed_kmh).toBeLessThanOrEqual(maxKmh);
        expect(b.truth!.speedKmh).toBeLessThanOrEqual(maxKmh + 1e-9);
      }
    }
  });

  it("moves at realistic city speeds on average", () => {
    // Prepare
    const moving = exact.filter((e) => e.event.event_type === "location_ping" && e.truth!.moving);

    // Act
    const meanKmh = moving.reduce((sum, e) => sum + e.truth!.speedKmh, 0) / moving.length;

    // Assess: delivery riders in Athens average 15-40 km/h while moving.
    expect(meanKmh).toBeGreaterThan(12);
    expect(meanKmh).toBeLessThan(45);
  });

  it("pings every update interval", () => {
    // Act
    const events = run({ sessions: 4, updateIntervalS: 2 });
    const gaps = [...bySession(events).values()].flatMap((session) => {
      const pings = session.filter((e) => e.event.event_type === "location_ping");
      return pings.slice(1).map((p, i) => p.atMs - pings[i]!.atMs);
    });

    // Assess
    expect(new Set(gaps)).toEqual(new Set([2000]));
  });

  it("reports GPS positions near the truth, with an accuracy figure that matches the error", () => {
    // Prepare
    const pings = noisy.filter((e) => e.event.event_type === "location_ping");

    // Act
    const errors = pings.map((e) => {
      const ping = e.event as LocationPingEvent;
      return {
        metres: distanceM([ping.lon, ping.lat], [e.truth!.lon, e.truth!.lat]),
        accuracy: ping.accuracy_m,
      };
    });
    const within = errors.filter((e) => e.metres <= e.accuracy).length / errors.length;
    const median = errors.map((e) => e.metres).sort((a, b) => a - b)[Math.floor(errors.length / 2)]!;

    // Assess: accuracy_m is the radius of 68% confidence.
    expect(within).toBeGreaterThan(0.55);
    expect(within).toBeLessThan(0.85);
    expect(median).toBeGreaterThan(1);
    expect(median).toBeLessThan(15);
  });

  it("cancels and fails orders at about the configured rates, with reasons", () => {
    // Act
    const events = run({ sessions: 400, couriers: 40, cancelRate: 0.2, failRate: 0.1, updateIntervalS: 60 });
    const terminal = events
      .map((e) => e.event)
      .filter((e): e is StatusChangedEvent => e.event_type === "status_changed")
      .filter((e) => ["completed", "failed", "cancelled"].includes(e.status));
    const share = (status: string) => terminal.filter((e) => e.status === status).length / terminal.length;

    // Assess
    expect(terminal).toHaveLength(400);
    expect(share("cancelled")).toBeGreaterThan(0.14);
    expect(share("cancelled")).toBeLessThan(0.26);
    expect(share("failed")).toBeGreaterThan(0.06);
    expect(share("failed")).toBeLessThan(0.14);
  });
});

describe("Mars demand and traffic", () => {
  it("places orders with lunch and dinner peaks and quiet nights", () => {
    // Prepare
    const clock = new LocalClock(athens.timeZone);
    const dayStart = Date.UTC(2024, 4, 1, -3); // local midnight (UTC+3 in summer)

    // Act
    const times = orderTimes(athens, clock, Random.fromSeed(1), 20_000, dayStart, 86_400_000);
    const byHour = new Array<number>(24).fill(0);
    for (const t of times) byHour[Math.floor(clock.minuteOfDay(t) / 60)]! += 1;

    // Assess
    expect([...times]).toEqual([...times].sort((a, b) => a - b));
    expect(byHour[13]!).toBeGreaterThan(1.5 * byHour[17]!);
    expect(byHour[21]!).toBeGreaterThan(byHour[17]!);
    expect(byHour[4]!).toBeLessThan(byHour[13]! / 10);
    expect(demandAt(athens, 13.5 * 60)).toBeGreaterThan(demandAt(athens, 16.5 * 60));
  });

  it("slows the avenues in rush hour more than at night, and two-wheelers less than cars", () => {
    // Prepare
    const traffic = new Traffic(athens.timeZone);
    const rush = Date.UTC(2024, 4, 1, 5, 30); // 08:30 local, a Wednesday
    const night = Date.UTC(2024, 4, 1, 0, 0); // 03:00 local

    // Act
    const carRush = traffic.speedFactor("trunk", rush, false);
    const bikeRush = traffic.speedFactor("trunk", rush, true);
    const carNight = traffic.speedFactor("trunk", night, false);
    const sideStreetRush = traffic.speedFactor("residential", rush, false);

    // Assess
    expect(carRush).toBeLessThan(0.7);
    expect(carNight).toBeGreaterThan(0.95);
    expect(bikeRush).toBeGreaterThan(carRush);
    expect(sideStreetRush).toBeGreaterThan(carRush);
  });

  it("reads local time across the daylight-saving change", () => {
    // Prepare
    const clock = new LocalClock("Europe/Athens");

    // Act
    const winter = clock.minuteOfDay(Date.UTC(2024, 0, 15, 10, 0));
    const summer = clock.minuteOfDay(Date.UTC(2024, 6, 15, 10, 0));

    // Assess
    expect(winter).toBe(12 * 60);
    expect(summer).toBe(13 * 60);
  });
});
