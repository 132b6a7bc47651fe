import { loadConfig } from "#shared/config/index.ts";
import { openEventLog } from "#shared/event-log/index.ts";
import { loadHandler, loadServerlessFile } from "#shared/runtime/index.ts";
import { countInvocations, runEventSourceChild, useSmallBatches } from "./event-source-child.ts";

/**
 * A child process for fault tests: the event-source runtime with Jupiter only (its real handler, from the
 * TypeScript source), configured from the environment like `npm start`, with a small batch size so a
 * stream needs many invocations.
 *
 * Environment (besides the platform's):
 * - JUPITER_BATCH_SIZE: the event source's batchSize (default 10).
 * - JUPITER_HOLD_AFTER: when set to N, invocation N+1 runs the real handler (its rows are written) and then
 *   never returns, so its offsets are never committed; the process prints `held` and waits to be killed.
 * - JUPITER_GROUP_ID: the consumer group (default serverless.yml's), so tests on a shared broker keep apart.
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
useSmallBatches(service, "jupiter", batchSize);
if (process.env.JUPITER_GROUP_ID) {
  for (const event of (jupiterFunction.events ?? []) as { msk?: Record<string, unknown> }[]) {
    if (event.msk) event.msk.consumerGroupId = process.env.JUPITER_GROUP_ID;
  }
}

const real = await loadHandler(jupiterFunction.handler, { source: "source" });
const { handler } = countInvocations(real, (n) => holdAfter !== undefined && n > holdAfter);
await runEventSourceChild({ config, log, service, functionName: "jupiter", handler });
