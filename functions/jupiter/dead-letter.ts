import {
  type DeadLetter,
  deadLetterRecord as deadLetterRecordBy,
  eventLogDeadLetterSink as eventLogSinkBy,
  type DeadLetterSink as SinkOf,
} from "#shared/event-log/dead-letters.ts";
import type { EventLog, LogRecordInput } from "#shared/event-log/index.ts";
import type { SessionsRecord } from "./kafka-event.ts";

/** A `sessions` record silver could not use, with every reason. */
export type SilverDeadLetter = DeadLetter<SessionsRecord>;
export type DeadLetterSink = SinkOf<SessionsRecord>;

/** The dead letter as a `sessions-dlq` record, marked `rejected_by: jupiter`. */
export const deadLetterRecord = (letter: SilverDeadLetter): LogRecordInput =>
  deadLetterRecordBy(letter, "jupiter");

/** A sink appending Jupiter's dead letters to a topic of the event log. */
export const eventLogDeadLetterSink = (eventLog: EventLog, topic: string): DeadLetterSink =>
  eventLogSinkBy(eventLog, topic, "jupiter");
