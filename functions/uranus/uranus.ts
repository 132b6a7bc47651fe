import type { ClickHouseClient } from "@clickhouse/client";
import middy, { type MiddlewareObj } from "@middy/core";
import type { Context } from "aws-lambda";
import type { UranusConfig } from "#shared/config/index.ts";
import { MINUTE_MS } from "#shared/runtime/schedule.ts";
import { GoldRunError } from "./errors.ts";
import type { BronzeFreshnessSource } from "./freshness.ts";
import type { GoldModel } from "./models.ts";
import { type GoldRunResult, runGold } from "./runner.ts";
import { type GoldSchedule, parseScheduleEvent } from "./schedule-event.ts";

export interface UranusDeps {
  clickhouse: ClickHouseClient;
  models: GoldModel[];
  settings: UranusConfig;
  bronze?: BronzeFreshnessSource;
  /**
   * The width of a schedule tick (default one minute). The local host passes one minute times
   * PACKETPULSE_SCHEDULE_SCALE, so its shortened ticks are not taken for one (docs/decisions/030).
   */
  tickMs?: number;
}

/** What the scheduled handler returns: one line per model. */
export interface GoldRunSummary {
  runId: string;
  asOf: string;
  models: { model: string; mode: string; outcome: string; rows: number; durationMs: number }[];
  /** Set when the tick was already run by another process (nothing ran). */
  skipped?: string;
}

export type UranusHandler = (event: unknown, context: Context) => Promise<GoldRunSummary>;

/** Replaces the Lambda event by the schedule it describes; a malformed event throws a ScheduleEventError. */
export const scheduleParser = (): MiddlewareObj<unknown, GoldRunSummary> => ({
  before: (request) => {
    request.event = parseScheduleEvent(request.event);
  },
});

export function summarise(result: GoldRunResult): GoldRunSummary {
  return {
    runId: result.runId,
    asOf: result.asOf.toISOString(),
    models: result.models.map((m) => ({
      model: m.model,
      mode: m.mode,
      outcome: m.outcome,
      rows: m.rows,
      durationMs: m.durationMs,
    })),
    ...(result.skipped ? { skipped: result.skipped } : {}),
  };
}

/**
 * The schedule tick of an as-of time: its minute. Schedules fire on minute boundaries (EventBridge rates
 * and crons), so replicas firing for one tick share that minute. `tickMs` narrows it for shortened
 * local schedules.
 */
export function scheduleTick(asOf: Date, tickMs: number = MINUTE_MS): { from: Date; to: Date } {
  const from = new Date(Math.floor(asOf.getTime() / tickMs) * tickMs);
  return { from, to: new Date(from.getTime() + tickMs) };
}

/**
 * Uranus's scheduled handler: runs every model at the schedule's time. A failed model is recorded in
 * uranus_runs and the invocation fails, so the failure shows in the function's error metrics. A scheduled
 * tick runs once however many processes receive it (replicas, a redelivered event); `mode: "full"` always runs.
 */
export function createUranus({ tickMs, ...deps }: UranusDeps): UranusHandler {
  return middy<unknown, GoldRunSummary>()
    .use(scheduleParser())
    .handler(async (event) => {
      const schedule = event as GoldSchedule;
      const result = await runGold({
        ...deps,
        asOf: schedule.asOf,
        mode: schedule.mode,
        tick: schedule.mode === "scheduled" ? scheduleTick(schedule.asOf, tickMs) : undefined,
        runId: schedule.eventId,
      });
      if (!result.ok) {
        const failed = result.models.filter((m) => m.outcome !== "success");
        throw new GoldRunError(
          `Gold run ${result.runId} did not complete: ${failed.map((m) => `${m.model} ${m.outcome} (${m.error})`).join("; ")}`,
        );
      }
      return summarise(result);
    });
}
