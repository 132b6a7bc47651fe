/**
 * Fixed values of the event contract. Several components (Mars, Venus, Jupiter, Mercury) rely on them, so a
 * change here is a contract change: update docs/events.md and regenerate docs/schemas (`npm run schemas`).
 */

/** The 12 fields of the original wire message, in the order of the original protocol. */
export const V1_FIELDS = [
  "device_id",
  "vehicle_id",
  "session_id",
  "order_id",
  "status",
  "timestamp",
  "start_lat",
  "start_lon",
  "end_lat",
  "end_lon",
  "current_lat",
  "current_lon",
] as const;

export type V1Field = (typeof V1_FIELDS)[number];

export const V1_STATUSES = ["started", "en_route", "completed"] as const;

export const V2_STATUSES = [
  "started",
  "picked_up",
  "en_route",
  "arrived",
  "completed",
  "failed",
  "cancelled",
] as const;

/** v2 statuses that must say why (`reason`); every other status must not carry one. */
export const STATUSES_REQUIRING_REASON = ["failed", "cancelled"] as const;

export const VEHICLE_TYPES = ["bicycle", "scooter", "motorbike", "car", "van"] as const;

export const V2_EVENT_TYPES = ["session_started", "location_ping", "status_changed"] as const;

/**
 * The `event_type` Kafka header of a v1 message: v1 frames have no event type of their own, and consumers
 * branch on the header before parsing the value.
 */
export const V1_EVENT_TYPE = "v1_message";

export const EVENT_LIMITS = Object.freeze({
  /** Largest accepted event, in bytes of its JSON (UTF-8). */
  maxEventBytes: 8192,
  /**
   * Deepest nesting of objects and arrays in an event, the event itself being level 1. Contract fields are
   * flat; the bound is for the fields v1 devices add, which are kept raw and read again downstream.
   */
  maxEventDepth: 16,
  /** Most events in one v2 batch frame. */
  maxBatchEvents: 500,
  /** Longest `reason` of a `status_changed` event, in characters. */
  maxReasonLength: 500,
  /** Longest `batch_id` of a v2 batch frame, in characters. */
  maxBatchIdLength: 64,
} as const);

/** Longest accepted timestamp string: `2024-05-01T12:30:00.123456789+05:30` is 35 characters. */
export const MAX_TIMESTAMP_LENGTH = 40;

/** The platform's epoch, 2020-01-01T00:00:00Z, in ms since the Unix epoch: no event can be older. */
export const PLATFORM_EPOCH = Date.UTC(2020, 0, 1);

export const PLATFORM_EPOCH_ISO = "2020-01-01T00:00:00.000Z";

/** How far in the future (after the validator's `now`) an event time may be: device clocks drift. */
export const DEFAULT_MAX_FUTURE_SKEW_MS = 10 * 60 * 1000;

/**
 * Namespace of the v5 UUIDs that `v1EventId` derives. It is itself the v5 UUID of the name
 * `urn:packetpulse:event-id:v1` in the RFC 4122 URL namespace, and must never change: changing it changes
 * every derived v1 event id, so resent frames would no longer be recognised as duplicates.
 */
export const V1_EVENT_ID_NAMESPACE = "c24739e2-9ef1-5b68-89d2-82c4db8e462d";
