import middy, { type MiddlewareObj } from "@middy/core";
import type { Context } from "aws-lambda";
import { decodeKafkaEvent, type SessionsRecord } from "#functions/jupiter/kafka-event.ts";
import { type BronzeBatchDeps, processBronzeBatch } from "./bronze-batch.ts";

/**
 * The response of a Kafka handler with ReportBatchItemFailures. Bronze never lists items: a record it
 * cannot type goes to the dead letter sink and the batch succeeds; a storage or catalog failure throws and
 * the event source retries the whole batch, which the table's committed offsets make idempotent.
 * https://docs.aws.amazon.com/lambda/latest/dg/with-msk.html (partial batch responses)
 */
export interface KafkaBatchResponse {
  batchItemFailures: { itemIdentifier: { partition: string; offset: number } }[];
}

export type NeptuneHandler = (event: unknown, context: Context) => Promise<KafkaBatchResponse>;

/** Replaces the Lambda event by its decoded records; a malformed event throws a KafkaEventError. */
const kafkaRecordsParser = (): MiddlewareObj<unknown, KafkaBatchResponse> => ({
  before: (request) => {
    request.event = decodeKafkaEvent(request.event);
  },
});

/** Neptune's handler with its dependencies: the bronze table and a dead letter sink. */
export function createNeptune(deps: BronzeBatchDeps): NeptuneHandler {
  return middy<unknown, KafkaBatchResponse>()
    .use(kafkaRecordsParser())
    .handler(async (records) => {
      await processBronzeBatch(deps, records as SessionsRecord[]);
      return { batchItemFailures: [] };
    });
}
