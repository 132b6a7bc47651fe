/**
 * A child process for the multi-instance tests: opens the configured ClickHouse (CLICKHOUSE_URL) as
 * Jupiter and Uranus do at start-up (silver, then gold migrations), prints `migrated` and exits.
 */
import { openGoldStore } from "#functions/uranus/store.ts";
import { loadConfig } from "#shared/config/index.ts";

const clickhouse = await openGoldStore(loadConfig().clickhouse);
await clickhouse.close();
console.log("migrated");
process.exit(0);
