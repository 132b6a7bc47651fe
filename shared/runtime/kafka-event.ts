import type { ConsumedRecord } from "#shared/event-log/types.ts";
import type { EventSourceSpec, KafkaEvent, KafkaEventRecord } from "./types.ts";

/** Lambda's synchronous invocation payload limit: a batch never exceeds it. */
export const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;

/** "topic-partition", the key of `records` and the `partition` of a batch item failure. */
export const partitionKey = (topic: string, partition: number) => `${topic}-${partition}`;

/** Links an event record to the log record it was made from (see {@link inProcessRecord}). */
const SOURCE_RECORD = Symbol("packetpulse.sourceRecord");

type LinkedRecord = KafkaEventRecord & { [SOURCE_RECORD]?: ConsumedRecord };

const LAZY_FIELDS = {
  key: (record: ConsumedRecord) => record.key?.toString("base64"),
  value: (record: ConsumedRecord) => (record.value ?? Buffer.alloc(0)).toString("base64"),
  headers: (record: ConsumedRecord) =>
    Object.entries(record.headers).map(([name, value]) => ({ [name]: Array.from(value) })),
} as const;

/**
 * Own, enumerable properties computed from the source record on first read, then kept as plain values. The
 * event looks and serialises exactly like Lambda's; only the base64 and byte-array work waits until someone
 * reads it. Assigning to one replaces the value and unlinks the record from its source. The accessors are
 * shared by every record (they read `this`), so building an event allocates no functions per record.
 */
function settle(target: LinkedRecord, name: string, value: unknown) {
  Object.defineProperty(target, name, { value, writable: true, enumerable: true, configurable: true });
  return value;
}

function lazyDescriptor(name: keyof typeof LAZY_FIELDS): PropertyDescriptor {
  return {
    enumerable: true,
    configurable: true,
    get(this: LinkedRecord) {
      return settle(this, name, LAZY_FIELDS[name](this[SOURCE_RECORD]!));
    },
    set(this: LinkedRecord, value: unknown) {
      // The bytes were replaced: the source record no longer describes this event record.
      const source = this[SOURCE_RECORD];
      if (source !== undefined) {
        for (const other of Object.keys(LAZY_FIELDS) as (keyof typeof LAZY_FIELDS)[]) {
          if (other !== name && Object.getOwnPropertyDescriptor(this, other)?.get) {
            settle(this, other, LAZY_FIELDS[other](source));
          }
        }
        this[SOURCE_RECORD] = undefined;
      }
      settle(this, name, value);
    },
  };
}

const WITH_KEY: PropertyDescriptorMap = {
  key: lazyDescriptor("key"),
  value: lazyDescriptor("value"),
  headers: lazyDescriptor("headers"),
};
const WITHOUT_KEY: PropertyDescriptorMap = { value: WITH_KEY.value!, headers: WITH_KEY.headers! };

/**
 * One record as Lambda hands it over: base64 key and value, CreateTime timestamp, and headers as one object
 * per header mapping its name to the value's bytes (https://docs.aws.amazon.com/lambda/latest/dg/with-msk.html).
 * `key`, `value` and `headers` are computed when first read: an in-process handler of this project reads the
 * bytes through {@link inProcessRecord} instead and skips the base64 round trip.
 */
export function toEventRecord(record: ConsumedRecord): KafkaEventRecord {
  const out = {
    topic: record.topic,
    partition: record.partition,
    offset: Number(record.offset),
    timestamp: record.timestamp,
    timestampType: "CREATE_TIME",
  } as LinkedRecord;
  Object.defineProperty(out, SOURCE_RECORD, { value: record, writable: true, configurable: true });
  // A record without a key has no `key` field in Lambda's event.
  Object.defineProperties(out, record.key === null ? WITHOUT_KEY : WITH_KEY);
  return out;
}

/**
 * The log record an event record was built from, when the event was built in this process by this runtime
 * and its key, value and headers were not replaced since; undefined otherwise (an event from a file, from
 * another process, or from AWS). Handlers use it to read the bytes without decoding base64.
 */
export function inProcessRecord(eventRecord: unknown): ConsumedRecord | undefined {
  if (typeof eventRecord !== "object" || eventRecord === null) return undefined;
  return (eventRecord as { [SOURCE_RECORD]?: ConsumedRecord })[SOURCE_RECORD];
}

/** Links an event to the log records it was made from, while its `records` have not been read. */
const SOURCE_RECORDS = Symbol("packetpulse.sourceRecords");

/** Records grouped as Lambda groups them: by "topic-partition", groups in order of first appearance. */
function groupByPartition(records: readonly ConsumedRecord[]): Map<string, ConsumedRecord[]> {
  const groups = new Map<string, ConsumedRecord[]>();
  for (const record of records) {
    const key = partitionKey(record.topic, record.partition);
    const list = groups.get(key);
    if (list) list.push(record);
    else groups.set(key, [record]);
  }
  return groups;
}

/**
 * The event for records of one or more partitions (offset order kept within each partition). Its
 * `records` are built when first read, like each record's bytes (see {@link toEventRecord}): a handler of
 * this project takes the log records through {@link inProcessRecords} instead and the event records are
 * never made. Anyone else (a handler bundle, JSON.stringify, a test) reads the exact Lambda event.
 */
export function buildKafkaEvent(spec: EventSourceSpec, records: readonly ConsumedRecord[]): KafkaEvent {
  const groups = groupByPartition(records);
  const event = (
    spec.kind === "msk"
      ? {
          eventSource: "aws:kafka",
          eventSourceArn: spec.eventSourceArn!,
          bootstrapServers: spec.bootstrapServers,
        }
      : { eventSource: "SelfManagedKafka", bootstrapServers: spec.bootstrapServers }
  ) as KafkaEvent & { [SOURCE_RECORDS]?: ConsumedRecord[] };
  Object.defineProperty(event, SOURCE_RECORDS, {
    value: [...groups.values()].flat(),
    writable: true,
    configurable: true,
  });
  Object.defineProperty(event, "records", {
    enumerable: true,
    configurable: true,
    get(this: typeof event) {
      const grouped: Record<string, KafkaEventRecord[]> = {};
      for (const [key, list] of groups) grouped[key] = list.map(toEventRecord);
      // Read once: from now on the event records are what the handler sees (and may change).
      this[SOURCE_RECORDS] = undefined;
      Object.defineProperty(this, "records", {
        value: grouped,
        writable: true,
        enumerable: true,
        configurable: true,
      });
      return grouped;
    },
    set(this: typeof event, value: Record<string, KafkaEventRecord[]>) {
      this[SOURCE_RECORDS] = undefined;
      Object.defineProperty(this, "records", { value, writable: true, enumerable: true, configurable: true });
    },
  });
  return event;
}

/**
 * The log records of an event this runtime built in this process, in the event's order, as long as its
 * `records` were never read or replaced; undefined otherwise (then read the event, record by record).
 */
export function inProcessRecords(event: unknown): readonly ConsumedRecord[] | undefined {
  if (typeof event !== "object" || event === null) return undefined;
  return (event as { [SOURCE_RECORDS]?: ConsumedRecord[] })[SOURCE_RECORDS];
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
