import type { ConsumedRecord } from "#shared/log/types.ts";
import type { EventSourceSpec, KafkaEvent, KafkaEventRecord } from "./types.ts";

/** Lambda's synchronous invocation payload limit: a batch never exceeds it. */
export const MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;

/** "topic-partition", the key of `records` and the `partition` of a batch item failure. */
export const partitionKey = (topic: string, partition: number) => `${topic}-${partition}`;

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
    headers: Object.entries(record.headers).map(([name, value]) => ({ [name]: [...value] })),
  };
}

/** The event for records of one or more partitions (offset order kept within each partition). */
export function buildKafkaEvent(spec: EventSourceSpec, records: readonly ConsumedRecord[]): KafkaEvent {
  const grouped: Record<string, KafkaEventRecord[]> = {};
  for (const record of records) {
    const key = partitionKey(record.topic, record.partition);
    const list = grouped[key] ?? [];
    list.push(toEventRecord(record));
    grouped[key] = list;
  }
  return spec.kind === "msk"
    ? {
        eventSource: "aws:kafka",
        eventSourceArn: spec.eventSourceArn!,
        bootstrapServers: spec.bootstrapServers,
        records: grouped,
      }
    : { eventSource: "SelfManagedKafka", bootstrapServers: spec.bootstrapServers, records: grouped };
}

/** Bytes one record adds to the event's JSON (base64 grows by 4/3, each header byte is up to 4 characters). */
export function recordPayloadBytes(record: ConsumedRecord): number {
  const base64 = (bytes: number) => Math.ceil(bytes / 3) * 4;
  let size = 160 + record.topic.length + base64(record.value?.length ?? 0) + base64(record.key?.length ?? 0);
  for (const [name, value] of Object.entries(record.headers)) size += name.length + 8 + value.length * 4;
  return size;
}

/** Splits records into consecutive chunks whose events stay under the payload limit. */
export function chunkByPayload(records: readonly ConsumedRecord[], limit = MAX_PAYLOAD_BYTES - 1024) {
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
