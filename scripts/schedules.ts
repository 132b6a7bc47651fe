import { loadHandler, loadServerlessFile } from "#shared/runtime/index.ts";

/**
 * Runs the `schedule` events of serverless.yml in this process (`npm start`), as EventBridge rules do on
 * AWS: each function at its `rate(...)`, never two runs of one function at a time. The first run comes
 * one minute after start, so start-up stays quick.
 */

const UNIT_MS: Record<string, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };

/** Milliseconds of a `rate(N unit)` expression; undefined for cron expressions (not run locally). */
export function rateMs(expression: string): number | undefined {
  const match = /^rate\((\d+)\s+(minute|hour|day)s?\)$/.exec(expression.trim());
  return match ? Number(match[1]) * UNIT_MS[match[2]!]! : undefined;
}

export interface ScheduledFunctions {
  readonly functions: { name: string; everyMs: number }[];
  stop(): Promise<void>;
}

export async function startSchedules(options: {
  root?: string;
  firstRunDelayMs?: number;
  say?: (line: string) => void;
}): Promise<ScheduledFunctions> {
  const say = options.say ?? ((line: string) => console.log(`[schedules] ${line}`));
  const service = loadServerlessFile(`${options.root ?? process.cwd()}/serverless.yml`);
  const timers: NodeJS.Timeout[] = [];
  const running = new Set<Promise<unknown>>();
  const functions: { name: string; everyMs: number }[] = [];
  let stopped = false;
  for (const [name, fn] of Object.entries(service.functions ?? {})) {
    for (const event of (fn.events ?? []) as { schedule?: { rate?: string } | string }[]) {
      const rate = typeof event.schedule === "string" ? event.schedule : event.schedule?.rate;
      const everyMs = rate ? rateMs(rate) : undefined;
      if (!everyMs || !fn.handler) continue;
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
            () => say(`${name} finished in ${Date.now() - started} ms`),
            (error: unknown) => say(`${name} failed: ${(error as Error).message}`),
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
