import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Context } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createUranus,
  GoldRunError,
  type GoldRunSummary,
  loadModels,
  parseModel,
  ScheduleEventError,
} from "#functions/uranus/index.ts";
import { describeGoldRun } from "#host/functions.ts";
import { startSchedules } from "#host/schedules.ts";
import { AS_OF, goldFixtureBatches, SESSION } from "#test/fixtures/uranus-gold-sessions.ts";
import { GOLD_TABLES, type GoldTestStore, openGoldTestStore } from "#test/helpers/uranus-gold.ts";
import { waitUntil } from "#test/helpers/wait.ts";

/**
 * Uranus's Lambda handler (functions/uranus/handler.ts, configured from the environment like on AWS) with
 * the EventBridge schedule event of events/uranus/schedule.json, and the in-process schedule `npm start`
 * uses. The test's own client shares the handler's data folder (one process).
 */

const scheduleEvent = JSON.parse(
  readFileSync(path.resolve(import.meta.dirname, "../../../../events/uranus/schedule.json"), "utf8"),
) as Record<string, unknown>;
const context = {} as Context;
const dataDir = mkdtempSync(path.join(os.tmpdir(), "packetpulse-uranus-handler-"));
let store: GoldTestStore;
let handler: (event: unknown, context: Context) => Promise<GoldRunSummary>;

beforeAll(async () => {
  store = await openGoldTestStore({ dataDir });
  await store.feed(goldFixtureBatches());
  process.env.PACKETPULSE_DATA_DIR = dataDir;
  ({ handler } = await import("#functions/uranus/handler.ts"));
});

afterAll(async () => {
  await store?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function snapshot() {
  const tables: Record<string, unknown[]> = {};
  for (const table of GOLD_TABLES) tables[table] = await store.table(table);
  return tables;
}

describe("scheduled handler", () => {
  it("runs every model as of the schedule event's time and answers one line per model", async () => {
    // Act
    const summary = await handler(scheduleEvent, context);

    // Assess
    expect(summary.asOf).toBe(AS_OF);
    expect(summary.models.map((m) => [m.model, m.outcome])).toEqual([
      ["session_summary", "success"],
      ["active_sessions", "success"],
      ["courier_scorecards", "success"],
      ["delay_service_time", "success"],
      ["delivery_duration_buckets", "success"],
      ["demand_heatmap", "success"],
      ["fleet_summary", "success"],
      ["hourly_demand", "success"],
      ["kpi_aggregates", "success"],
      ["pipeline_freshness", "success"],
    ]);
    expect(await store.rows("SELECT session_id, as_of FROM active_sessions")).toEqual([
      { session_id: SESSION.F, as_of: AS_OF },
    ]);
    expect(await store.rows("SELECT count() AS n, min(as_of) AS as_of FROM uranus_runs")).toEqual([
      { n: "10", as_of: AS_OF },
    ]);
  });

  it("leaves identical tables when the same invocation is retried", async () => {
    // Prepare
    const before = await snapshot();

    // Act
    const retry = await handler(scheduleEvent, context);

    // Assess
    expect(retry.models.find((m) => m.model === "session_summary")?.mode).toBe("incremental");
    expect(await snapshot()).toEqual(before);
  });

  it("rejects a malformed schedule event with a typed error and runs nothing", async () => {
    // Prepare
    const runsBefore = (await store.rows<{ n: string }>("SELECT count() AS n FROM uranus_runs"))[0]!.n;

    // Act
    const outcome = handler({ ...scheduleEvent, time: "yesterday" }, context);

    // Assess
    await expect(outcome).rejects.toBeInstanceOf(ScheduleEventError);
    await expect(outcome).rejects.toThrow(/time must be an ISO-8601 time/);
    expect(await store.rows("SELECT count() AS n FROM uranus_runs")).toEqual([{ n: runsBefore }]);
  });

  it("fails the invocation when a model fails, after recording it", async () => {
    // Prepare
    const broken = parseModel(
      "/models/broken_model.sql",
      "-- model: broken_model\n-- depends:\n-- strategy: rebuild\n-- order_by: x\nSELECT x FROM no_such_table",
    );
    const uranus = createUranus({
      clickhouse: store.clickhouse,
      models: [broken],
      settings: store.config.uranus,
    });

    // Act
    const outcome = uranus(scheduleEvent, context);

    // Assess
    await expect(outcome).rejects.toBeInstanceOf(GoldRunError);
    await expect(outcome).rejects.toThrow(/broken_model failed/);
    expect(await store.rows("SELECT outcome FROM uranus_runs WHERE model = 'broken_model'")).toEqual([
      { outcome: "failed" },
    ]);
  });
});

describe("in-process schedule (npm start)", () => {
  const kpiRuns = async () =>
    Number(
      (
        await store.rows<{ n: string }>(
          "SELECT uniqExact(run_id) AS n FROM uranus_runs WHERE model = 'kpi_aggregates'",
        )
      )[0]!.n,
    );

  it("runs at once and then on every tick, on the client it is given, until stopped", async () => {
    // Prepare: serverless.yml's rate(1 minute), shortened to 600 ms; a probe function on the same rate
    // marks the ticks the stopped schedule would have had.
    const lines: string[] = [];
    const before = await kpiRuns();
    const env = { PACKETPULSE_SCHEDULE_SCALE: "0.01" };
    const uranus = createUranus({
      clickhouse: store.clickhouse,
      models: await loadModels(),
      settings: store.config.uranus,
      tickMs: 600,
    });
    const everyMinute = (name: string) => ({
      handler: `${name}.handler`,
      events: [{ schedule: "rate(1 minute)" }],
    });

    // Act
    const schedule = await startSchedules({
      serverlessConfig: { functions: { uranus: everyMinute("uranus") } },
      handlers: { uranus },
      runAtStart: ["uranus"],
      describe: { uranus: (summary, elapsedMs) => describeGoldRun(summary as GoldRunSummary, elapsedMs) },
      env,
      say: (line) => lines.push(line),
    });
    const probe = await startSchedules({
      serverlessConfig: { functions: { probe: everyMinute("probe") } },
      handlers: { probe: async () => undefined },
      env,
      say: () => undefined,
    });
    await schedule.startRuns;
    await waitUntil(() => lines.length >= 2, "a second scheduled run", 30_000);
    await schedule.stop();
    const settled = lines.length;
    const ticksAtStop = probe.ticks("probe");
    await waitUntil(() => probe.ticks("probe") >= ticksAtStop + 2, "two more ticks of the probe", 30_000);
    await probe.stop();

    // Assess
    expect((await kpiRuns()) - before).toBe(lines.length);
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines.length).toBe(settled);
    for (const line of lines)
      expect(line).toMatch(/^uranus gold: 10\/10 models, [\d,]+ rows in \d+\.\d\d s$/);
  });
});
