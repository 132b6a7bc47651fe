import { loadConfig } from "#shared/config/index.ts";
import { openEventLog } from "#shared/event-log/index.ts";
import { eventLogDeadLetterSink, lazyStart, sessionsHandler } from "#shared/lambda/index.ts";
import { type BronzeBatchDeps, CommitPacer, processBronzeBatch } from "./bronze-batch.ts";
import { BronzeEncoder } from "./bronze-encoder.ts";
import { openBronzeStore } from "./store.ts";

/**
 * Neptune (bronze) as a Lambda function on the `sessions` topic. The table and the dead letter topic are
 * opened on the first batch and kept for the container's life; a failed start is retried next batch.
 */

const config = loadConfig();

async function openBronze(): Promise<BronzeBatchDeps> {
  const store = await openBronzeStore(config.bronze);
  const eventLog = await openEventLog(config);
  const encoder = new BronzeEncoder(config.bronze.writeThreads);
  await encoder.preload();
  return {
    table: store.table,
    deadLetter: eventLogDeadLetterSink(eventLog, config.topics.deadLetter, "neptune"),
    pacer: new CommitPacer(config.bronze.commitIntervalMs, config.bronze.commitRows),
    encoder,
  };
}

const bronze = lazyStart(openBronze);

export const handler = sessionsHandler(async (records) => processBronzeBatch(await bronze(), records));
