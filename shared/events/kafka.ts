import { V1_EVENT_TYPE } from "./constants.ts";
import type { ValidationIssue } from "./issues.ts";
import type { V1Message } from "./v1.ts";
import type { V2Event } from "./v2.ts";

/**
 * What an accepted or rejected event carries on the log, shared by the producer (Venus) and the consumers.
 * Records on `sessions` are keyed by `device_id` so one device's events stay in order on one partition.
 */

export const SESSIONS_HEADERS = {
  eventId: "event_id",
  schemaVersion: "schema_version",
  eventType: "event_type",
  receivedAt: "received_at",
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
export function sessionsRecordHeaders(accepted: AcceptedEvent, receivedAt: Date): Record<string, string> {
  const isV1 = accepted.schemaVersion === 1;
  return {
    [SESSIONS_HEADERS.eventId]: isV1 ? accepted.eventId : accepted.event.event_id,
    [SESSIONS_HEADERS.schemaVersion]: String(accepted.schemaVersion),
    [SESSIONS_HEADERS.eventType]: isV1 ? V1_EVENT_TYPE : accepted.event.event_type,
    [SESSIONS_HEADERS.receivedAt]: receivedAt.toISOString(),
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
