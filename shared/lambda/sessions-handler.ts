import middy, { type MiddlewareObj } from "@middy/core";
import type { Context } from "aws-lambda";
import { lambdaLogging } from "#shared/logging/index.ts";
import { decodeKafkaEvent, type InProcessKafkaEvent, type KafkaBatchResponse } from "./kafka-event.ts";
import type { SessionsRecord } from "./sessions-record.ts";

/** What the business function of a `sessions` consumer receives once the event is parsed. */
export interface SessionsBatch {
  records: readonly SessionsRecord[];
}

/**
 * A function consuming `sessions`: Lambda's entry (the function object itself, what serverless.yml names)
 * takes the Kafka event as AWS sends it (`unknown` until the middleware has parsed it); `inProcess` takes
 * the records already decoded, and the local event-source runtime calls it instead when it finds it,
 * sparing the base64 round trip. Both run the same middleware chain.
 */
export interface SessionsHandler {
  (event: unknown, context: Context): Promise<KafkaBatchResponse>;
  inProcess(event: InProcessKafkaEvent, context: Context): Promise<KafkaBatchResponse>;
}

/** Events that came through a handler's `inProcess` entry; only those skip decoding. */
const inProcessEvents = new WeakSet<object>();

/**
 * Middleware that replaces the event by its decoded records: Lambda's Kafka event (MSK or self-managed) is
 * parsed, and a malformed one throws a KafkaEventError; an event from the `inProcess` entry is used as it is.
 */
export const kafkaRecordsParser = (): MiddlewareObj<SessionsBatch, KafkaBatchResponse> => ({
  before: (request) => {
    if (!inProcessEvents.has(request.event)) request.event = { records: decodeKafkaEvent(request.event) };
  },
});

/**
 * The response when every record was dealt with. A consumer of `sessions` never lists items: a record it
 * cannot use goes to the dead letter topic and the batch succeeds; an infrastructure failure throws and the
 * event source retries the whole batch, which each consumer makes idempotent.
 * https://docs.aws.amazon.com/lambda/latest/dg/with-msk.html (partial batch responses)
 */
const allRecordsDone = (): KafkaBatchResponse => ({ batchItemFailures: [] });

/** The handler of a function that consumes `sessions` batches with `processBatch`. */
export function sessionsHandler(
  processBatch: (records: readonly SessionsRecord[], context: Context) => Promise<unknown>,
): SessionsHandler {
  const chain = (onLambda: boolean) => {
    const base = middy<SessionsBatch, KafkaBatchResponse>();
    // On Lambda, each line logged during an invocation carries its request id and whether it was a cold start.
    if (onLambda) base.use(lambdaLogging());
    return (
      base
        .use(kafkaRecordsParser())
        // The chain is called with what Lambda sends (the parser turns it into a SessionsBatch first).
        .handler<unknown>(async (batch, context) => {
          await processBatch(batch.records, context);
          return allRecordsDone();
        })
    );
  };
  const lambdaChain = chain(true);
  const inProcessChain = chain(false);
  const lambda = (event: unknown, context: Context) => lambdaChain(event, context);
  return Object.assign(lambda, {
    inProcess: (event: InProcessKafkaEvent, context: Context) => {
      inProcessEvents.add(event);
      return inProcessChain(event, context);
    },
  });
}
