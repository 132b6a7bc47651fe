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

/**
 * Most bytes of the `error_reason` header. A rejected record is stored with its reasons, and a device that
 * sends many bad events must not multiply them into megabytes of headers: past this bound the reasons are
 * shortened (messages cut, then later issues left out and counted in a last entry).
 */
export const MAX_ERROR_REASON_BYTES = 2048;

const MAX_KEPT_MESSAGE_CHARS = 200;

/** The issues as the `error_reason` header's JSON, within {@link MAX_ERROR_REASON_BYTES}. */
export function errorReasonHeader(issues: readonly ValidationIssue[]): string {
  const full = JSON.stringify(issues);
  if (Buffer.byteLength(full) <= MAX_ERROR_REASON_BYTES) return full;
  const cut = (text: string, chars: number) => (text.length > chars ? `${text.slice(0, chars)}…` : text);
  const kept: ValidationIssue[] = [];
  for (const [index, issue] of issues.entries()) {
    const shortened = {
      field: cut(issue.field, 80),
      rule: cut(issue.rule, 40),
      message: cut(issue.message, MAX_KEPT_MESSAGE_CHARS),
    };
    const omitted = issues.length - index - 1;
    const tail: ValidationIssue[] =
      omitted > 0 ? [{ field: "", rule: "omitted", message: `${omitted} more issues left out` }] : [];
    if (Buffer.byteLength(JSON.stringify([...kept, shortened, ...tail])) > MAX_ERROR_REASON_BYTES) {
      const left = issues.length - kept.length;
      return JSON.stringify([
        ...kept,
        { field: "", rule: "omitted", message: `${left} more issues left out` },
      ]);
    }
    kept.push(shortened);
  }
  return JSON.stringify(kept);
}

/** Headers of a rejected frame or event on `sessions-dlq`: the issues as JSON (bounded), and the first rule alone. */
export function deadLetterHeaders(
  issues: readonly ValidationIssue[],
  schemaVersion: 1 | 2,
  receivedAt: Date,
): Record<string, string> {
  return {
    [DEAD_LETTER_HEADERS.errorReason]: errorReasonHeader(issues),
    [DEAD_LETTER_HEADERS.errorRule]: (issues[0]?.rule ?? "invalid").slice(0, 40),
    [DEAD_LETTER_HEADERS.receivedAt]: receivedAt.toISOString(),
    [DEAD_LETTER_HEADERS.schemaVersion]: String(schemaVersion),
  };
}
