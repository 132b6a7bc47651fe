import { z } from "zod";
import { PacketPulseError } from "#shared/errors.ts";
import type { SessionsRecord } from "./sessions-record.ts";

/**
 * The event a Lambda function receives from an Amazon MSK or self-managed Apache Kafka event source mapping.
 * Shapes from https://docs.aws.amazon.com/lambda/latest/dg/with-msk.html (MSK: `eventSource` "aws:kafka",
 * `eventSourceArn`) and https://docs.aws.amazon.com/lambda/latest/dg/with-kafka.html (self-managed:
 * `eventSource` "SelfManagedKafka", `bootstrapServers`). `records` is keyed "topic-partition". Written out
 * rather than taken from @types/aws-lambda, whose records always have a `key`: Lambda leaves it out when
 * the record has none.
 */
export interface KafkaEventRecord {
  topic: string;
  partition: number;
  offset: number;
  /** Milliseconds since the epoch. */
  timestamp: number;
  timestampType: "CREATE_TIME" | "LOG_APPEND_TIME";
  /** Base64 of the key bytes; absent when the record has no key. */
  key?: string;
  /** Base64 of the value bytes. */
  value: string;
  /** One object per header, mapping its name to the value's bytes. */
  headers: Record<string, number[]>[];
}

export interface MskEvent {
  eventSource: "aws:kafka";
  eventSourceArn: string;
  bootstrapServers: string;
  records: Record<string, KafkaEventRecord[]>;
}

export interface SelfManagedKafkaEvent {
  eventSource: "SelfManagedKafka";
  bootstrapServers: string;
  records: Record<string, KafkaEventRecord[]>;
}

export type KafkaEvent = MskEvent | SelfManagedKafkaEvent;

/** The `eventSource` of an {@link InProcessKafkaEvent}. */
export const IN_PROCESS_EVENT_SOURCE = "packetpulse:in-process";

/**
 * What the local event-source runtime hands a handler of this project that runs in its process: the
 * batch's records already decoded, in the order Lambda's event would list them (grouped by partition,
 * offset order within each). It is passed through the handler's typed `inProcess` entry only
 * (see `SessionsHandler`), never through Lambda's, so nothing from outside can pose as one.
 */
export interface InProcessKafkaEvent {
  eventSource: typeof IN_PROCESS_EVENT_SOURCE;
  records: readonly SessionsRecord[];
}

/**
 * A partial batch response for Kafka: the identifier is the record's "topic-partition" and its offset
 * (https://docs.aws.amazon.com/lambda/latest/dg/kafka-retry-configurations.html, "Partial batch response").
 */
export interface KafkaBatchItemFailure {
  itemIdentifier: { partition: string; offset: number };
}

export interface KafkaBatchResponse {
  batchItemFailures: KafkaBatchItemFailure[];
}

const kafkaEventRecordSchema = z.object({
  topic: z.string().min(1),
  partition: z.number().int().nonnegative(),
  offset: z.number().int().nonnegative(),
  timestamp: z.number().int(),
  timestampType: z.string().optional(),
  key: z.string().nullish(),
  value: z.string().nullish(),
  headers: z.array(z.record(z.string(), z.array(z.number().int().min(0).max(255)))).default([]),
});

/** What a Kafka event must look like to be decoded (MSK and self-managed alike). */
export const kafkaEventSchema = z.object({
  eventSource: z.string(),
  records: z.record(z.string(), z.array(kafkaEventRecordSchema)),
});

export class KafkaEventError extends PacketPulseError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "KafkaEventError";
  }
}

/**
 * The records of a Lambda Kafka event, key, value and headers decoded to bytes; throws a
 * {@link KafkaEventError} naming the first wrong field.
 */
export function decodeKafkaEvent(event: unknown): SessionsRecord[] {
  // Fast path: a well-formed event is decoded without zod (which checks every header byte as a schema
  // node and dominated a batch's cost); anything it does not accept goes through the schema for the error.
  const fast = decodeWellFormed(event);
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

const isInt = (value: unknown): value is number => typeof value === "number" && Number.isInteger(value);
const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** The headers of a well-formed event record as bytes; undefined when they are not well formed. */
function decodeHeaders(headers: unknown): Record<string, Buffer> | undefined {
  const decoded: Record<string, Buffer> = {};
  if (headers === undefined) return decoded;
  if (!Array.isArray(headers)) return undefined;
  for (const header of headers as unknown[]) {
    if (!isPlainObject(header)) return undefined;
    for (const name of Object.keys(header)) {
      const bytes = header[name];
      if (!Array.isArray(bytes)) return undefined;
      for (const byte of bytes as unknown[]) {
        if (!isInt(byte) || byte < 0 || byte > 255) return undefined;
      }
      decoded[name] = Buffer.from(bytes as number[]);
    }
  }
  return decoded;
}

/** One record of a well-formed event, decoded; undefined when it does not satisfy the schema. */
function decodeWellFormedRecord(record: unknown): SessionsRecord | undefined {
  if (!isPlainObject(record)) return undefined;
  const { topic, partition, offset, timestamp, timestampType, key, value } = record;
  if (typeof topic !== "string" || topic.length === 0) return undefined;
  if (!isInt(partition) || partition < 0 || !isInt(offset) || offset < 0 || !isInt(timestamp))
    return undefined;
  if (timestampType !== undefined && typeof timestampType !== "string") return undefined;
  if (key !== undefined && key !== null && typeof key !== "string") return undefined;
  if (value !== undefined && value !== null && typeof value !== "string") return undefined;
  const headers = decodeHeaders(record.headers);
  if (headers === undefined) return undefined;
  return {
    topic,
    partition,
    offset,
    timestamp,
    key: key ? Buffer.from(key, "base64") : null,
    value: Buffer.from(value ?? "", "base64"),
    headers,
  };
}

/** The decoded records when `event` satisfies {@link kafkaEventSchema}; undefined otherwise. */
function decodeWellFormed(event: unknown): SessionsRecord[] | undefined {
  if (!isPlainObject(event)) return undefined;
  const { eventSource, records: groups } = event;
  if (typeof eventSource !== "string" || !isPlainObject(groups)) return undefined;
  if (Object.getPrototypeOf(groups) !== Object.prototype) return undefined;
  const records: SessionsRecord[] = [];
  for (const list of Object.values(groups)) {
    if (!Array.isArray(list)) return undefined;
    for (const eventRecord of list as unknown[]) {
      const record = decodeWellFormedRecord(eventRecord);
      if (record === undefined) return undefined;
      records.push(record);
    }
  }
  return records;
}
