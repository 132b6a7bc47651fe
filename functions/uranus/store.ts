import { fileURLToPath } from "node:url";
import type { ClickHouseClient } from "@clickhouse/client";
import { openSilverStore } from "#functions/jupiter/store.ts";
import { applyMigrations } from "#shared/clickhouse/index.ts";
import type { ClickHouseConfig } from "#shared/config/index.ts";

export const GOLD_MIGRATIONS_DIR = fileURLToPath(new URL("./migrations/", import.meta.url));

/** Brings the gold bookkeeping (uranus_runs) up to date on a client that already has the silver schema. */
export async function migrateGold(clickhouse: ClickHouseClient): Promise<void> {
  await applyMigrations(clickhouse, { directory: GOLD_MIGRATIONS_DIR, scope: "gold" });
}

/** Opens the configured ClickHouse with the silver schema (the models read it) and the gold one. */
export async function openGoldStore(config: ClickHouseConfig): Promise<ClickHouseClient> {
  const clickhouse = await openSilverStore(config);
  try {
    await migrateGold(clickhouse);
  } catch (error) {
    await clickhouse.close();
    throw error;
  }
  return clickhouse;
}
