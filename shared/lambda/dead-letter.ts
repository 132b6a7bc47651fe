import type { EventLog, LogRecordInput } from "#shared/event-log/types.ts";
import { DEAD_LETTER_HEADERS, deadLetterHeaders, type ValidationIssue } from "#shared/events/index.ts";
import type { SessionsRecord } from "./sessions-record.ts";

/** The functions that consume `sessions` and dead-letter what they cannot use (the `rejected_by` header). */
export type SessionsConsumer = "jupiter" | "neptune";

/** A `sessions` record a consuming function could not use, with every reason. */
export interface DeadLetter {
  record: SessionsRecord;
  schemaVersion: 1 | 2;
  issues: ValidationIssue[];
}

/** Where rejected records go (the `sessions-dlq` topic in the deployed wiring; a collector in tests). */
export type DeadLetterSink = (letters: readonly DeadLetter[]) => Promise<void>;

/** Header naming the record a dead letter came from, to find it again on `sessions`. */
export const SOURCE_RECORD_HEADER = "source_record";
/** Header naming the function that rejected the record. */
export const REJECTED_BY_HEADER = "rejected_by";

/**
 * Most bytes of a record's value (and key) a dead letter carries: eight times the largest event the
 * contract accepts (and far more than a device id). A larger record cannot be an event; copied whole, one
 * near Kafka's message size limit would not fit with the reason headers, and its dead letter would fail
 * every retry of the batch. The record itself stays on its topic, at `source_record`.
 */
export const DEAD_LETTER_MAX_VALUE_BYTES = 64 * 1024;
export const DEAD_LETTER_MAX_KEY_BYTES = 1024;
/** Header giving the record's value size when the dead letter carries only its first bytes. */
export const ORIGINAL_VALUE_BYTES_HEADER = "original_value_bytes";
/** Header giving the record's key size when the dead letter carries only its first bytes. */
export const ORIGINAL_KEY_BYTES_HEADER = "original_key_bytes";

/**
 * The dead letter as a `sessions-dlq` record: the raw value (its first {@link DEAD_LETTER_MAX_VALUE_BYTES}
 * when longer), the contract's reason headers, its origin and the function that rejected it.
 */
export function deadLetterRecord(letter: DeadLetter, rejectedBy: SessionsConsumer): LogRecordInput {
  const { record } = letter;
  const receivedAt = new Date(record.timestamp);
  const representable = !Number.isNaN(receivedAt.getTime());
  const key = record.key ?? Buffer.alloc(0);
  const cutKey = key.length > DEAD_LETTER_MAX_KEY_BYTES;
  const cutValue = record.value.length > DEAD_LETTER_MAX_VALUE_BYTES;
  return {
    key: (cutKey ? key.subarray(0, DEAD_LETTER_MAX_KEY_BYTES) : key).toString("utf8"),
    value: cutValue ? record.value.subarray(0, DEAD_LETTER_MAX_VALUE_BYTES) : record.value,
    headers: {
      ...(cutValue ? { [ORIGINAL_VALUE_BYTES_HEADER]: String(record.value.length) } : {}),
      ...(cutKey ? { [ORIGINAL_KEY_BYTES_HEADER]: String(key.length) } : {}),
      ...deadLetterHeaders(letter.issues, letter.schemaVersion, representable ? receivedAt : new Date(0)),
      // A Kafka timestamp no date can hold (any producer sets one) is kept as it was, not as a made-up time.
      ...(representable ? {} : { [DEAD_LETTER_HEADERS.receivedAt]: String(record.timestamp) }),
      [SOURCE_RECORD_HEADER]: `${record.topic}-${record.partition}@${record.offset}`,
      [REJECTED_BY_HEADER]: rejectedBy,
    },
  };
}

/** A sink appending to a topic of the event log; it resolves once the letters are durable. */
export function eventLogDeadLetterSink(
  eventLog: EventLog,
  topic: string,
  rejectedBy: SessionsConsumer,
): DeadLetterSink {
  return async (letters) => {
    if (letters.length > 0) {
      await eventLog.append(
        topic,
        letters.map((letter) => deadLetterRecord(letter, rejectedBy)),
      );
    }
  };
}
