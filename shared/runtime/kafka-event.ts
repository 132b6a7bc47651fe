import type { ConsumedRecord } from "#shared/event-log/types.ts";
import {
  IN_PROCESS_EVENT_SOURCE,
  type InProcessKafkaEvent,
  type KafkaEvent,
  type KafkaEventRecord,
} from "#shared/lambda/kafka-event.ts";
import { partitionKey, type SessionsRecord } from "#shared/lambda/sessions-record.ts";
import type { EventSourceSpec } from "./types.ts";

/** Lambda's synchronous invocation payload limit: a batch never exceeds it. */
export const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;

/** A log record as a consuming function holds it (the number offset of Lambda's event, a value always). */
export const toSessionsRecord = (record: ConsumedRecord): SessionsRecord => ({
  topic: record.topic,
  partition: record.partition,
  offset: Number(record.offset),
  timestamp: record.timestamp,
  key: record.key,
  value: record.value ?? Buffer.alloc(0),
  headers: record.headers,
});

/**
 * One record as Lambda hands it over: base64 key and value, CreateTime timestamp, and headers as one object
 * per header mapping its name to the value's bytes (https://docs.aws.amazon.com/lambda/latest/dg/with-msk.html).
 */
export function toEventRecord(record: ConsumedRecord): KafkaEventRecord {
  return {
    topic: record.topic,
    partition: record.partition,
    offset: Number(record.offset),
    timestamp: record.timestamp,
    timestampType: "CREATE_TIME",
    // A record without a key has no `key` field in Lambda's event.
    ...(record.key === null ? {} : { key: record.key.toString("base64") }),
    value: (record.value ?? Buffer.alloc(0)).toString("base64"),
    headers: Object.entries(record.headers).map(([name, value]) => ({ [name]: Array.from(value) })),
  };
}

/** Records grouped as Lambda groups them: by "topic-partition", groups in order of first appearance. */
function groupByPartition(records: readonly ConsumedRecord[]): Map<string, ConsumedRecord[]> {
  const groups = new Map<string, ConsumedRecord[]>();
  for (const record of records) {
    const key = partitionKey(record);
    const list = groups.get(key);
    if (list) list.push(record);
    else groups.set(key, [record]);
  }
  return groups;
}

/** The Lambda event for records of one or more partitions (offset order kept within each partition). */
export function buildKafkaEvent(spec: EventSourceSpec, records: readonly ConsumedRecord[]): KafkaEvent {
  const grouped: Record<string, KafkaEventRecord[]> = {};
  for (const [key, list] of groupByPartition(records)) grouped[key] = list.map(toEventRecord);
  return spec.kind === "msk"
    ? {
        eventSource: "aws:kafka",
        eventSourceArn: spec.eventSourceArn!,
        bootstrapServers: spec.bootstrapServers,
        records: grouped,
      }
    : { eventSource: "SelfManagedKafka", bootstrapServers: spec.bootstrapServers, records: grouped };
}

/**
 * The same batch for a handler's `inProcess` entry: the records in the order {@link buildKafkaEvent} lists
 * them, their bytes as they are in the log (no base64, no copy).
 */
export function buildInProcessKafkaEvent(records: readonly ConsumedRecord[]): InProcessKafkaEvent {
  const groups = groupByPartition(records);
  const ordered: SessionsRecord[] = [];
  for (const list of groups.values()) for (const record of list) ordered.push(toSessionsRecord(record));
  return { eventSource: IN_PROCESS_EVENT_SOURCE, records: ordered };
}

const base64Length = (bytes: number) => Math.ceil(bytes / 3) * 4;

/** Characters of a header value's bytes as a JSON array of numbers, brackets and commas included. */
function byteArrayLength(bytes: Uint8Array): number {
  let length = bytes.length === 0 ? 2 : bytes.length + 1;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    length += byte < 10 ? 1 : byte < 100 ? 2 : 3;
  }
  return length;
}

/** Characters of a number in JSON: counted for safe integers, written out for anything else. */
function decimalLength(value: number): number {
  if (!Number.isSafeInteger(value)) return String(value).length;
  let length = value < 0 ? 2 : 1;
  for (let rest = Math.abs(value); rest >= 10; rest = Math.floor(rest / 10)) length++;
  return length;
}

/** UTF-8 bytes of a header name as a JSON string (its quotes and escapes included), kept per name. */
const jsonNameLengths = new Map<string, number>();
function jsonNameLength(name: string): number {
  let length = jsonNameLengths.get(name);
  if (length === undefined) {
    length = Buffer.byteLength(JSON.stringify(name));
    if (jsonNameLengths.size < 1_000) jsonNameLengths.set(name, length);
  }
  return length;
}

/**
 * Bytes one record adds to its event's JSON: the record exactly as {@link toEventRecord} serialises it
 * (base64 key and value, headers as arrays of numbers), the comma before it, and room for the
 * `"topic-partition":[...]` group around it in case it starts a group of its own.
 */
export function recordPayloadBytes(record: ConsumedRecord): number {
  const topic = jsonNameLength(record.topic);
  const partition = decimalLength(record.partition);
  const offset = decimalLength(Number(record.offset));
  const timestamp = decimalLength(record.timestamp);
  // {"topic":…,"partition":…,"offset":…,"timestamp":…,"timestampType":"CREATE_TIME","value":"…","headers":[…]}
  let size = 9 + topic + 13 + partition + 10 + offset + 13 + timestamp;
  size += 30 + 11 + base64Length(record.value?.length ?? 0) + 12 + 2;
  if (record.key !== null) size += 9 + base64Length(record.key.length);
  let headers = 0;
  for (const name in record.headers) {
    // {"name":[…]} and the comma between headers.
    size +=
      (headers++ === 0 ? 0 : 1) + 1 + jsonNameLength(name) + 1 + byteArrayLength(record.headers[name]!) + 1;
  }
  // The comma before the record, and a group of its own: "topic-partition":[ ] and the comma before it.
  return size + 1 + (topic + 1 + partition) + 4;
}

/** What the records of one event may add up to: the payload limit less room for the event's own fields. */
export const PAYLOAD_BUDGET_BYTES = MAX_PAYLOAD_BYTES - 1024;

/** Splits records into consecutive chunks whose events stay under the payload limit. */
export function chunkByPayload(records: readonly ConsumedRecord[], limit = PAYLOAD_BUDGET_BYTES) {
  const chunks: ConsumedRecord[][] = [];
  let current: ConsumedRecord[] = [];
  let size = 0;
  for (const record of records) {
    const bytes = recordPayloadBytes(record);
    if (current.length > 0 && size + bytes > limit) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(record);
    size += bytes;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
