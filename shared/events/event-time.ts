import { EventContractError } from "./errors.ts";
import { parseTimestampMs } from "./timestamp.ts";
import type { V1Message } from "./v1.ts";
import type { V2Event } from "./v2.ts";

/** When the event happened, in ms since the Unix epoch (UTC): v1 `timestamp`, v2 `occurred_at`. */
export function occurredAtMs(event: V1Message | V2Event): number {
  const text = "occurred_at" in event ? event.occurred_at : event.timestamp;
  const ms = parseTimestampMs(text);
  if (Number.isNaN(ms)) {
    throw new EventContractError(
      `Event time ${JSON.stringify(text)} is not an ISO-8601 date-time: validate events before using them`,
    );
  }
  return ms;
}
