import type { VehicleType } from "./vehicles.ts";

/**
 * The events Mars sends, as docs/events.md fixes them. Mars keeps its own copy of the shapes so
 * that the simulator compiles on its own; its tests check every generated event with the shared validators.
 */

export type SessionStatus =
  | "started"
  | "picked_up"
  | "en_route"
  | "arrived"
  | "completed"
  | "failed"
  | "cancelled";

export type V1Status = "started" | "en_route" | "completed";

interface V2Envelope {
  event_id: string;
  schema_version: 2;
  occurred_at: string;
  device_id: string;
  vehicle_id: string;
  session_id: string;
  order_id: string;
}

export interface SessionStartedEvent extends V2Envelope {
  event_type: "session_started";
  pickup_lat: number;
  pickup_lon: number;
  dropoff_lat: number;
  dropoff_lon: number;
  vehicle_type: VehicleType;
  promised_at: string;
}

export interface LocationPingEvent extends V2Envelope {
  event_type: "location_ping";
  lat: number;
  lon: number;
  speed_kmh: number;
  heading_deg: number;
  accuracy_m: number;
}

export interface StatusChangedEvent extends V2Envelope {
  event_type: "status_changed";
  status: SessionStatus;
  /** Required for `failed` and `cancelled`, absent otherwise. */
  reason?: string;
  lat?: number;
  lon?: number;
}

export type MarsV2Event = SessionStartedEvent | LocationPingEvent | StatusChangedEvent;

/** The original 12-field message, fields in the original order. */
export interface MarsV1Message {
  device_id: string;
  vehicle_id: string;
  session_id: string;
  order_id: string;
  status: V1Status;
  timestamp: string;
  start_lat: number;
  start_lon: number;
  end_lat: number;
  end_lon: number;
  current_lat: number;
  current_lon: number;
}

export type Protocol = "v1" | "v2";

/** Where the courier truly was when an event was recorded, before GPS noise: for tests and debugging. */
export interface TruePosition {
  lon: number;
  lat: number;
  speedKmh: number;
  /** Driving, or standing (waiting, handing over). */
  moving: boolean;
}

/** One simulated event: what the device sends, plus the ground truth behind it. */
export interface SimulatedEvent {
  /** Event time in ms since the Unix epoch (the same instant as `event.occurred_at`). */
  atMs: number;
  event: MarsV2Event;
  truth?: TruePosition;
  /** The courier's vehicle type (handy for checks that need its limits). */
  vehicleType: VehicleType;
}
