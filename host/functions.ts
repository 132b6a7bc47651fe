import path from "node:path";
import type { GoldRunSummary } from "#functions/uranus/index.ts";
import type { PacketPulseConfig } from "#shared/config/index.ts";
import type { EventLog } from "#shared/event-log/index.ts";
import type { HealthCheck } from "#shared/health/types.ts";
import {
  type EventSourceRuntime,
  type KafkaHandler,
  loadServerlessFile,
  startEventSources,
} from "#shared/runtime/index.ts";
import {
  describePeriod,
  type ScheduledFunctions,
  type ScheduledHandler,
  startSchedules,
} from "./schedules.ts";

/**
 * The one path by which `npm start` starts the functions of serverless.yml that have triggers to emulate:
 * serverless.yml is read once, and each `msk`/`kafka` event goes to the event-source runtime, each
 * `schedule` event to the local scheduler. A function the caller built in this process (Jupiter and Uranus
 * on the ClickHouse client the process holds) is called as given; any other is loaded from its handler
 * path. Venus's `websocket` and `httpApi` events are served by host/venus-server.ts, which has to listen
 * before anything else starts.
 */

export interface StartFunctionsOptions {
  config: PacketPulseConfig;
  log: EventLog;
  /** Handlers built in this process, by function name. */
  handlers: { kafka?: Record<string, KafkaHandler>; scheduled?: Record<string, ScheduledHandler> };
  /** Scheduled functions that also run once at start. */
  runAtStart?: readonly string[];
  /** Scheduled functions whose runs count for the platform's health. */
  healthChecked?: readonly string[];
  /** Repository root (default: the working directory). */
  root?: string;
  say?: (line: string) => void;
}

export interface RunningFunctions {
  readonly eventSources: EventSourceRuntime;
  readonly schedules: ScheduledFunctions;
  healthChecks(): HealthCheck[];
  stop(): Promise<void>;
}

export async function startFunctions(options: StartFunctionsOptions): Promise<RunningFunctions> {
  const say = options.say ?? ((line: string) => console.log(`  ${line}`));
  const root = options.root ?? process.cwd();
  const service = loadServerlessFile(path.join(root, "serverless.yml"));
  const eventSources = await startEventSources({
    config: options.config,
    log: options.log,
    serverlessConfig: service,
    handlerSource: "source",
    handlers: options.handlers.kafka,
    root,
  });
  for (const source of eventSources.eventSources) {
    say(`${source.functionName.padEnd(6)} consuming ${source.topic} as ${source.consumerGroupId}`);
  }
  const schedules = await startSchedules({
    serverlessConfig: service,
    handlerSource: "source",
    handlers: options.handlers.scheduled,
    runAtStart: options.runAtStart,
    healthChecked: options.healthChecked,
    describe: { uranus: (summary, elapsedMs) => describeGoldRun(summary as GoldRunSummary, elapsedMs) },
    root,
    // Run lines go to each function's logger unless the caller reads them.
    say: options.say,
  }).catch(async (error: unknown) => {
    await eventSources.stop();
    throw error;
  });
  for (const scheduled of schedules.functions) {
    const what = scheduled.name === "uranus" ? "uranus refreshing the gold tables" : scheduled.name;
    say(`${what} every ${describePeriod(scheduled, schedules.scale)}`);
  }
  return {
    eventSources,
    schedules,
    healthChecks: () => [...eventSources.healthChecks(), ...schedules.healthChecks()],
    async stop() {
      await schedules.stop();
      await eventSources.stop();
    },
  };
}

/** One line about a gold run for the console: `gold: 10/10 models, 1,234 rows in 0.52 s`. */
export function describeGoldRun(summary: GoldRunSummary, elapsedMs: number): string {
  if (summary.skipped) return `gold: ${summary.skipped}`;
  const ok = summary.models.filter((m) => m.outcome === "success").length;
  const rows = summary.models.reduce((sum, m) => sum + m.rows, 0);
  return `gold: ${ok}/${summary.models.length} models, ${rows.toLocaleString("en-US")} rows in ${(elapsedMs / 1000).toFixed(2)} s`;
}
