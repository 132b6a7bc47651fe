import { z } from "zod";
import { V1_STATUSES } from "./constants.ts";
import { latitudeField, longitudeField, notNullIsland, timestampField, uuidField } from "./fields.ts";

/**
 * The original 12-field wire message, accepted unchanged for compatibility. The original devices add fields
 * of their own (`route_name`, `waypoint_count`) and the original API ignored any field it did not know, so
 * other fields are dropped from the validated message (they stay in the raw payload on the log). Rules that
 * zod cannot express (calendar-valid timestamps, time window, 0,0 positions) are checked in validate.ts.
 */
export const v1MessageSchema = z
  .object({
    device_id: uuidField("The courier's device."),
    vehicle_id: uuidField("The vehicle the courier uses."),
    session_id: uuidField("The delivery session (one order picked up and dropped off)."),
    order_id: uuidField("The order being delivered."),
    status: z.enum(V1_STATUSES).meta({ description: "Where the session is." }),
    timestamp: timestampField(
      "When the device recorded the message; at most 10 minutes ahead of the server clock.",
    ),
    start_lat: latitudeField("Pickup point."),
    start_lon: longitudeField("Pickup point."),
    end_lat: latitudeField("Drop-off point."),
    end_lon: longitudeField("Drop-off point."),
    current_lat: latitudeField("Courier's position."),
    current_lon: longitudeField("Courier's position."),
  })
  .meta({
    title: "PacketPulse v1 message",
    description:
      "The original 12-field message sent on the WebSocket, one per frame. Other fields (the original devices send route_name and waypoint_count) are accepted and kept in the raw payload, never validated. A coordinate pair of exactly 0,0 means no position and is rejected.",
    allOf: [
      notNullIsland("start_lat", "start_lon"),
      notNullIsland("end_lat", "end_lon"),
      notNullIsland("current_lat", "current_lon"),
    ],
  });

export type V1Message = z.infer<typeof v1MessageSchema>;
