import { randomUUID } from "node:crypto";
import type { ClickHouseClient } from "@clickhouse/client";
import { withLease } from "#shared/clickhouse/index.ts";
import type { UranusConfig } from "#shared/config/index.ts";
import { GoldRunError } from "./errors.ts";
import { type BronzeFreshness, type BronzeFreshnessSource, readBronzeFreshness } from "./freshness.ts";
import type { GoldModel, ModelStrategy } from "./models.ts";

/**
 * Runs gold models in dependency order (docs/gold.md). Every model ends in one atomic swap: it is built into
 * `<name>__next` and swapped in with EXCHANGE TABLES, so readers never see a half-built table.
 *
 * - rebuild: the SELECT over everything, every run.
 * - incremental: the SELECT over a scope (sessions silver received something for since the previous
 *   successful run minus the look-back, sessions that reached silver after that run's ingestion watermark,
 *   or that started in a backfill day), plus every other row of the current table carried over unchanged.
 *   With no previous run (or none with a watermark), or a changed schema, it runs in full.
 *
 * A model's output is a function of silver and `asOf` only, so two runs with the same `asOf` give identical
 * tables. Each model's start, duration, rows and outcome go to `uranus_runs`.
 */

export type RunMode = "scheduled" | "full" | "backfill";
export type ModelRunMode = "rebuild" | "full" | "incremental" | "backfill";
export type ModelOutcome = "success" | "failed" | "skipped";

export interface GoldRunOptions {
  clickhouse: ClickHouseClient;
  /** Models in dependency order (loadModels). */
  models: GoldModel[];
  settings: UranusConfig;
  /** The time the run describes ("now" of active sessions, fleet status, freshness). Default: now. */
  asOf?: Date;
  /** scheduled: incremental models incrementally (default); full: everything from scratch; backfill: `range`. */
  mode?: RunMode;
  /** Backfill: incremental models recompute the sessions that started in [from, to), day by day. */
  range?: { from: Date; to: Date };
  /** Run only these models (default: all). */
  only?: string[];
  bronze?: BronzeFreshnessSource;
  onProgress?: (progress: GoldProgress) => void;
  /**
   * A schedule tick: the run is skipped when another run (of a second replica's schedule event) already
   * succeeded with an as-of time in [from, to); its tables are as fresh. A failed run does not count. A run with the same `runId` (the same
   * event, retried) is not another run: it runs again.
   */
  tick?: { from: Date; to: Date };
  /** The run's id (default: a random UUID). A schedule event's id, so a redelivered event is the same run. */
  runId?: string;
}

export type GoldProgress =
  | { kind: "model-start"; model: string; index: number; total: number; mode: ModelRunMode }
  | { kind: "chunk"; model: string; chunk: number; chunks: number; from: Date; to: Date; rowsWritten: number }
  | { kind: "model-end"; index: number; total: number; result: ModelRunResult };

export interface ModelRunResult {
  model: string;
  strategy: ModelStrategy;
  mode: ModelRunMode;
  outcome: ModelOutcome;
  startedAt: Date;
  durationMs: number;
  /** Rows computed by this run (an incremental run's recomputed rows; a rebuild's whole table). */
  rowsWritten: number;
  /** Rows in the table after the run. */
  rows: number;
  windowStart: Date | null;
  /** Silver's ingestion watermark this run saw everything up to (full and incremental runs; else null). */
  ingestedUntil: string | null;
  error: string;
}

export interface GoldRunResult {
  runId: string;
  asOf: Date;
  mode: RunMode;
  models: ModelRunResult[];
  ok: boolean;
  /** Why nothing ran: the tick was already run by another process. */
  skipped?: string;
}

const DAY_MS = 86_400_000;
const TERMINAL: ModelOutcome[] = ["failed", "skipped"];

/** ClickHouse's DateTime64 text form, in UTC. */
export const chTime = (date: Date) => date.toISOString().replace("T", " ").replace("Z", "");

// One run at a time per process: the scheduler and a manual run share the same `__next` tables. Across
// processes sharing a ClickHouse server, the `uranus` lease does the same (shared/clickhouse/lease.ts).
let queue: Promise<unknown> = Promise.resolve();

export function runGold(options: GoldRunOptions): Promise<GoldRunResult> {
  const run = queue.then(() => withLease(options.clickhouse, "uranus", () => runTick(options)));
  queue = run.catch(() => undefined);
  return run;
}

async function runTick(options: GoldRunOptions): Promise<GoldRunResult> {
  if (options.tick) {
    const previous = await rows<{ run_id: string; run_as_of: string }>(
      options.clickhouse,
      `SELECT run_id, toString(any(as_of)) AS run_as_of FROM uranus_runs
       WHERE as_of >= {from:DateTime64(3, 'UTC')} AND as_of < {to:DateTime64(3, 'UTC')}
         AND run_id != {runId:String}
       GROUP BY run_id HAVING countIf(outcome != 'success') = 0
       ORDER BY min(started_at) LIMIT 1`,
      { from: chTime(options.tick.from), to: chTime(options.tick.to), runId: options.runId ?? "" },
    );
    if (previous[0]) {
      return {
        runId: previous[0].run_id,
        asOf: options.asOf ?? new Date(),
        mode: options.mode ?? "scheduled",
        models: [],
        ok: true,
        skipped: `tick ${options.tick.from.toISOString()} already run (run ${previous[0].run_id}, as of ${previous[0].run_as_of})`,
      };
    }
  }
  return runGoldNow(options);
}

/** What every model of one run shares: its identity, its time, and what was read before the first model. */
interface GoldRunContext {
  options: GoldRunOptions;
  clickhouse: ClickHouseClient;
  settings: UranusConfig;
  mode: RunMode;
  asOf: Date;
  runId: string;
  selected: GoldModel[];
  /** Silver's ingestion watermark, read before any model. */
  watermark: string | null;
  bronze: BronzeFreshness;
  /** Tables that exist (kept up to date as models create theirs). */
  existing: Set<string>;
}

type QueryParameters = Record<string, string | number | null>;

async function runGoldNow(options: GoldRunOptions): Promise<GoldRunResult> {
  const run = await openRun(options);
  const results: ModelRunResult[] = [];
  try {
    await runModels(run, results);
  } finally {
    // One insert for the whole run: an insert costs a new part, and a run has many small models.
    if (results.length > 0) {
      await recordRuns(run.clickhouse, run.runId, run.asOf, run.mode, options.range, results);
    }
  }
  return {
    runId: run.runId,
    asOf: run.asOf,
    mode: run.mode,
    models: results,
    ok: results.every((r) => r.outcome === "success"),
  };
}

async function openRun(options: GoldRunOptions): Promise<GoldRunContext> {
  const { clickhouse, settings } = options;
  const mode = options.mode ?? "scheduled";
  if (mode === "backfill" && !options.range) throw new GoldRunError("A backfill needs a range (from, to)");
  const asOf = options.asOf ?? new Date();
  const runId = options.runId ?? randomUUID();
  const selected = options.only
    ? options.models.filter((model) => options.only!.includes(model.name))
    : options.models;
  // Read before any model: every row ingested after it reaches the next incremental run.
  const watermark = await readIngestionWatermark(clickhouse);
  const bronze = await readBronzeFreshness(options.bronze);
  const existing = await listTables(clickhouse);
  return { options, clickhouse, settings, mode, asOf, runId, selected, watermark, bronze, existing };
}

/** Runs the selected models in order; a model whose dependency failed or was skipped is skipped. */
async function runModels(run: GoldRunContext, results: ModelRunResult[]): Promise<void> {
  const outcomes = new Map<string, ModelOutcome>();
  for (const [i, model] of run.selected.entries()) {
    const result = await runModel(run, model, i, outcomes);
    outcomes.set(model.name, result.outcome);
    results.push(result);
    run.options.onProgress?.({ kind: "model-end", index: i, total: run.selected.length, result });
  }
}

async function runModel(
  run: GoldRunContext,
  model: GoldModel,
  index: number,
  outcomes: Map<string, ModelOutcome>,
): Promise<ModelRunResult> {
  const { clickhouse } = run;
  const startedAt = new Date();
  const began = performance.now();
  const failedDependency = model.dependsOn.find((d) => TERMINAL.includes(outcomes.get(d) ?? "success"));
  if (failedDependency) {
    return {
      model: model.name,
      strategy: model.strategy,
      mode: model.strategy === "rebuild" ? "rebuild" : "incremental",
      outcome: "skipped",
      startedAt,
      durationMs: 0,
      rowsWritten: 0,
      rows: 0,
      windowStart: null,
      ingestedUntil: null,
      error: `not run: dependency ${failedDependency} ${outcomes.get(failedDependency)}`,
    };
  }
  const plan = await planModel(
    clickhouse,
    model,
    run.mode,
    run.asOf,
    run.settings,
    run.existing.has(model.name),
  );
  run.options.onProgress?.({
    kind: "model-start",
    model: model.name,
    index,
    total: run.selected.length,
    mode: plan.mode,
  });
  try {
    const { rowsWritten, mode } = await buildModel(run, model, plan);
    return {
      model: model.name,
      strategy: model.strategy,
      mode,
      outcome: "success",
      startedAt,
      durationMs: Math.round(performance.now() - began),
      rowsWritten,
      rows: model.strategy === "rebuild" ? rowsWritten : await countRows(clickhouse, model.name),
      windowStart: plan.windowStart,
      ingestedUntil: mode === "full" || mode === "incremental" ? run.watermark : null,
      error: "",
    };
  } catch (error) {
    await clickhouse.command({ query: `DROP TABLE IF EXISTS ${model.name}__next` }).catch(() => undefined);
    return {
      model: model.name,
      strategy: model.strategy,
      mode: plan.mode,
      outcome: "failed",
      startedAt,
      durationMs: Math.round(performance.now() - began),
      rowsWritten: 0,
      rows: 0,
      windowStart: plan.windowStart,
      ingestedUntil: null,
      error: error instanceof Error ? error.message : String(error),
    };
  }
}

/** The parameters every model SQL may use; the scope ones are overridden per plan. */
function baseParameters(run: GoldRunContext): QueryParameters {
  return {
    as_of: chTime(run.asOf),
    active_minutes: run.settings.activeAfterMinutes,
    offline_minutes: run.settings.offlineAfterMinutes,
    bronze_available: run.bronze.available ? 1 : 0,
    bronze_newest_at: run.bronze.newestEventAt ? chTime(run.bronze.newestEventAt) : null,
    scope: "all",
    since: chTime(new Date(0)),
    from: chTime(new Date(0)),
    to: chTime(new Date(0)),
    ingested_after: EPOCH_MICROS,
  };
}

/**
 * Builds and swaps one model as its plan says. Returns the rows written and the mode it ran in: an
 * incremental or backfill run that had to widen its scope (a changed model) ran in full.
 */
async function buildModel(
  run: GoldRunContext,
  model: GoldModel,
  plan: ModelPlan,
): Promise<{ rowsWritten: number; mode: ModelRunMode }> {
  const { clickhouse, existing } = run;
  const base = baseParameters(run);
  if (plan.mode === "backfill") return backfillModel(run, model, base);
  if (plan.mode === "incremental") {
    const { written, widened } = await buildAndSwap(clickhouse, model, true, existing, {
      ...base,
      scope: "received_since",
      since: chTime(plan.windowStart!),
      ingested_after: plan.ingestedAfter ?? EPOCH_MICROS,
    });
    return { rowsWritten: written, mode: widened ? "full" : plan.mode };
  }
  return {
    rowsWritten: (await buildAndSwap(clickhouse, model, false, existing, base)).written,
    mode: plan.mode,
  };
}

/** A backfill: the sessions that started in the run's range, one day at a time, with progress per day. */
async function backfillModel(
  run: GoldRunContext,
  model: GoldModel,
  base: QueryParameters,
): Promise<{ rowsWritten: number; mode: ModelRunMode }> {
  let rowsWritten = 0;
  let mode: ModelRunMode = "backfill";
  const chunks = dayChunks(run.options.range!.from, run.options.range!.to);
  for (const [c, chunk] of chunks.entries()) {
    const { written, widened } = await buildAndSwap(run.clickhouse, model, true, run.existing, {
      ...base,
      scope: "started_between",
      from: chTime(chunk.from),
      to: chTime(chunk.to),
    });
    if (widened) mode = "full";
    rowsWritten += written;
    run.options.onProgress?.({
      kind: "chunk",
      model: model.name,
      chunk: c + 1,
      chunks: chunks.length,
      from: chunk.from,
      to: chunk.to,
      rowsWritten: written,
    });
  }
  return { rowsWritten, mode };
}

interface ModelPlan {
  mode: ModelRunMode;
  windowStart: Date | null;
  /** Incremental: the previous run's ingestion watermark; sessions ingested after it are in scope. */
  ingestedAfter?: string;
}

async function planModel(
  clickhouse: ClickHouseClient,
  model: GoldModel,
  mode: RunMode,
  asOf: Date,
  settings: UranusConfig,
  exists: boolean,
): Promise<ModelPlan> {
  if (model.strategy === "rebuild") return { mode: "rebuild", windowStart: null };
  if (mode === "full" || !exists) return { mode: "full", windowStart: null };
  if (mode === "backfill") return { mode: "backfill", windowStart: null };
  const previous = await rows<{ previous_as_of: string | null }>(
    clickhouse,
    `SELECT maxOrNull(as_of) AS previous_as_of FROM uranus_runs
     WHERE model = {model:String} AND outcome = 'success' AND mode IN ('full', 'incremental')
       AND as_of <= {as_of:DateTime64(3, 'UTC')}`,
    { model: model.name, as_of: chTime(asOf) },
  );
  const lastAsOf = previous[0]?.previous_as_of;
  if (!lastAsOf) return { mode: "full", windowStart: null };
  // The watermark of the latest such run by wall clock, whatever its as-of: ingestion is about what silver
  // held, not about the time the run describes.
  const [latest] = await rows<{ watermark: string | null }>(
    clickhouse,
    `SELECT toString(argMax(ingested_until, (started_at, run_id))) AS watermark FROM uranus_runs
     WHERE model = {model:String} AND outcome = 'success' AND mode IN ('full', 'incremental')
       AND ingested_until IS NOT NULL`,
    { model: model.name },
  );
  // Runs before the watermark existed: one full run, so nothing silver got meanwhile is missed.
  if (!latest?.watermark || latest.watermark === "\\N") return { mode: "full", windowStart: null };
  return {
    mode: "incremental",
    windowStart: new Date(Date.parse(lastAsOf) - settings.lookbackMinutes * 60_000),
    ingestedAfter: latest.watermark,
  };
}

/**
 * Builds `<name>__next` from the model's SELECT, carries over the current table's other rows when
 * `carryOver` (incremental), swaps it in and drops the old table. Returns the rows the SELECT produced.
 * When the model's columns no longer match the table's (a changed model), the scope is widened to every
 * row instead: carrying old rows over would mix two schemas.
 */
async function buildAndSwap(
  clickhouse: ClickHouseClient,
  model: GoldModel,
  carryOver: boolean,
  existing: Set<string>,
  parameters: QueryParameters,
): Promise<{ written: number; widened: boolean }> {
  const next = `${model.name}__next`;
  const queryParams = Object.fromEntries(model.parameters.map((name) => [name, parameters[name]]));
  // OR REPLACE also clears a `__next` left behind by a run that was killed half-way.
  await clickhouse.command({
    query: `CREATE OR REPLACE TABLE ${next} ENGINE = MergeTree ORDER BY (${model.orderBy.join(", ")}) AS ${model.sql}`,
    query_params: queryParams,
  });
  const written = await countRows(clickhouse, next);
  const exists = existing.has(model.name);
  if (carryOver && exists) {
    if ((await columnsOf(clickhouse, model.name)) !== (await columnsOf(clickhouse, next))) {
      const all = await buildAndSwap(clickhouse, model, false, existing, { ...parameters, scope: "all" });
      return { ...all, widened: true };
    }
    const key = `(${model.uniqueKey.join(", ")})`;
    await clickhouse.command({
      query: `INSERT INTO ${next} SELECT * FROM ${model.name} WHERE ${key} NOT IN (SELECT ${model.uniqueKey.join(", ")} FROM ${next})`,
    });
  }
  if (!exists) {
    await clickhouse.command({ query: `CREATE TABLE IF NOT EXISTS ${model.name} AS ${next}` });
    existing.add(model.name);
  }
  await clickhouse.command({ query: `EXCHANGE TABLES ${next} AND ${model.name}` });
  await clickhouse.command({ query: `DROP TABLE ${next}` });
  return { written, widened: false };
}

const EPOCH_MICROS = "1970-01-01 00:00:00.000000";

/**
 * Silver's ingestion watermark: a time such that every session row ingested (entities.ingested_at) at or
 * before it is visible now, and every row ingested after it is not yet, or was ingested after this read.
 * The newest visible ingestion time, lowered below the start of any insert still running (its rows are
 * stamped when it starts writing and become visible only when it ends) and below this read itself.
 * Null when silver has no entities table.
 */
async function readIngestionWatermark(clickhouse: ClickHouseClient): Promise<string | null> {
  try {
    // Inserts in flight first: one that ends between the two reads is then either seen running or visible.
    const [inFlight] = await rows<{ read_at: string; oldest_insert: string }>(
      clickhouse,
      `SELECT toString(now64(6)) AS read_at,
              toString(ifNull(minOrNull(now64(6) - toIntervalMicrosecond(toInt64(elapsed * 1000000))), now64(6))) AS oldest_insert
       FROM system.processes WHERE query_kind = 'Insert'`,
    );
    const [row] = await rows<{ watermark: string }>(
      clickhouse,
      `SELECT toString(least(
         max(ingested_at),
         toDateTime64({read_at:String}, 6, 'UTC') - toIntervalMillisecond(1),
         toDateTime64({oldest_insert:String}, 6, 'UTC') - toIntervalMillisecond(1))) AS watermark
       FROM entities WHERE entity = 'session'`,
      { read_at: inFlight!.read_at, oldest_insert: inFlight!.oldest_insert },
    );
    return row?.watermark ?? null;
  } catch {
    return null;
  }
}

function dayChunks(from: Date, to: Date): { from: Date; to: Date }[] {
  const chunks: { from: Date; to: Date }[] = [];
  for (let start = Math.floor(from.getTime() / DAY_MS) * DAY_MS; start < to.getTime(); start += DAY_MS) {
    chunks.push({
      from: new Date(Math.max(start, from.getTime())),
      to: new Date(Math.min(start + DAY_MS, to.getTime())),
    });
  }
  return chunks;
}

async function recordRuns(
  clickhouse: ClickHouseClient,
  runId: string,
  asOf: Date,
  mode: RunMode,
  range: { from: Date; to: Date } | undefined,
  results: ModelRunResult[],
): Promise<void> {
  await clickhouse.insert({
    table: "uranus_runs",
    format: "JSONEachRow",
    values: results.map((result) => ({
      run_id: runId,
      model: result.model,
      strategy: result.strategy,
      mode: result.mode,
      as_of: asOf.toISOString(),
      window_start: result.windowStart?.toISOString() ?? null,
      ingested_until: result.ingestedUntil,
      range_from: mode === "backfill" ? (range?.from.toISOString() ?? null) : null,
      range_to: mode === "backfill" ? (range?.to.toISOString() ?? null) : null,
      started_at: result.startedAt.toISOString(),
      duration_ms: result.durationMs,
      rows_written: result.rowsWritten,
      rows: result.rows,
      outcome: result.outcome,
      error: result.error,
    })),
  });
}

async function rows<T>(
  clickhouse: ClickHouseClient,
  query: string,
  query_params: Record<string, unknown> = {},
): Promise<T[]> {
  return (await clickhouse.query({ query, query_params, format: "JSONEachRow" })).json<T>();
}

async function countRows(clickhouse: ClickHouseClient, table: string): Promise<number> {
  const [row] = await rows<{ n: string }>(clickhouse, `SELECT count() AS n FROM ${table}`);
  return Number(row?.n ?? 0);
}

async function listTables(clickhouse: ClickHouseClient): Promise<Set<string>> {
  const tables = await rows<{ name: string }>(
    clickhouse,
    "SELECT name FROM system.tables WHERE database = currentDatabase()",
  );
  return new Set(tables.map((t) => t.name));
}

async function columnsOf(clickhouse: ClickHouseClient, table: string): Promise<string> {
  const columns = await rows<{ name: string; type: string }>(
    clickhouse,
    "SELECT name, type FROM system.columns WHERE database = currentDatabase() AND table = {table:String} ORDER BY position",
    { table },
  );
  return columns.map((c) => `${c.name} ${c.type}`).join(", ");
}
