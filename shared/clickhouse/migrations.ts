import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import type { ClickHouseClient } from "@clickhouse/client";
import { logger } from "#shared/logging/index.ts";
import { MigrationError } from "./errors.ts";
import { withLease } from "./lease.ts";

/**
 * Versioned migrations: `NNN-name.sql` files applied in version order, each recorded in `schema_migrations`
 * with a checksum. Statements are written to be re-runnable (`IF NOT EXISTS`), so a migration interrupted
 * half-way is simply applied again at the next start. Editing an applied migration is refused: add a new one.
 *
 * Processes that share a ClickHouse server (compose replicas, Lambda containers) migrate one at a time under
 * a lease per scope (lease.ts): the second reads `schema_migrations` after the first finished and finds
 * nothing left to do, so no migration ever runs twice at once.
 */

export interface Migration {
  version: number;
  name: string;
  checksum: string;
  statements: string[];
}

export interface AppliedMigration {
  version: number;
  name: string;
}

const MIGRATION_FILE = /^(\d{3,})-([a-z0-9-]+)\.sql$/;

const SCHEMA_MIGRATIONS_DDL = `CREATE TABLE IF NOT EXISTS schema_migrations (
  scope LowCardinality(String),
  version UInt32,
  name String,
  checksum FixedString(64),
  applied_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree(applied_at)
ORDER BY (scope, version)`;

/** Splits a migration into statements at semicolons that end a line; `--` comment lines are dropped. */
export function splitStatements(sql: string): string[] {
  const withoutComments = sql
    .split("\n")
    .filter((line) => !line.trimStart().startsWith("--"))
    .join("\n");
  return withoutComments
    .split(/;\s*(?:\n|$)/)
    .map((statement) => statement.trim())
    .filter((statement) => statement.length > 0);
}

export async function readMigrations(directory: string): Promise<Migration[]> {
  const files = (await readdir(directory)).filter((file) => file.endsWith(".sql")).sort();
  const migrations: Migration[] = [];
  for (const file of files) {
    const match = MIGRATION_FILE.exec(file);
    if (!match) {
      throw new MigrationError(
        `Migration file ${file} must be named NNN-name.sql (for example 001-silver.sql)`,
      );
    }
    const sql = await readFile(path.join(directory, file), "utf8");
    const version = Number(match[1]);
    if (migrations.some((m) => m.version === version)) {
      throw new MigrationError(`Two migrations in ${directory} have version ${version}`);
    }
    migrations.push({
      version,
      name: match[2]!,
      checksum: createHash("sha256").update(sql).digest("hex"),
      statements: splitStatements(sql),
    });
  }
  return migrations;
}

/** Logs that this process waits for another one's migration (a held or expiring lease). */
export const waitingForMigration = (scope: string) => (holder: string) =>
  logger("clickhouse").warn(
    `${scope} migrations: waiting for ${holder}, which holds the migration lease (it expires 60 s after its holder stops)`,
  );

/**
 * Applies the migrations of `directory` that `schema_migrations` does not list for `scope` (one scope per
 * layer, e.g. "silver" and "gold", so each keeps its own numbering). Returns the migrations applied now.
 */
export async function applyMigrations(
  client: ClickHouseClient,
  options: {
    directory: string;
    scope: string;
    /** Called when another process is migrating this scope and this one waits for it. */
    onWait?: (holder: string) => void;
  },
): Promise<AppliedMigration[]> {
  const migrations = await readMigrations(options.directory);
  const lease = `migrations_${options.scope.toLowerCase().replaceAll(/[^a-z0-9_]/g, "_")}`;
  return withLease(client, lease, () => applyPending(client, migrations, options.scope), {
    onWait: options.onWait,
  });
}

async function applyPending(
  client: ClickHouseClient,
  migrations: Migration[],
  scope: string,
): Promise<AppliedMigration[]> {
  const options = { scope };
  await client.command({ query: SCHEMA_MIGRATIONS_DDL });
  const result = await client.query({
    query: `SELECT version, name, checksum FROM schema_migrations FINAL WHERE scope = {scope:String}`,
    query_params: { scope: options.scope },
    format: "JSONEachRow",
  });
  const applied = new Map(
    (await result.json<{ version: number; name: string; checksum: string }>()).map((row) => [
      Number(row.version),
      row,
    ]),
  );
  const appliedNow: AppliedMigration[] = [];
  for (const migration of migrations) {
    const previous = applied.get(migration.version);
    if (previous) {
      if (previous.checksum !== migration.checksum) {
        throw new MigrationError(
          `Migration ${options.scope}/${migration.version}-${migration.name} changed after it was applied (checksum ${previous.checksum.slice(0, 12)}… in schema_migrations): add a new migration instead of editing an applied one`,
        );
      }
      continue;
    }
    for (const statement of migration.statements) {
      try {
        await client.command({ query: statement });
      } catch (error) {
        throw new MigrationError(
          `Migration ${options.scope}/${migration.version}-${migration.name} failed: ${error instanceof Error ? error.message : String(error)}`,
          { cause: error },
        );
      }
    }
    await client.insert({
      table: "schema_migrations",
      format: "JSONEachRow",
      values: [
        {
          scope: options.scope,
          version: migration.version,
          name: migration.name,
          checksum: migration.checksum,
          applied_at: new Date().toISOString(),
        },
      ],
    });
    appliedNow.push({ version: migration.version, name: migration.name });
  }
  return appliedNow;
}
