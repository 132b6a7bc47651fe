import middy from "@middy/core";
import type { Context } from "aws-lambda";
import { loadConfig } from "#shared/config/index.ts";
import { openEventLog } from "#shared/event-log/index.ts";
import { lambdaLogging } from "#shared/logging/index.ts";
import { lazyStart } from "#shared/platform/lazy-start.ts";
import { eventLogDeadLetterSink } from "./dead-letter.ts";
import { createJupiter, type JupiterHandler, type KafkaBatchResponse } from "./jupiter.ts";
import { openSilverPool } from "./silver-batch.ts";
import { openSilverStore } from "./store.ts";

/**
 * Jupiter (silver) as a Lambda function on the `sessions` topic. The store and the dead letter topic are
 * opened on the first batch and kept for the container's life; a failed start is retried next batch.
 */

const config = loadConfig();

async function openJupiter(): Promise<JupiterHandler> {
  const clickhouse = await openSilverStore(config.clickhouse);
  const eventLog = await openEventLog(config);
  return createJupiter({
    clickhouse,
    pool: await openSilverPool(config.silverThreads),
    deadLetter: eventLogDeadLetterSink(eventLog, config.topics.deadLetter),
  });
}

const jupiter = lazyStart(openJupiter);

async function invoke(event: unknown, context: Context): Promise<KafkaBatchResponse> {
  return (await jupiter())(event, context);
}

// Each line logged during an invocation carries its request id and whether it was a cold start.
export const handler = middy(invoke).use(lambdaLogging());
