import {
  type DeadLetter as DeadLetterOf,
  type DeadLetterSink as DeadLetterSinkOf,
  deadLetterRecord as deadLetterRecordOf,
  eventLogDeadLetterSink as eventLogDeadLetterSinkOf,
} from "#shared/event-log/dead-letters.ts";
import type { EventLog, LogRecordInput } from "#shared/event-log/index.ts";
import type { SessionsRecord } from "./sessions-record.ts";

/** The functions that consume `sessions` and dead-letter what they cannot use (the `rejected_by` header). */
export type SessionsConsumer = "jupiter" | "neptune";

/** A `sessions` record a consuming function could not use, with every reason. */
export type DeadLetter = DeadLetterOf<SessionsRecord>;

/** Where rejected records go (the `sessions-dlq` topic in the deployed wiring; a collector in tests). */
export type DeadLetterSink = DeadLetterSinkOf<SessionsRecord>;

/** The dead letter as a `sessions-dlq` record, marked with the function that rejected it. */
export const deadLetterRecord = (letter: DeadLetter, rejectedBy: SessionsConsumer): LogRecordInput =>
  deadLetterRecordOf(letter, rejectedBy);

/** A sink appending a function's dead letters to a topic of the event log, durable when it resolves. */
export const eventLogDeadLetterSink = (
  eventLog: EventLog,
  topic: string,
  rejectedBy: SessionsConsumer,
): DeadLetterSink => eventLogDeadLetterSinkOf(eventLog, topic, rejectedBy);
