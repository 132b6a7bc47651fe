import { createNeptune, openBronzeStore } from "#functions/neptune/index.ts";
import { loadConfig } from "#shared/config/index.ts";
import { openEventLog } from "#shared/event-log/index.ts";
import { eventLogDeadLetterSink } from "#shared/lambda/index.ts";
import { loadServerlessFile } from "#shared/runtime/index.ts";
import { countInvocations, forever, runEventSourceChild, useSmallBatches } from "./event-source-child.ts";

/**
 * A child process for fault tests: the event-source runtime with Neptune only (its real batch code),
 * configured from the environment like `npm start`, with small batches so a stream needs many commits.
 *
 * Environment (besides the platform's):
 * - NEPTUNE_BATCH_SIZE: the event source's batchSize (default 50).
 * - NEPTUNE_HOLD=before-commit: invocation NEPTUNE_HOLD_AFTER + 1 writes its data files, then never
 *   commits (prints `held <n>`): a crash between writing files and committing.
 * - NEPTUNE_HOLD=after-commit: that invocation commits to the table, then never returns, so the event log
 *   never commits its offsets: a crash after the table commit, before the consumer's.
 *
 * Prints `ready`, `invoke <n> <records>`, `done <n>`, `held <n>` and `stats {json}` every 100 ms.
 */

const batchSize = Number(process.env.NEPTUNE_BATCH_SIZE ?? "50");
const hold = process.env.NEPTUNE_HOLD;
const holdAfter = Number(process.env.NEPTUNE_HOLD_AFTER ?? "0");

const config = loadConfig();
const log = await openEventLog(config);
const store = await openBronzeStore(config.bronze);
const service = loadServerlessFile("serverless.yml");
useSmallBatches(service, "neptune", batchSize);

const neptune = createNeptune({
  table: store.table,
  deadLetter: eventLogDeadLetterSink(log, config.topics.deadLetter, "neptune"),
  beforeCommit: async () => {
    if (hold === "before-commit" && counted.invocations() > holdAfter) {
      console.log(`held ${counted.invocations()}`);
      await forever();
    }
  },
});
const counted = countInvocations(neptune, (n) => hold === "after-commit" && n > holdAfter);
await runEventSourceChild({
  config,
  log,
  service,
  functionName: "neptune",
  handler: counted.handler,
  close: () => store.close(),
});
