import { describe, expect, it } from "vitest";
import { LiveHub, type LiveUpdate } from "../../../web/server/live.ts";

const ids = {
  device_id: "44f3ff2b-9691-43fa-9715-5695a3a51fb1",
  vehicle_id: "00298af2-aca9-4bc8-9845-dccea856e486",
  session_id: "ad1f93a8-c13e-45f0-8364-b5ec0c258463",
  order_id: "f1ef64e4-6863-4ffb-bf8c-3cd83fb3e792",
};
const v2 = (type: string, at: string, fields: Record<string, unknown> = {}) => ({
  event_type: type,
  schema_version: 2,
  occurred_at: at,
  ...ids,
  ...fields,
});

function nextPush(hub: LiveHub): Promise<LiveUpdate> {
  return new Promise((resolve) => {
    const stop = hub.subscribe((payload) => {
      stop();
      resolve(JSON.parse(payload) as LiveUpdate);
    });
  });
}

describe("the live map's hub", () => {
  it("moves a courier with each newer ping and pushes the change within its push interval", async () => {
    // Prepare
    const hub = new LiveHub(10 * 60_000, 20);
    hub.ingest(
      v2("session_started", "2026-12-06T10:00:00Z", {
        pickup_lat: 37.97,
        pickup_lon: 23.73,
        dropoff_lat: 37.99,
        dropoff_lon: 23.76,
        vehicle_type: "scooter",
      }),
    );

    // Act
    const pushed = nextPush(hub);
    hub.ingest(v2("location_ping", "2026-12-06T10:00:10Z", { lat: 37.975, lon: 23.735, speed_kmh: 20 }));
    hub.ingest(v2("location_ping", "2026-12-06T10:00:20Z", { lat: 37.976, lon: 23.736, speed_kmh: 21 }));
    // A late ping (older event time) is kept off the courier's position.
    hub.ingest(v2("location_ping", "2026-12-06T10:00:05Z", { lat: 37.9, lon: 23.7 }));
    const { changed } = await pushed;

    // Assess
    expect(changed).toHaveLength(1);
    expect(changed[0]).toMatchObject({
      sessionId: ids.session_id,
      vehicleType: "scooter",
      lat: 37.976,
      lon: 23.736,
      speedKmh: 21,
      pickup: [23.73, 37.97],
      dropoff: [23.76, 37.99],
    });
    // The push carries positions, not trails; the hub keeps the trail for new connections' snapshot.
    expect(changed[0]).not.toHaveProperty("trail");
    expect(hub.snapshot()[0]?.trail).toEqual([
      [23.735, 37.975],
      [23.736, 37.976],
    ]);
  });

  it("takes a courier off the map when its session ends, and ignores its later events", async () => {
    // Prepare
    const hub = new LiveHub(10 * 60_000, 20);
    hub.ingest(v2("location_ping", "2026-12-06T10:00:10Z", { lat: 37.975, lon: 23.735 }));

    // Act
    const pushed = nextPush(hub);
    hub.ingest(v2("status_changed", "2026-12-06T10:30:00Z", { status: "completed", lat: 37.99, lon: 23.76 }));
    hub.ingest(v2("location_ping", "2026-12-06T10:30:10Z", { lat: 37.99, lon: 23.76 }));
    const { changed, removed } = await pushed;

    // Assess
    expect(removed).toEqual([ids.session_id]);
    expect(changed).toEqual([]);
    expect(hub.snapshot()).toEqual([]);
  });

  it("reads original v1 messages (current position, start and end points, status)", () => {
    // Prepare
    const hub = new LiveHub();

    // Act
    hub.ingest({
      ...ids,
      status: "en_route",
      timestamp: "2026-12-06T10:00:00",
      start_lat: 38.02,
      start_lon: 23.79,
      end_lat: 38.01,
      end_lon: 23.73,
      current_lat: 37.99,
      current_lon: 23.77,
    });

    // Assess
    expect(hub.snapshot()).toMatchObject([
      { status: "en_route", lat: 37.99, lon: 23.77, pickup: [23.79, 38.02], dropoff: [23.73, 38.01] },
    ]);
  });
});
