import { loadConfig } from "#shared/config/index.ts";
import { openEventLog } from "#shared/event-log/index.ts";
import { eventLogDeadLetterSink, lazyStart, sessionsHandler } from "#shared/lambda/index.ts";
import { openSilverPool, processSilverBatch, type SilverBatchDeps } from "./silver-batch.ts";
import { openSilverStore } from "./store.ts";

/**
 * Jupiter (silver) as a Lambda function on the `sessions` topic. The store and the dead letter topic are
 * opened on the first batch and kept for the container's life; a failed start is retried next batch.
 */

const config = loadConfig();

async function openSilver(): Promise<SilverBatchDeps> {
  const clickhouse = await openSilverStore(config.clickhouse);
  const eventLog = await openEventLog(config);
  return {
    clickhouse,
    pool: await openSilverPool(config.silverThreads),
    deadLetter: eventLogDeadLetterSink(eventLog, config.topics.deadLetter, "jupiter"),
  };
}

const silver = lazyStart(openSilver);

export const handler = sessionsHandler(async (records) => processSilverBatch(await silver(), records));
