import { z } from "zod";
import { PacketPulseError } from "#shared/errors.ts";
import type { ConsumedRecord } from "#shared/event-log/types.ts";
import type { ValidationIssue } from "#shared/events/index.ts";
import { inProcessRecord, inProcessRecords } from "#shared/runtime/kafka-event.ts";
import type { ThreadRecord } from "#shared/threads/index.ts";

/**
 * Lambda's Kafka event (MSK and self-managed share it): records grouped by "topic-partition", base64 key
 * and value, and headers as one object per header mapping its name to the value's bytes.
 * https://docs.aws.amazon.com/lambda/latest/dg/with-msk.html
 */
const kafkaEventRecord = z.object({
  topic: z.string().min(1),
  partition: z.number().int().nonnegative(),
  offset: z.number().int().nonnegative(),
  timestamp: z.number().int(),
  timestampType: z.string().optional(),
  key: z.string().nullish(),
  value: z.string().nullish(),
  headers: z.array(z.record(z.string(), z.array(z.number().int().min(0).max(255)))).default([]),
});

export const kafkaEventSchema = z.object({
  eventSource: z.string(),
  records: z.record(z.string(), z.array(kafkaEventRecord)),
});

export type KafkaEventInput = z.infer<typeof kafkaEventSchema>;

/**
 * One Kafka record of the `sessions` topic, decoded from the Lambda event: the shape every consuming
 * function works on, and the one that crosses to worker threads (`ThreadRecord`, shared/threads).
 */
export type SessionsRecord = ThreadRecord;

export class KafkaEventError extends PacketPulseError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "KafkaEventError";
  }
}

/** Parses a Lambda Kafka event; throws a {@link KafkaEventError} naming the first wrong field. */
export function decodeKafkaEvent(event: unknown): SessionsRecord[] {
  // Fast path: a well-formed event is decoded without zod (which checks every header byte as a schema
  // node and dominated a batch's cost); anything it does not accept goes through the schema for the error.
  const fast = decodeInProcess(event) ?? decodeWellFormed(event);
  if (fast) return fast;
  const parsed = kafkaEventSchema.safeParse(event);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new KafkaEventError(
      `Not a Kafka event: ${issue?.path.join(".") || "event"} ${issue?.message ?? "is invalid"}`,
      { cause: parsed.error },
    );
  }
  const records: SessionsRecord[] = [];
  for (const list of Object.values(parsed.data.records)) {
    for (const record of list) {
      const headers: Record<string, Buffer> = {};
      for (const header of record.headers) {
        for (const [name, bytes] of Object.entries(header)) headers[name] = Buffer.from(bytes);
      }
      records.push({
        topic: record.topic,
        partition: record.partition,
        offset: record.offset,
        timestamp: record.timestamp,
        key: record.key ? Buffer.from(record.key, "base64") : null,
        value: Buffer.from(record.value ?? "", "base64"),
        headers,
      });
    }
  }
  return records;
}

/**
 * The records of an event the event-source runtime built in this process, read from the log records
 * themselves (no base64 decoding); undefined when any record is not such a record.
 */
function decodeInProcess(event: unknown): SessionsRecord[] | undefined {
  if (typeof event !== "object" || event === null) return undefined;
  const sources = inProcessRecords(event);
  if (sources !== undefined) return sources.map(fromLogRecord);
  const groups = (event as { records?: unknown }).records;
  if (typeof groups !== "object" || groups === null) return undefined;
  const records: SessionsRecord[] = [];
  for (const list of Object.values(groups)) {
    if (!Array.isArray(list)) return undefined;
    for (const eventRecord of list as unknown[]) {
      const source = inProcessRecord(eventRecord);
      if (source === undefined) return undefined;
      records.push(fromLogRecord(source));
    }
  }
  return records;
}

const fromLogRecord = (source: ConsumedRecord): SessionsRecord => ({
  topic: source.topic,
  partition: source.partition,
  offset: Number(source.offset),
  timestamp: source.timestamp,
  key: source.key,
  value: source.value ?? Buffer.alloc(0),
  headers: source.headers,
});

const isInt = (value: unknown): value is number => typeof value === "number" && Number.isInteger(value);

/** The decoded records when `event` satisfies {@link kafkaEventSchema}; undefined otherwise. */
function decodeWellFormed(event: unknown): SessionsRecord[] | undefined {
  if (typeof event !== "object" || event === null) return undefined;
  const { eventSource, records: groups } = event as Record<string, unknown>;
  if (typeof eventSource !== "string" || typeof groups !== "object" || groups === null) return undefined;
  if (Array.isArray(groups) || Object.getPrototypeOf(groups) !== Object.prototype) return undefined;
  const records: SessionsRecord[] = [];
  for (const list of Object.values(groups)) {
    if (!Array.isArray(list)) return undefined;
    for (const record of list as unknown[]) {
      if (typeof record !== "object" || record === null || Array.isArray(record)) return undefined;
      const { topic, partition, offset, timestamp, timestampType, key, value, headers } = record as Record<
        string,
        unknown
      >;
      if (typeof topic !== "string" || topic.length === 0) return undefined;
      if (!isInt(partition) || partition < 0 || !isInt(offset) || offset < 0 || !isInt(timestamp)) {
        return undefined;
      }
      if (timestampType !== undefined && typeof timestampType !== "string") return undefined;
      if (key !== undefined && key !== null && typeof key !== "string") return undefined;
      if (value !== undefined && value !== null && typeof value !== "string") return undefined;
      const decodedHeaders: Record<string, Buffer> = {};
      if (headers !== undefined) {
        if (!Array.isArray(headers)) return undefined;
        for (const header of headers as unknown[]) {
          if (typeof header !== "object" || header === null || Array.isArray(header)) return undefined;
          for (const name of Object.keys(header)) {
            const bytes = (header as Record<string, unknown>)[name];
            if (!Array.isArray(bytes)) return undefined;
            for (const byte of bytes as unknown[]) {
              if (!isInt(byte) || byte < 0 || byte > 255) return undefined;
            }
            decodedHeaders[name] = Buffer.from(bytes as number[]);
          }
        }
      }
      records.push({
        topic,
        partition,
        offset,
        timestamp,
        key: key ? Buffer.from(key, "base64") : null,
        value: Buffer.from((value as string | null | undefined) ?? "", "base64"),
        headers: decodedHeaders,
      });
    }
  }
  return records;
}

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

/** "topic-partition", the `partition` of a batch item failure identifier. */
export const partitionKey = (record: { topic: string; partition: number }) =>
  `${record.topic}-${record.partition}`;
