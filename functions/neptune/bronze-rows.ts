import {
  parseTimestampMs,
  SESSIONS_HEADERS,
  V1_EVENT_TYPE,
  type V1Message,
  type ValidationIssue,
  v1EventId,
} from "#shared/events/index.ts";
import { showValue } from "#shared/events/issues.ts";
import type { CellValue, ColumnBatch, PrimitiveType, Schema } from "#shared/iceberg/index.ts";
import { receiveTimeIssue, type SessionsRecord, schemaVersionOf } from "#shared/lambda/sessions-record.ts";
import { dayOf, PLATFORM_COLUMNS } from "./bronze-schema.ts";

/**
 * Records as bronze rows. Bronze is the raw history: it keeps every record it can type, and does not
 * re-judge the contract's business rules (time windows, enums, id formats: Venus checked them when it
 * accepted the event, and silver checks them again). A record is rejected only when it cannot be a row:
 * its value is not a JSON object, it has no event time, a required id is missing, or a field's value does
 * not fit its column's type.
 */

export type BronzeVerdict =
  | { ok: true; day: number }
  | { ok: false; schemaVersion: 1 | 2; issues: ValidationIssue[] };

const micros = (ms: number) => BigInt(ms) * 1000n;

/** A field's JSON value as its column's type, or undefined when it does not fit. */
function typed(type: PrimitiveType, value: unknown): CellValue | undefined {
  switch (type) {
    case "timestamptz": {
      if (typeof value !== "string") return undefined;
      const ms = parseTimestampMs(value);
      return Number.isNaN(ms) ? undefined : micros(ms);
    }
    case "double":
      return typeof value === "number" && Number.isFinite(value) ? value : undefined;
    case "int":
      return typeof value === "number" && Number.isInteger(value) && Math.abs(value) < 2 ** 31
        ? value
        : undefined;
    case "long":
      return typeof value === "number" && Number.isSafeInteger(value) ? BigInt(value) : undefined;
    case "boolean":
      return typeof value === "boolean" ? value : undefined;
    case "string":
      return typeof value === "string" ? value : undefined;
    default:
      return undefined;
  }
}

const TYPE_NAMES: Record<PrimitiveType, string> = {
  timestamptz: "an ISO-8601 date-time",
  double: "a number",
  int: "a whole number",
  long: "a whole number",
  boolean: "true or false",
  string: "a string",
  date: "a date",
};

/**
 * Builds the columns of one batch for the table's schema, split by the day of each row's event time.
 * Rows are checked and converted field by field; a rejected record leaves no trace in the columns.
 */
export class BronzeBatchBuilder {
  private readonly days = new Map<number, { columns: CellValue[][]; rowCount: number }>();
  private readonly byName = new Map<string, { index: number; type: PrimitiveType; required: boolean }>();
  private readonly width: number;
  private readonly platform: Record<keyof typeof PLATFORM_COLUMNS, number>;
  private readonly ingestedAt: bigint;

  constructor(
    private readonly schema: Schema,
    ingestedAtMs: number,
  ) {
    schema.fields.forEach((field, index) => {
      this.byName.set(field.name, { index, type: field.type, required: field.required });
    });
    this.width = schema.fields.length;
    const indexOf = (name: string) => this.byName.get(name)?.index ?? -1;
    this.platform = Object.fromEntries(
      Object.entries(PLATFORM_COLUMNS).map(([key, column]) => [key, indexOf(column.name)]),
    ) as Record<keyof typeof PLATFORM_COLUMNS, number>;
    this.ingestedAt = micros(ingestedAtMs);
  }

  add(record: SessionsRecord): BronzeVerdict {
    const declared = record.headers[SESSIONS_HEADERS.schemaVersion]?.toString("utf8");
    const timeIssue = receiveTimeIssue(record.timestamp);
    if (timeIssue) return { ok: false, schemaVersion: schemaVersionOf(declared), issues: [timeIssue] };
    let json: unknown;
    try {
      json = JSON.parse(record.value.toString("utf8"));
    } catch (error) {
      const message = `the record's value is not JSON (${error instanceof Error ? error.message : String(error)})`;
      return {
        ok: false,
        schemaVersion: schemaVersionOf(declared),
        issues: [{ field: "", rule: "invalid", message }],
      };
    }
    if (typeof json !== "object" || json === null || Array.isArray(json)) {
      return {
        ok: false,
        schemaVersion: schemaVersionOf(declared),
        issues: [{ field: "", rule: "not_object", message: "the record's value must be a JSON object" }],
      };
    }
    const event = json as Record<string, unknown>;
    const schemaVersion = schemaVersionOf(declared, event);
    const row: CellValue[] = new Array(this.width).fill(null);
    const issues: ValidationIssue[] = [];
    for (const name in event) {
      const column = this.byName.get(name);
      const value = event[name];
      if (!column || value === null || value === undefined) continue;
      const cell = typed(column.type, value);
      if (cell === undefined) {
        issues.push({
          field: name,
          rule: "type",
          // A short rendering: the value may be megabytes long, or nested deeper than JSON.stringify can go.
          message: `${name} must be ${TYPE_NAMES[column.type]} (got ${showValue(value)})`,
        });
      } else {
        row[column.index] = cell;
      }
    }
    if (schemaVersion === 1) {
      const at = (field: string) => this.byName.get(field)?.index ?? -1;
      if (at("event_id") >= 0) {
        let eventId = record.headers[SESSIONS_HEADERS.eventId]?.toString("utf8");
        if (eventId === undefined && issues.length === 0) {
          try {
            eventId = v1EventId(event as unknown as V1Message);
          } catch {
            // No id can be derived: reported as a missing event_id below.
          }
        }
        if (eventId !== undefined) row[at("event_id")] = eventId;
      }
      if (at("event_type") >= 0) row[at("event_type")] = V1_EVENT_TYPE;
      if (at("schema_version") >= 0) row[at("schema_version")] = 1;
    }
    const timeField = schemaVersion === 1 ? "timestamp" : "occurred_at";
    const time =
      typeof event[timeField] === "string" ? parseTimestampMs(event[timeField] as string) : Number.NaN;
    if (Number.isNaN(time) && !issues.some((i) => i.field === timeField)) {
      issues.push({
        field: timeField,
        rule: "required",
        message: `${timeField} is required: the event's time (an ISO-8601 date-time)`,
      });
    }
    const p = this.platform;
    if (p.eventTime >= 0) row[p.eventTime] = Number.isNaN(time) ? null : micros(time);
    if (p.payload >= 0) row[p.payload] = record.value;
    if (p.kafkaTopic >= 0) row[p.kafkaTopic] = record.topic;
    if (p.kafkaPartition >= 0) row[p.kafkaPartition] = record.partition;
    if (p.kafkaOffset >= 0) row[p.kafkaOffset] = BigInt(record.offset);
    if (p.kafkaTimestamp >= 0) row[p.kafkaTimestamp] = micros(record.timestamp);
    if (p.kafkaKey >= 0) row[p.kafkaKey] = record.key ? record.key.toString("utf8") : null;
    if (p.ingestedAt >= 0) row[p.ingestedAt] = this.ingestedAt;
    this.schema.fields.forEach((field, index) => {
      // A missing event time is reported under its contract field (above), not as event_time.
      if (index === p.eventTime) return;
      if (field.required && row[index] === null && !issues.some((i) => i.field === field.name)) {
        issues.push({ field: field.name, rule: "required", message: `${field.name} is required` });
      }
    });
    if (issues.length > 0) return { ok: false, schemaVersion, issues };
    const day = dayOf(time);
    let batch = this.days.get(day);
    if (!batch) {
      batch = { columns: Array.from({ length: this.width }, () => []), rowCount: 0 };
      this.days.set(day, batch);
    }
    for (let i = 0; i < this.width; i++) batch.columns[i]!.push(row[i]!);
    batch.rowCount++;
    return { ok: true, day };
  }

  /** The accepted rows' columns (by field id) per event day. */
  byDay(): Map<number, { columns: ColumnBatch; rowCount: number }> {
    const result = new Map<number, { columns: ColumnBatch; rowCount: number }>();
    for (const [day, batch] of this.days) {
      result.set(day, {
        columns: new Map(this.schema.fields.map((field, i) => [field.id, batch.columns[i]!])),
        rowCount: batch.rowCount,
      });
    }
    return result;
  }
}
