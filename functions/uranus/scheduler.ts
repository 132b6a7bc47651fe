import type { ClickHouseClient } from "@clickhouse/client";
import type { UranusConfig } from "#shared/config/index.ts";
import type { HealthCheck, HealthCheckResult } from "#shared/health/types.ts";
import { logger, loggerOr } from "#shared/logging/index.ts";
import type { BronzeFreshnessSource } from "./freshness.ts";
import type { GoldModel } from "./models.ts";
import { type GoldRunResult, runGold } from "./runner.ts";

export interface GoldScheduleOptions {
  /** The client the rest of the process uses: embedded chDB binds one data folder per process. */
  clickhouse: ClickHouseClient;
  models: GoldModel[];
  settings: UranusConfig;
  /** Time between runs (from the function's schedule in serverless.yml). */
  everyMs: number;
  bronze?: BronzeFreshnessSource;
  /** Instead of the `uranus gold` logger, each run's line to one function (tests). */
  say?: (line: string) => void;
}

export interface GoldScheduleHandle {
  /** Resolves after the first run (successful or not). */
  readonly firstRun: Promise<void>;
  /** `uranus`: its last run; degraded after a failed run, failing after FAILING_AFTER failed runs in a row. */
  healthCheck(): HealthCheck;
  stop(): Promise<void>;
}

/** `uranus gold: 10/10 models, ...` in a terminal: the line `npm start` has always printed for a run. */
const goldLog = logger("uranus").child("gold");

/** Failed runs in a row after which gold counts as failing rather than degraded. */
export const FAILING_AFTER = 3;

/** One line about a run, for `npm start`'s output. */
export function describeRun(result: GoldRunResult, elapsedMs: number): string {
  const failed = result.models.filter((m) => m.outcome !== "success");
  const rows = result.models.reduce((sum, m) => sum + m.rows, 0);
  const head = `gold: ${result.models.length - failed.length}/${result.models.length} models, ${rows.toLocaleString("en-US")} rows in ${(elapsedMs / 1000).toFixed(2)} s`;
  return failed.length === 0
    ? head
    : `${head}; ${failed.map((m) => `${m.model} ${m.outcome}: ${m.error}`).join("; ")}`;
}

/**
 * Runs the gold models now and then every `everyMs` inside a long-running process (`npm start`), as the
 * schedule rule does on AWS. A tick that comes while a run is still going is skipped, not queued.
 */
export function startGoldSchedule(options: GoldScheduleOptions): GoldScheduleHandle {
  const log = loggerOr(options.say, goldLog);
  let last: { at: string; failed: string[]; error?: string } | undefined;
  let failuresInARow = 0;
  const record = (failed: string[], error?: string) => {
    last = { at: new Date().toISOString(), failed, error };
    failuresInARow = failed.length > 0 || error ? failuresInARow + 1 : 0;
  };
  let running: Promise<void> | undefined;
  let stopped = false;
  const tick = () => {
    if (running || stopped) return running ?? Promise.resolve();
    const began = performance.now();
    running = runGold({
      clickhouse: options.clickhouse,
      models: options.models,
      settings: options.settings,
      bronze: options.bronze,
    })
      .then(
        (result) => {
          const failed = result.models.filter((m) => m.outcome !== "success").map((m) => m.model);
          record(failed);
          log[failed.length > 0 ? "warn" : "info"](describeRun(result, performance.now() - began));
        },
        (error: unknown) => {
          const message = error instanceof Error ? error.message : String(error);
          record([], message);
          log.error(`gold run failed: ${message}`);
        },
      )
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  const firstRun = tick();
  const timer = setInterval(tick, options.everyMs);
  return {
    firstRun,
    healthCheck: () => ({
      component: "uranus",
      async check(): Promise<HealthCheckResult> {
        if (!last) return { status: "ok", reason: "first run under way" };
        const facts = { lastRunAt: last.at, failedRunsInARow: failuresInARow };
        if (failuresInARow === 0) return { status: "ok", reason: "last run succeeded", facts };
        const what = last.error ? "the last run failed" : `the last run failed for ${last.failed.join(", ")}`;
        return {
          status: failuresInARow >= FAILING_AFTER ? "failing" : "degraded",
          reason: `${what} (${failuresInARow} failed run(s) in a row)`,
          detail: last.error,
          facts,
        };
      },
    }),
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
