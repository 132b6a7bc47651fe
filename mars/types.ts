import type {
  LocationPing,
  SessionStarted,
  StatusChanged,
  V1_STATUSES,
  V1Message,
  V2_STATUSES,
  V2Event,
} from "#shared/events/index.ts";
import type { VehicleType } from "./vehicles.ts";

/** The events Mars sends are the contract's own types (docs/events.md). */
export type SessionStatus = (typeof V2_STATUSES)[number];
export type V1Status = (typeof V1_STATUSES)[number];
export type SessionStartedEvent = SessionStarted;
export type LocationPingEvent = LocationPing;
export type StatusChangedEvent = StatusChanged;
export type MarsV2Event = V2Event;
export type MarsV1Message = V1Message;

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
