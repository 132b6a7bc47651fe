import type { SessionsRecord } from "#functions/jupiter/kafka-event.ts";
import {
  type DeadLetter,
  type DeadLetterSink,
  deadLetterRecord,
  eventLogDeadLetterSink,
} from "#shared/event-log/dead-letters.ts";
import type { EventLog, LogRecordInput } from "#shared/event-log/index.ts";

/** A `sessions` record bronze could not turn into a row, with every reason. */
export type BronzeDeadLetter = DeadLetter<SessionsRecord>;
export type BronzeDeadLetterSink = DeadLetterSink<SessionsRecord>;

/** The dead letter as a `sessions-dlq` record, marked `rejected_by: neptune`. */
export const bronzeDeadLetterRecord = (letter: BronzeDeadLetter): LogRecordInput =>
  deadLetterRecord(letter, "neptune");

/** A sink appending Neptune's dead letters to a topic of the event log. */
export const eventLogBronzeDeadLetterSink = (eventLog: EventLog, topic: string): BronzeDeadLetterSink =>
  eventLogDeadLetterSink(eventLog, topic, "neptune");
