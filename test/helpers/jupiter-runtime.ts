import { loadConfig } from "#shared/config/index.ts";
import { openEventLog } from "#shared/log/index.ts";
import { loadHandler, loadServerlessFile, startEventSources } from "#shared/runtime/index.ts";
import type { KafkaHandler } from "#shared/runtime/types.ts";

/**
 * A child process for fault tests: the event-source runtime with Jupiter only (its real handler, from the
 * TypeScript source), configured from the environment like `npm start`, with a small batch size so a
 * stream needs many invocations.
 *
 * Environment (besides the platform's):
 * - JUPITER_BATCH_SIZE: the event source's batchSize (default 10).
 * - JUPITER_HOLD_AFTER: when set to N, invocation N+1 runs the real handler (its rows are written) and then
 *   never returns, so its offsets are never committed; the process prints `held` and waits to be killed.
 *
 * Prints one line per event: `ready`, `invoke <n> <records>`, `done <n>`, `held <n>`, and
 * `stats {json}` every 100 ms (the runtime's snapshot for Jupiter).
 */

const batchSize = Number(process.env.JUPITER_BATCH_SIZE ?? "10");
const holdAfter = process.env.JUPITER_HOLD_AFTER ? Number(process.env.JUPITER_HOLD_AFTER) : undefined;

const config = loadConfig();
const log = await openEventLog(config);
const service = loadServerlessFile("serverless.yml");
const jupiterFunction = service.functions?.jupiter;
if (!jupiterFunction?.handler) throw new Error("serverless.yml has no jupiter function");
const events = (jupiterFunction.events ?? []) as { msk?: Record<string, unknown> }[];
for (const event of events) {
  if (event.msk) Object.assign(event.msk, { batchSize, maximumBatchingWindow: 0 });
}

const real = await loadHandler(jupiterFunction.handler, { source: "source" });
let invocations = 0;
const jupiter: KafkaHandler = async (event, context) => {
  const n = ++invocations;
  const records = Object.values((event as { records: Record<string, unknown[]> }).records).flat().length;
  console.log(`invoke ${n} ${records}`);
  const result = await real(event, context);
  if (holdAfter !== undefined && n > holdAfter) {
    console.log(`held ${n}`);
    await new Promise(() => {});
  }
  console.log(`done ${n}`);
  return result;
};

const runtime = await startEventSources({
  config,
  log,
  serverlessConfig: service,
  functions: ["jupiter"],
  handlers: { jupiter },
  statsIntervalMs: 0,
  say: (line) => console.log(`[event-sources] ${line}`),
});

let stopping = false;
process.on("SIGTERM", () => {
  stopping = true;
  void (async () => {
    await runtime.stop();
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
