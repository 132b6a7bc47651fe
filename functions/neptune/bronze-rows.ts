import type { SessionsRecord } from "#functions/jupiter/kafka-event.ts";
import {
  occurredAtMs,
  parseTimestampMs,
  SESSIONS_HEADERS,
  V1_EVENT_TYPE,
  type ValidationIssue,
  v1EventId,
  validateV1,
  validateV2,
} from "#shared/events/index.ts";
import type { CellValue, ColumnBatch, Schema, SchemaField } from "#shared/iceberg/index.ts";
import { dayOf, PLATFORM_COLUMNS } from "./bronze-schema.ts";

/** A record bronze keeps: the contract fields of its event plus what PacketPulse adds. */
export interface BronzeRow {
  record: SessionsRecord;
  /** Contract fields by name, as validated (v1 rows also get event_id, event_type and schema_version). */
  fields: Record<string, unknown>;
  eventTimeMs: number;
}

export type BronzeVerdict =
  | { ok: true; row: BronzeRow }
  | { ok: false; schemaVersion: 1 | 2; issues: ValidationIssue[] };

const header = (record: SessionsRecord, name: string) => record.headers[name]?.toString("utf8");

/**
 * Checks one record against the contract, like silver does: the time rules are judged against the
 * record's timestamp (when Venus received it), so a replay a day later reaches the same verdict. Bronze
 * keeps the event as received (ids not normalised): it is the raw history.
 */
export function toBronzeRow(record: SessionsRecord): BronzeVerdict {
  const declared = header(record, SESSIONS_HEADERS.schemaVersion);
  let json: unknown;
  try {
    json = JSON.parse(record.value.toString("utf8"));
  } catch (error) {
    return {
      ok: false,
      schemaVersion: declared === "1" ? 1 : 2,
      issues: [
        {
          field: "",
          rule: "invalid",
          message: `the record's value is not JSON (${error instanceof Error ? error.message : String(error)})`,
        },
      ],
    };
  }
  const schemaVersion =
    declared === "1" || declared === "2"
      ? Number(declared)
      : typeof json === "object" && json !== null && "event_type" in json
        ? 2
        : 1;
  const options = { now: new Date(record.timestamp), byteLength: record.value.length };
  if (schemaVersion === 1) {
    const verdict = validateV1(json, options);
    if (!verdict.ok) return { ok: false, schemaVersion: 1, issues: verdict.issues };
    const message = verdict.value;
    return {
      ok: true,
      row: {
        record,
        fields: {
          ...message,
          event_id: header(record, SESSIONS_HEADERS.eventId) ?? v1EventId(message),
          event_type: V1_EVENT_TYPE,
          schema_version: 1,
        },
        eventTimeMs: occurredAtMs(message),
      },
    };
  }
  const verdict = validateV2(json, options);
  if (!verdict.ok) return { ok: false, schemaVersion: 2, issues: verdict.issues };
  return { ok: true, row: { record, fields: verdict.value, eventTimeMs: occurredAtMs(verdict.value) } };
}

const micros = (ms: number) => BigInt(ms) * 1000n;

function cell(field: SchemaField, value: unknown): CellValue {
  if (value === undefined || value === null) return null;
  switch (field.type) {
    case "timestamptz":
      return typeof value === "string" ? micros(parseTimestampMs(value)) : null;
    case "long":
      return typeof value === "number" ? BigInt(Math.trunc(value)) : null;
    case "int":
    case "double":
      return typeof value === "number" ? value : null;
    case "boolean":
      return typeof value === "boolean" ? value : null;
    default:
      return String(value);
  }
}

/** How each column of the table's schema gets its value from a row. */
function extractor(field: SchemaField, ingestedAtMs: number): (row: BronzeRow) => CellValue {
  const c = PLATFORM_COLUMNS;
  switch (field.name) {
    case c.eventTime.name:
      return (row) => micros(row.eventTimeMs);
    case c.payload.name:
      return (row) => row.record.value.toString("utf8");
    case c.kafkaTopic.name:
      return (row) => row.record.topic;
    case c.kafkaPartition.name:
      return (row) => row.record.partition;
    case c.kafkaOffset.name:
      return (row) => BigInt(row.record.offset);
    case c.kafkaTimestamp.name:
      return (row) => micros(row.record.timestamp);
    case c.kafkaKey.name:
      return (row) => row.record.key?.toString("utf8") ?? null;
    case c.ingestedAt.name: {
      const at = micros(ingestedAtMs);
      return () => at;
    }
    default:
      return (row) => cell(field, row.fields[field.name]);
  }
}

/** Rows split by the day of their event time, each day as columns of `schema` (by field id). */
export function columnsByDay(
  rows: readonly BronzeRow[],
  schema: Schema,
  ingestedAtMs: number,
): Map<number, { columns: ColumnBatch; rowCount: number }> {
  const extractors = schema.fields.map((field) => [field.id, extractor(field, ingestedAtMs)] as const);
  const days = new Map<number, { columns: ColumnBatch; rowCount: number }>();
  for (const row of rows) {
    const day = dayOf(row.eventTimeMs);
    let batch = days.get(day);
    if (!batch) {
      batch = { columns: new Map(extractors.map(([id]) => [id, []])), rowCount: 0 };
      days.set(day, batch);
    }
    for (const [id, extract] of extractors) batch.columns.get(id)!.push(extract(row));
    batch.rowCount++;
  }
  return days;
}
