import { fileURLToPath } from "node:url";
import type { ClickHouseClient } from "@clickhouse/client";
import { applyMigrations, openClickHouse, waitingForMigration } from "#shared/clickhouse/index.ts";
import type { ClickHouseConfig } from "#shared/config/index.ts";

export const SILVER_MIGRATIONS_DIR = fileURLToPath(new URL("./migrations/", import.meta.url));

/**
 * The tables that hold silver's rows: positions, and the partial rows of sessions, orders and vehicles (the
 * `sessions`, `orders` and `vehicles` views read `entities`). Emptying these empties silver.
 */
export const SILVER_TABLES = ["session_positions", "entities"] as const;

/** Opens the configured ClickHouse and brings the silver schema up to date. */
export async function openSilverStore(config: ClickHouseConfig): Promise<ClickHouseClient> {
  const clickhouse = await openClickHouse(config);
  try {
    await applyMigrations(clickhouse, {
      directory: SILVER_MIGRATIONS_DIR,
      scope: "silver",
      onWait: waitingForMigration("silver"),
    });
  } catch (error) {
    await clickhouse.close();
    throw error;
  }
  return clickhouse;
}
