import { logger, loggerOr } from "#shared/logging/index.ts";
import { loadHandler, loadServerlessFile } from "#shared/runtime/index.ts";
import { scheduleExpressionOf, scheduleRateMs } from "#shared/runtime/schedule.ts";

const hostLog = logger("host");

/**
 * Runs the `schedule` events of serverless.yml in this process (`npm start`), as EventBridge rules do on
 * AWS: each function at its `rate(...)`, never two runs of one function at a time. The first run comes
 * one minute after start, so start-up stays quick.
 */

export interface ScheduledFunctions {
  readonly functions: { name: string; everyMs: number }[];
  stop(): Promise<void>;
}

export async function startSchedules(options: {
  root?: string;
  /** Functions the caller runs itself (Uranus, on the ClickHouse client this process already holds). */
  except?: readonly string[];
  firstRunDelayMs?: number;
  say?: (line: string) => void;
}): Promise<ScheduledFunctions> {
  const log = loggerOr(options.say, hostLog);
  const service = loadServerlessFile(`${options.root ?? process.cwd()}/serverless.yml`);
  const timers: NodeJS.Timeout[] = [];
  const running = new Set<Promise<unknown>>();
  const functions: { name: string; everyMs: number }[] = [];
  let stopped = false;
  for (const [name, fn] of Object.entries(service.functions ?? {})) {
    if (options.except?.includes(name)) continue;
    const expression = scheduleExpressionOf(service, name);
    if (!expression || !fn.handler) continue;
    let everyMs: number;
    try {
      everyMs = scheduleRateMs(expression);
    } catch (error) {
      log.warn(`${name}: ${(error as Error).message}; not run locally`);
      continue;
    }
    const handler = await loadHandler(fn.handler, { source: "source", root: options.root });
    let busy = false;
    const run = () => {
      if (busy || stopped) return;
      busy = true;
      const started = Date.now();
      const invocation = (handler as unknown as (event: unknown) => Promise<unknown>)({
        source: "aws.events",
        "detail-type": "Scheduled Event",
        time: new Date().toISOString(),
      })
        .then(
          () => log.info(`${name} finished in ${Date.now() - started} ms`),
          (error: unknown) => log.error(`${name} failed: ${(error as Error).message}`),
        )
        .finally(() => {
          busy = false;
          running.delete(invocation);
        });
      running.add(invocation);
    };
    const first = setTimeout(run, options.firstRunDelayMs ?? 60_000);
    const every = setInterval(run, everyMs);
    first.unref();
    every.unref();
    timers.push(first, every);
    functions.push({ name, everyMs });
  }
  return {
    functions,
    async stop() {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      await Promise.all(running);
    },
  };
}
