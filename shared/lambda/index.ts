/**
 * What a Lambda function of this project is made of: the Kafka event and its decoder, the one record type
 * of `sessions`, the middleware and handler shape of its consumers, their dead letters, and resources
 * opened on the first invocation. See docs/decisions/028-lambda-boundary.md.
 */
export {
  type DeadLetter,
  type DeadLetterSink,
  deadLetterRecord,
  eventLogDeadLetterSink,
  type SessionsConsumer,
} from "./dead-letter.ts";
export {
  decodeKafkaEvent,
  IN_PROCESS_EVENT_SOURCE,
  type InProcessKafkaEvent,
  type KafkaBatchItemFailure,
  type KafkaBatchResponse,
  type KafkaEvent,
  KafkaEventError,
  type KafkaEventRecord,
  kafkaEventSchema,
  type MskEvent,
  type SelfManagedKafkaEvent,
} from "./kafka-event.ts";
export { lazyStart } from "./lazy-start.ts";
export {
  kafkaRecordsParser,
  type SessionsBatch,
  type SessionsHandler,
  sessionsHandler,
} from "./sessions-handler.ts";
export {
  partitionKey,
  receiveTimeIssue,
  type SessionsRecord,
  schemaVersionOf,
} from "./sessions-record.ts";
