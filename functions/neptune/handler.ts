import middy from "@middy/core";
import type { Context } from "aws-lambda";
import { loadConfig } from "#shared/config/index.ts";
import { openEventLog } from "#shared/event-log/index.ts";
import { lambdaLogging } from "#shared/logging/index.ts";
import { lazyStart } from "#shared/platform/lazy-start.ts";
import { CommitPacer } from "./bronze-batch.ts";
import { BronzeEncoder } from "./bronze-encoder.ts";
import { eventLogBronzeDeadLetterSink } from "./dead-letter.ts";
import { createNeptune, type KafkaBatchResponse, type NeptuneHandler } from "./neptune.ts";
import { openBronzeStore } from "./store.ts";

/**
 * Neptune (bronze) as a Lambda function on the `sessions` topic. The table and the dead letter topic are
 * opened on the first batch and kept for the container's life; a failed start is retried next batch.
 */

const config = loadConfig();

async function openNeptune(): Promise<NeptuneHandler> {
  const store = await openBronzeStore(config.bronze);
  const eventLog = await openEventLog(config);
  const encoder = new BronzeEncoder(config.bronze.writeThreads);
  await encoder.preload();
  return createNeptune({
    table: store.table,
    deadLetter: eventLogBronzeDeadLetterSink(eventLog, config.topics.deadLetter),
    pacer: new CommitPacer(config.bronze.commitIntervalMs, config.bronze.commitRows),
    encoder,
  });
}

const neptune = lazyStart(openNeptune);

async function invoke(event: unknown, context: Context): Promise<KafkaBatchResponse> {
  return (await neptune())(event, context);
}

// Each line logged during an invocation carries its request id and whether it was a cold start.
export const handler = middy(invoke).use(lambdaLogging());
