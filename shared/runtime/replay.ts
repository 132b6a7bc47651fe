import { readFileSync } from "node:fs";
import type { EventLog, LogRecordInput } from "#shared/event-log/types.ts";
import {
  occurredAtMs,
  sessionsRecordHeaders,
  type V1Message,
  type V2Event,
  v1EventId,
  v1MessageSchema,
  v2EventSchema,
} from "#shared/events/index.ts";
import { EventSourceConfigError } from "./errors.ts";
import type { KafkaEvent } from "./types.ts";

/** What a fixture file holds: one AWS-shaped Kafka event, or NDJSON events as Mars writes them. */
export type Fixture = { kind: "kafka-event"; event: KafkaEvent } | { kind: "ndjson"; lines: string[] };

export function readFixture(file: string): Fixture {
  const text = readFileSync(file, "utf8");
  try {
    const parsed = JSON.parse(text) as Partial<KafkaEvent>;
    if (
      (parsed.eventSource === "aws:kafka" || parsed.eventSource === "SelfManagedKafka") &&
      typeof parsed.records === "object"
    ) {
      return { kind: "kafka-event", event: parsed as KafkaEvent };
    }
  } catch {
    // Not one JSON document: NDJSON.
  }
  const lines = text.split("\n").filter((line) => line.trim() !== "");
  return { kind: "ndjson", lines };
}

/**
 * The record Venus would have appended for one accepted event: key device_id, the line as value, the
 * event_id / schema_version headers (v1 lines get their derived id). The timestamp is the event's own time,
 * not the replay time, so replaying a fixture twice gives identical records.
 */
export function sessionsRecordForLine(line: string, lineNumber: number): LogRecordInput {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch (error) {
    throw new EventSourceConfigError(`line ${lineNumber} is not JSON: ${(error as Error).message}`);
  }
  const isV2 = typeof json === "object" && json !== null && "schema_version" in json;
  if (isV2) {
    const parsed = v2EventSchema.safeParse(json);
    if (!parsed.success) throw new EventSourceConfigError(`line ${lineNumber} is not a valid v2 event`);
    const event: V2Event = parsed.data;
    return {
      key: event.device_id,
      value: line,
      timestamp: occurredAtMs(event),
      headers: sessionsRecordHeaders({ schemaVersion: 2, event }),
    };
  }
  const parsed = v1MessageSchema.safeParse(json);
  if (!parsed.success) throw new EventSourceConfigError(`line ${lineNumber} is not a valid v1 message`);
  const event: V1Message = parsed.data;
  return {
    key: event.device_id,
    value: line,
    timestamp: occurredAtMs(event),
    headers: sessionsRecordHeaders({ schemaVersion: 1, event, eventId: v1EventId(event) }),
  };
}

/** Appends every line to the topic in file order, in chunks; returns how many records were appended. */
export async function replayNdjson(
  log: EventLog,
  topic: string,
  lines: readonly string[],
  options: { partitions?: number; chunkSize?: number; progress?: (done: number, total: number) => void } = {},
): Promise<number> {
  const records = lines.map((line, index) => sessionsRecordForLine(line, index + 1));
  await log.ensureTopics([{ topic, partitions: options.partitions ?? 3 }]);
  const chunkSize = options.chunkSize ?? 1000;
  for (let start = 0; start < records.length; start += chunkSize) {
    await log.append(topic, records.slice(start, start + chunkSize));
    options.progress?.(Math.min(records.length, start + chunkSize), records.length);
  }
  return records.length;
}
