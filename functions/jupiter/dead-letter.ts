import type { ValidationIssue } from "#shared/events/index.ts";
import { deadLetterHeaders } from "#shared/events/index.ts";
import type { EventLog, LogRecordInput } from "#shared/log/index.ts";
import type { SessionsRecord } from "./kafka-event.ts";

/** A `sessions` record silver could not use, with every reason. */
export interface SilverDeadLetter {
  record: SessionsRecord;
  schemaVersion: 1 | 2;
  issues: ValidationIssue[];
}

/** Where rejected records go (the `sessions-dlq` topic in the deployed wiring; a collector in tests). */
export type DeadLetterSink = (letters: readonly SilverDeadLetter[]) => Promise<void>;

/** Header naming the record a dead letter came from, to find it again on `sessions`. */
export const SOURCE_RECORD_HEADER = "source_record";

/** The dead letter as a `sessions-dlq` record: the raw value, the contract's reason headers, its origin. */
export function deadLetterRecord(letter: SilverDeadLetter): LogRecordInput {
  const { record } = letter;
  return {
    key: record.key?.toString("utf8") ?? "",
    value: record.value,
    headers: {
      ...deadLetterHeaders(letter.issues, letter.schemaVersion, new Date(record.timestamp)),
      [SOURCE_RECORD_HEADER]: `${record.topic}-${record.partition}@${record.offset}`,
    },
  };
}

/** A sink appending to a topic of the event log; it resolves once the letters are durable. */
export function eventLogDeadLetterSink(eventLog: EventLog, topic: string): DeadLetterSink {
  return async (letters) => {
    if (letters.length > 0) await eventLog.append(topic, letters.map(deadLetterRecord));
  };
}
