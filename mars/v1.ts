import type { MarsV1Message, MarsV2Event, V1Status } from "./types.ts";

/**
 * The v1 projection: what an original device would have sent for the same session, as 12-field messages.
 * `start_*` is the pickup, `end_*` the drop-off, `current_*` the courier's position.
 *
 * v1 knows three statuses. `started` maps to itself; `picked_up`, `en_route`, `arrived` and every location
 * ping become `en_route`; `completed` maps to itself. v1 has no way to say a session failed or was cancelled,
 * so those terminal events produce no message: such a session simply stops without `completed`.
 */

interface SessionEnds {
  startLat: number;
  startLon: number;
  endLat: number;
  endLon: number;
  startedAt: string;
}

export class V1Projection {
  readonly #sessions = new Map<string, SessionEnds>();

  /** The v1 message for a v2 event, or `undefined` when v1 has nothing to say for it. */
  project(event: MarsV2Event): MarsV1Message | undefined {
    if (event.event_type === "session_started") {
      this.#sessions.set(event.session_id, {
        startLat: event.pickup_lat,
        startLon: event.pickup_lon,
        endLat: event.dropoff_lat,
        endLon: event.dropoff_lon,
        startedAt: event.occurred_at,
      });
      return undefined;
    }
    const session = this.#sessions.get(event.session_id);
    if (!session) return undefined;
    let status: V1Status;
    let lat: number | undefined;
    let lon: number | undefined;
    if (event.event_type === "location_ping") {
      // The ping taken at the very start duplicates the `started` message's instant and place.
      if (event.occurred_at === session.startedAt) return undefined;
      status = "en_route";
      lat = event.lat;
      lon = event.lon;
    } else {
      if (event.status === "failed" || event.status === "cancelled") {
        this.#sessions.delete(event.session_id);
        return undefined;
      }
      status = event.status === "started" || event.status === "completed" ? event.status : "en_route";
      if (event.status === "completed") this.#sessions.delete(event.session_id);
      lat = event.lat;
      lon = event.lon;
    }
    if (lat === undefined || lon === undefined) return undefined;
    return {
      device_id: event.device_id,
      vehicle_id: event.vehicle_id,
      session_id: event.session_id,
      order_id: event.order_id,
      status,
      timestamp: event.occurred_at,
      start_lat: session.startLat,
      start_lon: session.startLon,
      end_lat: session.endLat,
      end_lon: session.endLon,
      current_lat: lat,
      current_lon: lon,
    };
  }
}

/** v1 messages for a stream of v2 events (in event order). */
export function* toV1(events: Iterable<MarsV2Event>): Generator<MarsV1Message> {
  const projection = new V1Projection();
  for (const event of events) {
    const message = projection.project(event);
    if (message) yield message;
  }
}
