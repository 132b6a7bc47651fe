import type { ValidationIssue } from "./issues.ts";
import type { V1Message } from "./v1.ts";
import type { V2Event } from "./v2.ts";

/**
 * What an accepted or rejected event carries on the log, shared by the producer (Venus) and the consumers.
 * Records on `sessions` are keyed by `device_id` so one device's events stay in order on one partition.
 */

/**
 * Only what a consumer needs before parsing the value: the id to deduplicate by and the schema version
 * to parse with. The event type is in the value, and the receive time is the record's timestamp. Each
 * header is encoded per record on the hot path (it costs about 15 % of Kafka ingestion throughput), so
 * nothing derivable is added.
 */
export const SESSIONS_HEADERS = {
  eventId: "event_id",
  schemaVersion: "schema_version",
} as const;

export const DEAD_LETTER_HEADERS = {
  errorReason: "error_reason",
  errorRule: "error_rule",
  receivedAt: "received_at",
  schemaVersion: "schema_version",
} as const;

export type AcceptedEvent =
  | { schemaVersion: 1; event: V1Message; eventId: string }
  | { schemaVersion: 2; event: V2Event };

/** Headers of an accepted event on `sessions`. v1 messages need their derived id (`v1EventId`). */
export function sessionsRecordHeaders(accepted: AcceptedEvent): Record<string, string> {
  return {
    [SESSIONS_HEADERS.eventId]: accepted.schemaVersion === 1 ? accepted.eventId : accepted.event.event_id,
    [SESSIONS_HEADERS.schemaVersion]: String(accepted.schemaVersion),
  };
}

/** Headers of a rejected frame or event on `sessions-dlq`: every issue as JSON, and the first rule alone. */
export function deadLetterHeaders(
  issues: readonly ValidationIssue[],
  schemaVersion: 1 | 2,
  receivedAt: Date,
): Record<string, string> {
  return {
    [DEAD_LETTER_HEADERS.errorReason]: JSON.stringify(issues),
    [DEAD_LETTER_HEADERS.errorRule]: issues[0]?.rule ?? "invalid",
    [DEAD_LETTER_HEADERS.receivedAt]: receivedAt.toISOString(),
    [DEAD_LETTER_HEADERS.schemaVersion]: String(schemaVersion),
  };
}
