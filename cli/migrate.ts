import { SILVER_MIGRATIONS_DIR } from "#functions/jupiter/store.ts";
import { GOLD_MIGRATIONS_DIR } from "#functions/uranus/store.ts";
import { applyMigrations, openClickHouse } from "#shared/clickhouse/index.ts";
import { loadConfig } from "#shared/config/index.ts";
import { PacketPulseError } from "#shared/errors.ts";

/**
 * `npx tsx cli/migrate.ts`: brings the configured ClickHouse's silver and gold schema up to date and
 * exits. docker-compose.yml runs it once (the `migrate` service) before any function starts; functions that
 * migrate at start-up then find nothing to do. Concurrent runs are safe: each scope migrates under a lease.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const clickhouse = await openClickHouse(config.clickhouse);
  try {
    for (const [scope, directory] of [
      ["silver", SILVER_MIGRATIONS_DIR],
      ["gold", GOLD_MIGRATIONS_DIR],
    ] as const) {
      const applied = await applyMigrations(clickhouse, {
        directory,
        scope,
        onWait: (holder) => console.log(`${scope}: waiting for ${holder}, which is migrating`),
      });
      console.log(
        applied.length === 0
          ? `${scope}: up to date`
          : `${scope}: applied ${applied.map((m) => `${m.version}-${m.name}`).join(", ")}`,
      );
    }
  } finally {
    await clickhouse.close();
  }
}

main().catch((error: unknown) => {
  if (error instanceof PacketPulseError) console.error(`Migration failed.\n${error.message}`);
  else console.error("Migration failed:", error);
  process.exit(1);
});
