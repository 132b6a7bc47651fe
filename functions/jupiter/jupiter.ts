import middy, { type MiddlewareObj } from "@middy/core";
import type { Context } from "aws-lambda";
import { decodeKafkaEvent, type SessionsRecord } from "./kafka-event.ts";
import { processSilverBatch, type SilverBatchDeps } from "./silver-batch.ts";

/**
 * The response of a Kafka handler with ReportBatchItemFailures. Silver never lists items: a record it
 * cannot use goes to the dead letter sink and the batch succeeds; an infrastructure failure throws, and
 * the event source retries the whole batch (idempotently).
 * https://docs.aws.amazon.com/lambda/latest/dg/with-msk.html (partial batch responses)
 */
export interface KafkaBatchResponse {
  batchItemFailures: { itemIdentifier: { partition: string; offset: number } }[];
}

/** Replaces the Lambda event by its decoded records; a malformed event throws a KafkaEventError. */
export const kafkaRecordsParser = (): MiddlewareObj<unknown, KafkaBatchResponse> => ({
  before: (request) => {
    request.event = decodeKafkaEvent(request.event);
  },
});

export type JupiterHandler = (event: unknown, context: Context) => Promise<KafkaBatchResponse>;

/** Jupiter's handler with its dependencies: a migrated ClickHouse client and a dead letter sink. */
export function createJupiter(deps: SilverBatchDeps): JupiterHandler {
  return middy<unknown, KafkaBatchResponse>()
    .use(kafkaRecordsParser())
    .handler(async (records) => {
      await processSilverBatch(deps, records as SessionsRecord[]);
      return { batchItemFailures: [] };
    });
}
