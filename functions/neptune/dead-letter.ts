import type { SessionsRecord } from "#functions/jupiter/kafka-event.ts";
import { deadLetterHeaders, type ValidationIssue } from "#shared/events/index.ts";
import type { EventLog, LogRecordInput } from "#shared/log/index.ts";

/** A `sessions` record bronze could not turn into a row, with every reason. */
export interface BronzeDeadLetter {
  record: SessionsRecord;
  schemaVersion: 1 | 2;
  issues: ValidationIssue[];
}

export type BronzeDeadLetterSink = (letters: readonly BronzeDeadLetter[]) => Promise<void>;

/** Header naming the record a dead letter came from, to find it again on `sessions`. */
export const SOURCE_RECORD_HEADER = "source_record";
/** Header naming the function that rejected the record. */
export const REJECTED_BY_HEADER = "rejected_by";

/** The dead letter as a `sessions-dlq` record: the raw value, the contract's reason headers, its origin. */
export function bronzeDeadLetterRecord(letter: BronzeDeadLetter): LogRecordInput {
  const { record } = letter;
  return {
    key: record.key?.toString("utf8") ?? "",
    value: record.value,
    headers: {
      ...deadLetterHeaders(letter.issues, letter.schemaVersion, new Date(record.timestamp)),
      [SOURCE_RECORD_HEADER]: `${record.topic}-${record.partition}@${record.offset}`,
      [REJECTED_BY_HEADER]: "neptune",
    },
  };
}

/** A sink appending to a topic of the event log; it resolves once the letters are durable. */
export function eventLogBronzeDeadLetterSink(eventLog: EventLog, topic: string): BronzeDeadLetterSink {
  return async (letters) => {
    if (letters.length > 0) await eventLog.append(topic, letters.map(bronzeDeadLetterRecord));
  };
}
