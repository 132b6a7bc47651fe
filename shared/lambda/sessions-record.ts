import type { ValidationIssue } from "#shared/events/index.ts";

/**
 * One record of the `sessions` topic as a consuming function (Jupiter, Neptune) holds it: decoded from
 * Lambda's Kafka event, handed over by the local runtime, or unpacked on a worker thread. The one name for
 * it; the event log's `ConsumedRecord` (string offset, nullable value) and Lambda's `KafkaEventRecord`
 * (base64) are the shapes on either side of the boundary.
 */
export interface SessionsRecord {
  topic: string;
  partition: number;
  offset: number;
  /** CreateTime in ms: when Venus received the event. */
  timestamp: number;
  key: Buffer | null;
  value: Buffer;
  headers: Record<string, Buffer>;
}

/** "topic-partition": the key of a Kafka event's `records` and the `partition` of a batch item failure. */
export const partitionKey = (record: { topic: string; partition: number }) =>
  `${record.topic}-${record.partition}`;

/** The largest distance from the epoch, in ms, that a Date holds (ECMA-262 "Time Values and Time Range"). */
const MAX_DATE_MS = 8.64e15;

/**
 * What is wrong with a record's timestamp as the time Venus received its event, if anything. Kafka
 * timestamps are 64-bit and any producer sets them; one no date can hold cannot be a receive time (and
 * fails date formatting and Iceberg's microsecond timestamps).
 */
export function receiveTimeIssue(timestamp: number): ValidationIssue | undefined {
  if (Number.isInteger(timestamp) && Math.abs(timestamp) <= MAX_DATE_MS) return undefined;
  return {
    field: "",
    rule: "range",
    message:
      "the record's timestamp (when Venus received the event) must be a time in ms " +
      `within ±${MAX_DATE_MS} (got ${timestamp})`,
  };
}

/**
 * The contract version a record is read and reported under: its `schema_version` header when that says 1
 * or 2; otherwise, once its value is parsed, 2 for an object with `event_type` (v2 events have one, v1
 * messages do not) and 1 for anything else. Before the value is parsed (`value` undefined: a bad receive
 * time, a value that is not JSON) a record without a usable header is reported as the current version, 2.
 */
export function schemaVersionOf(header: string | undefined, value?: unknown): 1 | 2 {
  if (header === "1") return 1;
  if (header === "2" || value === undefined) return 2;
  return typeof value === "object" && value !== null && "event_type" in value ? 2 : 1;
}
