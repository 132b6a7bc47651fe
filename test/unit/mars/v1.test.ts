import { beforeAll, describe, expect, it } from "vitest";
import { type SimulationOptions, simulate } from "#mars/simulate.ts";
import type { MarsV1Message, MarsV2Event } from "#mars/types.ts";
import { toV1 } from "#mars/v1.ts";
import { V1_FIELDS, validateV1 } from "#shared/events/index.ts";

const OPTIONS: SimulationOptions = {
  seed: "v1-projection",
  sessions: 40,
  startMs: Date.UTC(2024, 4, 1, 8, 0),
  hours: 6,
  couriers: 6,
  cancelRate: 0.2,
  failRate: 0.2,
  updateIntervalS: 30,
};

describe("Mars v1 projection", () => {
  let events: MarsV2Event[];
  let messages: MarsV1Message[];

  beforeAll(() => {
    events = [...simulate(OPTIONS)].map((e) => e.event);
    messages = [...toV1(events)];
  });

  function terminalOf(sessionId: string): string {
    const terminal = events.find(
      (e) =>
        e.session_id === sessionId &&
        e.event_type === "status_changed" &&
        ["completed", "failed", "cancelled"].includes(e.status),
    );
    return terminal?.event_type === "status_changed" ? terminal.status : "none";
  }

  it("produces messages with exactly the 12 original fields, in the original order", () => {
    // Act
    const shapes = new Set(messages.map((m) => Object.keys(m).join(",")));

    // Assess
    expect(shapes).toEqual(new Set([V1_FIELDS.join(",")]));
    expect(Object.keys(messages[0]!)).toHaveLength(12);
  });

  it("produces only messages the shared v1 validator accepts", () => {
    // Act
    const invalid = messages.filter((m) => !validateV1(m).ok);

    // Assess
    expect(invalid).toEqual([]);
  });

  it("uses the pickup as start and the drop-off as end of every message", () => {
    for (const started of events) {
      if (started.event_type !== "session_started") continue;

      // Act
      const own = messages.filter((m) => m.session_id === started.session_id);

      // Assess
      for (const m of own) {
        expect([m.start_lat, m.start_lon, m.end_lat, m.end_lon]).toEqual([
          started.pickup_lat,
          started.pickup_lon,
          started.dropoff_lat,
          started.dropoff_lon,
        ]);
      }
    }
  });

  it("starts with started, moves en_route, and ends with completed only for delivered sessions", () => {
    // Prepare
    const sessions = new Set(messages.map((m) => m.session_id));

    for (const sessionId of sessions) {
      // Act
      const statuses = messages.filter((m) => m.session_id === sessionId).map((m) => m.status);
      const terminal = terminalOf(sessionId);

      // Assess
      expect(statuses[0]).toBe("started");
      expect(statuses.slice(1, -1).every((s) => s === "en_route")).toBe(true);
      if (terminal === "completed") expect(statuses[statuses.length - 1]).toBe("completed");
      else expect(statuses).not.toContain("completed");
    }
    expect(new Set([...sessions].map(terminalOf))).toEqual(new Set(["completed", "failed", "cancelled"]));
  });

  it("sends one message per status change and location ping, none for failed or cancelled", () => {
    // Prepare
    const expected = events.filter(
      (e) =>
        e.event_type === "location_ping" ||
        (e.event_type === "status_changed" && e.status !== "failed" && e.status !== "cancelled"),
    ).length;
    const startPings = events.filter(
      (e, i) =>
        e.event_type === "location_ping" &&
        events
          .slice(0, i)
          .some(
            (s) =>
              s.event_type === "session_started" &&
              s.session_id === e.session_id &&
              s.occurred_at === e.occurred_at,
          ),
    ).length;

    // Assess: the ping taken at the very start is left out (the started message carries that instant).
    expect(messages).toHaveLength(expected - startPings);
  });
});
