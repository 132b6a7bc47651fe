import type { PacketPulseConfig } from "#shared/config/index.ts";
import type { EventLog } from "#shared/event-log/index.ts";
import { type loadServerlessFile, startEventSources } from "#shared/runtime/index.ts";
import type { KafkaHandler } from "#shared/runtime/types.ts";

/**
 * The common part of the fault tests' child processes (`jupiter-runtime.ts`, `neptune-runtime.ts`): one
 * function's event source with small batches, invocations counted and printed, and a stats line every
 * 100 ms until SIGTERM. The parent test reads `ready`, `invoke <n> <records>`, `done <n>`, `held <n>` and
 * `stats {json}` from stdout.
 */

type Service = ReturnType<typeof loadServerlessFile>;

/** Sets the batch size of a function's msk events and turns their batching window off. */
export function useSmallBatches(service: Service, functionName: string, batchSize: number): void {
  for (const event of (service.functions?.[functionName]?.events ?? []) as {
    msk?: Record<string, unknown>;
  }[]) {
    if (event.msk) Object.assign(event.msk, { batchSize, maximumBatchingWindow: 0 });
  }
}

/** Never settles: a handler "hangs" here, as a process that is about to be killed. */
export const forever = () => new Promise<never>(() => {});

/**
 * Wraps a handler: prints `invoke <n> <records>` before and `done <n>` after each invocation, and hangs
 * (printing `held <n>`) after invocation n when `holdAfter(n)` says so. `invocations()` is the count so far.
 */
export function countInvocations(handler: KafkaHandler, holdAfter: (n: number) => boolean = () => false) {
  let count = 0;
  const counted: KafkaHandler = async (event, context) => {
    const n = ++count;
    console.log(`invoke ${n} ${Object.values(event.records).flat().length}`);
    const result = await handler(event, context);
    if (holdAfter(n)) {
      console.log(`held ${n}`);
      await forever();
    }
    console.log(`done ${n}`);
    return result;
  };
  return { handler: counted, invocations: () => count };
}

/** Runs one function's event source until SIGTERM, then stops it, runs `close` and exits. */
export async function runEventSourceChild(options: {
  config: PacketPulseConfig;
  log: EventLog;
  service: Service;
  functionName: string;
  handler: KafkaHandler;
  close?: () => Promise<void>;
}): Promise<void> {
  const { config, log, service, functionName, handler } = options;
  const runtime = await startEventSources({
    config,
    log,
    serverlessConfig: service,
    functions: [functionName],
    handlers: { [functionName]: handler },
    statsIntervalMs: 0,
    say: (line) => console.log(`[event-sources] ${line}`),
  });
  let stopping = false;
  process.on("SIGTERM", () => {
    stopping = true;
    void (async () => {
      await runtime.stop();
      await options.close?.();
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
}
