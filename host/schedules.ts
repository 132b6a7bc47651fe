import { randomUUID } from "node:crypto";
import path from "node:path";
import type { HealthCheck, HealthCheckResult } from "#shared/health/types.ts";
import { logger } from "#shared/logging/index.ts";
import { type HandlerSource, loadHandler, loadServerlessFile } from "#shared/runtime/index.ts";
import {
  MINUTE_MS,
  type ScheduleEventError,
  scaledPeriodMs,
  scheduledEvent,
  scheduleExpressionOf,
  scheduleRateMs,
  scheduleScale,
} from "#shared/runtime/schedule.ts";
import type { ServerlessService } from "#shared/runtime/serverless.ts";

/**
 * The one local scheduler: runs the `schedule` events of serverless.yml as EventBridge rules do on AWS,
 * for `npm start` and for `serverless offline` (plugins/kafka-event-source.mjs). Every function is started
 * the same way: its handler is called with a schedule event at its `rate(...)`, never two runs of one
 * function at a time (a tick that comes while a run is going is skipped, not queued). Functions named in
 * `runAtStart` also run once at start; the others first run a minute after start, so start-up stays quick.
 * PACKETPULSE_SCHEDULE_SCALE shortens every period for tests (docs/decisions/030-one-local-scheduler.md).
 */

/** A scheduled function's handler: a schedule event in, whatever the function answers out. */
export type ScheduledHandler = (event: Record<string, unknown>, context: never) => Promise<unknown>;

export interface ScheduledFunction {
  readonly name: string;
  /** The `rate(...)` of serverless.yml. */
  readonly expression: string;
  /** Time between runs here: the rate's period times the schedule scale. */
  readonly everyMs: number;
}

export interface StartSchedulesOptions {
  /** The resolved service (the plugin passes the framework's); default: serverless.yml read from `root`. */
  serverlessConfig?: ServerlessService;
  /** Handlers by function name; functions not named here are loaded from their `handler` path. */
  handlers?: Record<string, ScheduledHandler>;
  /** Where handler code comes from when it is not in `handlers` (default `source`). */
  handlerSource?: HandlerSource;
  /** Repository root: serverless.yml and handler paths are relative to it (default: the working directory). */
  root?: string;
  /** Functions that also run once at start (Uranus: the gold tables are fresh as soon as the platform is up). */
  runAtStart?: readonly string[];
  /** Functions whose runs count for the platform's health (Uranus: the gold tables Mercury shows). */
  healthChecked?: readonly string[];
  /** One line about a finished run, by function name (default: `finished in N ms`). */
  describe?: Record<string, (result: unknown, elapsedMs: number) => string>;
  /** Where PACKETPULSE_SCHEDULE_SCALE is read (default: process.env). */
  env?: Record<string, string | undefined>;
  say?: (line: string) => void;
}

export interface ScheduledFunctions {
  readonly functions: readonly ScheduledFunction[];
  /** The schedule scale in force (1 unless PACKETPULSE_SCHEDULE_SCALE is set). */
  readonly scale: number;
  /** Resolves when every run started at start has finished (successfully or not). */
  readonly startRuns: Promise<void>;
  /** Ticks each function has had so far (run or skipped), by name: a marker that time passed. */
  ticks(name: string): number;
  /**
   * One check per function named in `healthChecked` (`<name>`): degraded after a failed run, failing
   * after FAILING_AFTER in a row.
   */
  healthChecks(): HealthCheck[];
  stop(): Promise<void>;
}

/** Failed runs in a row after which a scheduled function counts as failing rather than degraded. */
export const FAILING_AFTER = 3;

/** `rate(1 minute)` → `1 minute`, with the scaled period when a scale is in force. */
export function describePeriod(scheduled: ScheduledFunction, scale: number): string {
  const rate = scheduled.expression.replace(/^rate\((.*)\)$/, "$1");
  return scale === 1 ? rate : `${rate} (scaled: every ${formatMs(scheduled.everyMs)})`;
}

const formatMs = (ms: number) => (ms < 60_000 ? `${ms / 1000} s` : `${Math.round(ms / 60_000)} min`);

export async function startSchedules(options: StartSchedulesOptions = {}): Promise<ScheduledFunctions> {
  const say = options.say;
  const root = options.root ?? process.cwd();
  const scale = scheduleScale(options.env);
  const service = options.serverlessConfig ?? loadServerlessFile(path.join(root, "serverless.yml"));
  const schedules: Schedule[] = [];
  for (const [name, fn] of Object.entries(service.functions ?? {})) {
    const expression = scheduleExpressionOf(service, name);
    if (!expression || !fn.handler) continue;
    let everyMs: number;
    try {
      everyMs = scaledPeriodMs(scheduleRateMs(expression), scale);
    } catch (error) {
      const line = `${name}: ${(error as ScheduleEventError).message}; not run locally`;
      if (say) say(line);
      else hostLog.warn(line);
      continue;
    }
    const handler =
      options.handlers?.[name] ??
      ((await loadHandler(fn.handler, {
        source: options.handlerSource ?? "source",
        root,
      })) as unknown as ScheduledHandler);
    const describe =
      options.describe?.[name] ?? ((_: unknown, ms: number) => `finished in ${Math.round(ms)} ms`);
    schedules.push(new Schedule({ name, expression, everyMs }, handler, describe, runReporter(name, say)));
  }
  const startedAt = Date.now();
  const startRuns = Promise.all(
    schedules.map((schedule) =>
      options.runAtStart?.includes(schedule.fn.name) ? schedule.run(new Date(startedAt)) : undefined,
    ),
  ).then(() => undefined);
  for (const schedule of schedules) {
    schedule.start(startedAt, Math.min(schedule.fn.everyMs, scaledPeriodMs(MINUTE_MS, scale)));
  }
  return {
    functions: schedules.map((schedule) => schedule.fn),
    scale,
    startRuns,
    ticks: (name) => schedules.find((schedule) => schedule.fn.name === name)?.tickCount ?? 0,
    healthChecks: () =>
      schedules
        .filter((schedule) => options.healthChecked?.includes(schedule.fn.name))
        .map((schedule) => schedule.healthCheck()),
    async stop() {
      await Promise.all(schedules.map((schedule) => schedule.stop()));
    },
  };
}

const hostLog = logger("host");

/** Where a scheduled function's run lines go, at their level. */
type RunReporter = (level: "info" | "error", text: string) => void;

/**
 * `say` gets `<function> <text>` (tests read these lines); otherwise the function's logger writes them:
 * a text that starts with a scope (`gold: 10/10 models, …`) under that scope (`uranus gold: …`).
 */
function runReporter(name: string, say: ((line: string) => void) | undefined): RunReporter {
  if (say) return (_level, text) => say(`${name} ${text}`);
  const log = logger(name);
  return (level, text) => {
    const scoped = /^(\w+): (.*)$/s.exec(text);
    if (scoped && level === "info") log.child(scoped[1]!).info(scoped[2]!);
    else log[level](text);
  };
}

/** One function's schedule: its timers, the run in progress and the outcome of the last runs. */
class Schedule {
  tickCount = 0;
  #timers: NodeJS.Timeout[] = [];
  #running: Promise<void> | undefined;
  #stopped = false;
  #last: { at: string; error?: string } | undefined;
  #failuresInARow = 0;

  constructor(
    readonly fn: ScheduledFunction,
    private readonly handler: ScheduledHandler,
    private readonly describe: (result: unknown, elapsedMs: number) => string,
    private readonly report: RunReporter,
  ) {}

  /**
   * Ticks at `startedAt + firstAfterMs`, then every period after it. Each event's `time` is the time the
   * tick was due, as EventBridge's is: consecutive ticks are exactly one period apart.
   */
  start(startedAt: number, firstAfterMs: number): void {
    let due = startedAt + firstAfterMs;
    const tick = () => {
      this.tickCount++;
      void this.run(new Date(due));
      due += this.fn.everyMs;
    };
    const first = setTimeout(() => {
      tick();
      const every = setInterval(tick, this.fn.everyMs);
      every.unref();
      this.#timers.push(every);
    }, firstAfterMs);
    first.unref();
    this.#timers.push(first);
  }

  run(time: Date): Promise<void> {
    if (this.#running || this.#stopped) return this.#running ?? Promise.resolve();
    const began = performance.now();
    const event = scheduledEvent({ id: randomUUID(), time });
    this.#running = this.handler(event, {} as never)
      .then(
        (result) => {
          this.#record();
          this.report("info", this.describe(result, performance.now() - began));
        },
        (error: unknown) => {
          const message = error instanceof Error ? error.message : String(error);
          this.#record(message);
          this.report("error", `failed: ${message}`);
        },
      )
      .finally(() => {
        this.#running = undefined;
      });
    return this.#running;
  }

  #record(error?: string): void {
    this.#last = { at: new Date().toISOString(), error };
    this.#failuresInARow = error === undefined ? 0 : this.#failuresInARow + 1;
  }

  healthCheck(): HealthCheck {
    return {
      component: this.fn.name,
      check: async (): Promise<HealthCheckResult> => {
        if (!this.#last) return { status: "ok", reason: "first run not finished yet" };
        const facts = { lastRunAt: this.#last.at, failedRunsInARow: this.#failuresInARow };
        if (this.#failuresInARow === 0) return { status: "ok", reason: "last run succeeded", facts };
        return {
          status: this.#failuresInARow >= FAILING_AFTER ? "failing" : "degraded",
          reason: `the last run failed (${this.#failuresInARow} failed run(s) in a row)`,
          detail: this.#last.error,
          facts,
        };
      },
    };
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const timer of this.#timers) clearTimeout(timer);
    await this.#running;
  }
}
