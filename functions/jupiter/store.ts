import { fileURLToPath } from "node:url";
import type { ClickHouseClient } from "@clickhouse/client";
import { applyMigrations, openClickHouse } from "#shared/clickhouse/index.ts";
import type { ClickHouseConfig } from "#shared/config/index.ts";

export const SILVER_MIGRATIONS_DIR = fileURLToPath(new URL("./migrations/", import.meta.url));

/** Opens the configured ClickHouse and brings the silver schema up to date. */
export async function openSilverStore(config: ClickHouseConfig): Promise<ClickHouseClient> {
  const clickhouse = await openClickHouse(config);
  try {
    await applyMigrations(clickhouse, { directory: SILVER_MIGRATIONS_DIR, scope: "silver" });
  } catch (error) {
    await clickhouse.close();
    throw error;
  }
  return clickhouse;
}
