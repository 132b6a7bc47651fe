import { z } from "zod";
import {
  EVENT_LIMITS,
  STATUSES_REQUIRING_REASON,
  V2_EVENT_TYPES,
  V2_STATUSES,
  VEHICLE_TYPES,
} from "./constants.ts";
import {
  boundedNumber,
  latitudeField,
  longitudeField,
  notNullIsland,
  timestampField,
  uuidField,
} from "./fields.ts";

/**
 * v2 events: flat objects, one envelope shared by every type and a payload chosen by `event_type`. Rules
 * that zod cannot express (time window, promised_at after occurred_at, reason per status, 0,0 positions,
 * lat and lon given together) are checked in validate.ts.
 */

export const v2EnvelopeShape = {
  event_id: uuidField("Unique id of the event, chosen by the device; a resent event keeps its id."),
  event_type: z
    .enum(V2_EVENT_TYPES)
    .meta({ description: "Which event this is; selects the payload fields." }),
  schema_version: z.literal(2).meta({ description: "Contract version of the event." }),
  occurred_at: timestampField(
    "When the event happened on the device; at most 10 minutes ahead of the server clock.",
  ),
  device_id: uuidField("The courier's device."),
  vehicle_id: uuidField("The vehicle the courier uses."),
  session_id: uuidField("The delivery session (one order picked up and dropped off)."),
  order_id: uuidField("The order being delivered."),
};

/** The envelope alone, extra fields allowed: used to report envelope errors of an unknown event type. */
export const v2EnvelopeSchema = z.object(v2EnvelopeShape);

export const sessionStartedSchema = z
  .strictObject({
    ...v2EnvelopeShape,
    event_type: z.literal("session_started"),
    pickup_lat: latitudeField("Pickup point."),
    pickup_lon: longitudeField("Pickup point."),
    dropoff_lat: latitudeField("Drop-off point."),
    dropoff_lon: longitudeField("Drop-off point."),
    vehicle_type: z.enum(VEHICLE_TYPES).meta({ description: "Kind of vehicle used for this session." }),
    promised_at: timestampField("Delivery time promised to the customer; must be after occurred_at."),
  })
  .meta({
    title: "session_started",
    description: "A courier starts a delivery session for one order.",
    allOf: [notNullIsland("pickup_lat", "pickup_lon"), notNullIsland("dropoff_lat", "dropoff_lon")],
  });

export const locationPingSchema = z
  .strictObject({
    ...v2EnvelopeShape,
    event_type: z.literal("location_ping"),
    lat: latitudeField("Courier's position."),
    lon: longitudeField("Courier's position."),
    speed_kmh: boundedNumber(0, 250, "Ground speed in km/h."),
    heading_deg: boundedNumber(0, 360, "Direction of travel in degrees clockwise from north.", {
      exclusiveMax: true,
    }),
    accuracy_m: boundedNumber(0, 10_000, "Radius of the position's 68% confidence circle, in metres.", {
      exclusiveMin: true,
    }),
  })
  .meta({
    title: "location_ping",
    description: "A position fix of the courier's device.",
    allOf: [notNullIsland("lat", "lon")],
  });

export const statusChangedSchema = z
  .strictObject({
    ...v2EnvelopeShape,
    event_type: z.literal("status_changed"),
    status: z.enum(V2_STATUSES).meta({ description: "The session's new status." }),
    reason: z.string().min(1).max(EVENT_LIMITS.maxReasonLength).optional().meta({
      description: "Why the session failed or was cancelled: required for those, forbidden otherwise.",
    }),
    lat: latitudeField("Where the status changed (optional; give lat and lon together).").optional(),
    lon: longitudeField("Where the status changed (optional; give lat and lon together).").optional(),
  })
  .meta({
    title: "status_changed",
    description: "The session moves to a new status.",
    dependentRequired: { lat: ["lon"], lon: ["lat"] },
    allOf: [
      notNullIsland("lat", "lon"),
      {
        if: { properties: { status: { enum: [...STATUSES_REQUIRING_REASON] } }, required: ["status"] },
        // biome-ignore lint/suspicious/noThenProperty: `then` is the JSON Schema keyword, not a thenable.
        then: { required: ["reason"] },
        else: { not: { required: ["reason"] } },
      },
    ],
  });

export const v2EventSchema = z
  .discriminatedUnion("event_type", [sessionStartedSchema, locationPingSchema, statusChangedSchema])
  .meta({
    title: "PacketPulse v2 event",
    description:
      "One event of a v2 batch frame. `event_type` selects the payload; unknown fields are rejected. A coordinate pair of exactly 0,0 means no position and is rejected.",
  });

export type SessionStarted = z.infer<typeof sessionStartedSchema>;
export type LocationPing = z.infer<typeof locationPingSchema>;
export type StatusChanged = z.infer<typeof statusChangedSchema>;
export type V2Event = z.infer<typeof v2EventSchema>;
export type V2EventType = V2Event["event_type"];

/** The strict schema of each event type: validate.ts dispatches on `event_type` itself to name the field. */
export const V2_EVENT_SCHEMAS = {
  session_started: sessionStartedSchema,
  location_ping: locationPingSchema,
  status_changed: statusChangedSchema,
} as const;
