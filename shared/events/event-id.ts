import { V1_EVENT_ID_NAMESPACE, V1_FIELDS } from "./constants.ts";
import { EventContractError } from "./errors.ts";
import { normaliseTimestamp } from "./timestamp.ts";
import { uuidV5 } from "./uuid.ts";
import type { V1Message } from "./v1.ts";

const UUID_FIELDS = new Set<string>(["device_id", "vehicle_id", "session_id", "order_id"]);

/**
 * The name a v1 message's event id is derived from: a JSON array of its 12 values in {@link V1_FIELDS}
 * order, UUIDs in lowercase and `timestamp` as UTC ISO with milliseconds, so that spellings of the same
 * content (`+02:00` or `Z`, upper- or lowercase hex, `37.90` or `37.9`) name the same event.
 */
export function v1CanonicalName(message: V1Message): string {
  const values = V1_FIELDS.map((field) => {
    const value = message[field];
    if (field === "timestamp") {
      const normalised = normaliseTimestamp(message.timestamp);
      if (normalised === undefined) {
        throw new EventContractError(
          `timestamp ${JSON.stringify(message.timestamp)} is not an ISO-8601 date-time: validate the message first`,
        );
      }
      return normalised;
    }
    return UUID_FIELDS.has(field) ? String(value).toLowerCase() : value;
  });
  return JSON.stringify(values);
}

/**
 * The deterministic `event_id` of a v1 message (which carries none): the v5 UUID of its canonical content in
 * the PacketPulse namespace. A device that resends a frame after a lost acknowledgement gets the same id, so
 * silver and gold count the event once.
 */
export function v1EventId(message: V1Message): string {
  return uuidV5(v1CanonicalName(message), V1_EVENT_ID_NAMESPACE);
}
