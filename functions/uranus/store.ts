import { fileURLToPath } from "node:url";
import type { ClickHouseClient } from "@clickhouse/client";
import { applyMigrations, openClickHouse, waitingForMigration } from "#shared/clickhouse/index.ts";
import type { ClickHouseConfig } from "#shared/config/index.ts";

export const GOLD_MIGRATIONS_DIR = fileURLToPath(new URL("./migrations/", import.meta.url));
// Jupiter's migrations, found from this file (functions/uranus → functions/jupiter, the same in dist/):
// importing Jupiter's store instead would put its migrations URL into a chunk shared by both bundles.
const SILVER_MIGRATIONS_DIR = fileURLToPath(new URL("../jupiter/migrations/", import.meta.url));

/** Brings the gold bookkeeping (uranus_runs) up to date on a client that already has the silver schema. */
export async function migrateGold(clickhouse: ClickHouseClient): Promise<void> {
  await applyMigrations(clickhouse, {
    directory: GOLD_MIGRATIONS_DIR,
    scope: "gold",
    onWait: waitingForMigration("gold"),
  });
}

/**
 * Opens the configured ClickHouse with the silver schema (the models read it; Uranus may run before
 * Jupiter's first batch) and the gold one.
 */
export async function openGoldStore(config: ClickHouseConfig): Promise<ClickHouseClient> {
  const clickhouse = await openClickHouse(config);
  try {
    await applyMigrations(clickhouse, {
      directory: SILVER_MIGRATIONS_DIR,
      scope: "silver",
      onWait: waitingForMigration("silver"),
    });
    await migrateGold(clickhouse);
  } catch (error) {
    await clickhouse.close();
    throw error;
  }
  return clickhouse;
}
