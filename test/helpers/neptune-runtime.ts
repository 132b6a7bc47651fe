import { createNeptune, eventLogBronzeDeadLetterSink, openBronzeStore } from "#functions/neptune/index.ts";
import { loadConfig } from "#shared/config/index.ts";
import { openEventLog } from "#shared/log/index.ts";
import { loadServerlessFile, startEventSources } from "#shared/runtime/index.ts";
import type { KafkaHandler } from "#shared/runtime/types.ts";

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
const forever = () => new Promise<never>(() => {});

const config = loadConfig();
const log = await openEventLog(config);
const store = await openBronzeStore(config.bronze);
const service = loadServerlessFile("serverless.yml");
for (const event of (service.functions?.neptune?.events ?? []) as { msk?: Record<string, unknown> }[]) {
  if (event.msk) Object.assign(event.msk, { batchSize, maximumBatchingWindow: 0 });
}

let invocations = 0;
const neptune = createNeptune({
  table: store.table,
  deadLetter: eventLogBronzeDeadLetterSink(log, config.topics.deadLetter),
  beforeCommit: async () => {
    if (hold === "before-commit" && invocations > holdAfter) {
      console.log(`held ${invocations}`);
      await forever();
    }
  },
});
const handler: KafkaHandler = async (event, context) => {
  const n = ++invocations;
  const records = Object.values(event.records).flat().length;
  console.log(`invoke ${n} ${records}`);
  const result = await neptune(event, context);
  if (hold === "after-commit" && n > holdAfter) {
    console.log(`held ${n}`);
    await forever();
  }
  console.log(`done ${n}`);
  return result;
};

const runtime = await startEventSources({
  config,
  log,
  serverlessConfig: service,
  functions: ["neptune"],
  handlers: { neptune: handler },
  statsIntervalMs: 0,
  say: (line) => console.log(`[event-sources] ${line}`),
});

let stopping = false;
process.on("SIGTERM", () => {
  stopping = true;
  void (async () => {
    await runtime.stop();
    await store.close();
    await log.close();
    console.log("stopped");
    process.exit(0);
  })();
});

await runtime.ready;
console.log("ready");
while (!stopping) {
  const stats = await runtime.stats();
  if (stopping) break;
  console.log(`stats ${JSON.stringify(stats.eventSources[0])}`);
  await new Promise((resolve) => setTimeout(resolve, 100));
}
