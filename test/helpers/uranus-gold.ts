import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ClickHouseClient } from "@clickhouse/client";
import type { Context } from "aws-lambda";
import { createJupiter, SILVER_TABLES } from "#functions/jupiter/index.ts";
import { loadModels } from "#functions/uranus/models.ts";
import { type GoldRunOptions, type GoldRunResult, runGold } from "#functions/uranus/runner.ts";
import { openGoldStore } from "#functions/uranus/store.ts";
import { loadConfig, type PacketPulseConfig } from "#shared/config/index.ts";
import type { DeadLetter } from "#shared/lambda/index.ts";
import type { FixtureBatch } from "#test/fixtures/uranus-gold-sessions.ts";
import { closeStoresUnderTest, storeUnderTest } from "./clickhouse-store.ts";

/** The gold tables, in the order the tests list them. */
export const GOLD_TABLES = [
  "session_summary",
  "active_sessions",
  "fleet_summary",
  "kpi_aggregates",
  "hourly_demand",
  "delivery_duration_buckets",
  "delay_service_time",
  "courier_scorecards",
  "demand_heatmap",
  "pipeline_freshness",
] as const;

const ORDER: Record<(typeof GOLD_TABLES)[number], string> = {
  session_summary: "session_id",
  active_sessions: "session_id",
  fleet_summary: "vehicle_id",
  kpi_aggregates: "period, period_start",
  hourly_demand: "day, hour",
  delivery_duration_buckets: "day, bucket_order",
  delay_service_time: "day",
  courier_scorecards: "vehicle_id",
  demand_heatmap: "day, h3_cell",
  pipeline_freshness: "layer_order",
};

export interface GoldTestStore {
  config: PacketPulseConfig;
  clickhouse: ClickHouseClient;
  deadLetters: DeadLetter[];
  /** Feeds batches through Jupiter's real handler (Kafka event → validation → silver inserts). */
  feed(batches: FixtureBatch[], firstOffset?: number): Promise<number>;
  run(options?: Partial<GoldRunOptions>): Promise<GoldRunResult>;
  rows<T = Record<string, unknown>>(query: string): Promise<T[]>;
  /** Every row of a gold table, in its key order. */
  table<T = Record<string, unknown>>(name: (typeof GOLD_TABLES)[number]): Promise<T[]>;
  /** Empties silver and drops the gold tables and run log, for the next test. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

/**
 * An embedded chDB with the silver and gold schema in a fresh folder outside the repository (chDB binds one
 * folder per process: one store per test file), or in `dataDir`, which is then kept on close.
 */
export async function openGoldTestStore(options: { dataDir?: string } = {}): Promise<GoldTestStore> {
  const dataDir = options.dataDir ?? mkdtempSync(path.join(os.tmpdir(), "packetpulse-gold-"));
  const config = loadConfig({ PACKETPULSE_DATA_DIR: dataDir });
  const clickhouse = await openGoldStore(await storeUnderTest(config));
  const models = await loadModels();
  const deadLetters: DeadLetter[] = [];
  const jupiter = createJupiter({
    clickhouse,
    deadLetter: async (letters) => {
      deadLetters.push(...letters);
    },
  });
  let nextOffset = 0;
  const rows = async <T>(query: string) =>
    (await clickhouse.query({ query, format: "JSONEachRow" })).json<T>();
  return {
    config,
    clickhouse,
    deadLetters,
    async feed(batches, firstOffset) {
      let offset = firstOffset ?? nextOffset;
      for (const batch of batches) {
        const records = batch.events.map((event) => {
          const value = JSON.stringify(event.value);
          const headers: Record<string, string> = { schema_version: String(event.protocol) };
          if (event.protocol === 2) headers.event_id = String(event.value.event_id);
          return {
            topic: "sessions",
            partition: 0,
            offset: offset++,
            timestamp: Date.parse(batch.receivedAt),
            timestampType: "CREATE_TIME",
            key: Buffer.from(String(event.value.device_id)).toString("base64"),
            value: Buffer.from(value).toString("base64"),
            headers: Object.entries(headers).map(([name, text]) => ({ [name]: [...Buffer.from(text)] })),
          };
        });
        await jupiter({ eventSource: "aws:kafka", records: { "sessions-0": records } }, {} as Context);
      }
      nextOffset = offset;
      return offset;
    },
    run(options = {}) {
      return runGold({ clickhouse, models, settings: config.uranus, ...options });
    },
    rows,
    table<T>(name: (typeof GOLD_TABLES)[number]) {
      return rows<T>(`SELECT * FROM ${name} ORDER BY ${ORDER[name]}`);
    },
    async reset() {
      for (const table of [...SILVER_TABLES, "uranus_runs"]) {
        await clickhouse.command({ query: `TRUNCATE TABLE ${table}` });
      }
      for (const table of GOLD_TABLES) await clickhouse.command({ query: `DROP TABLE IF EXISTS ${table}` });
      deadLetters.length = 0;
    },
    async close() {
      await clickhouse.close();
      await closeStoresUnderTest();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** ClickHouse's length of one degree of latitude along a meridian, in km (its sphere; see docs/metrics.md). */
export const KM_PER_DEGREE = 111.1950519752073;
