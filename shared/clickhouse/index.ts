/** The silver/gold store: one `@clickhouse/client` client on embedded chDB or a server, and migrations. */
export { ClickHouseStoreError, MigrationError } from "./errors.ts";
export {
  type AcquireOptions,
  acquireLease,
  type Lease,
  type LeaseOptions,
  LeaseTimeoutError,
  tryAcquireLease,
  withLease,
} from "./lease.ts";
export {
  type AppliedMigration,
  applyMigrations,
  type Migration,
  readMigrations,
  splitStatements,
  waitingForMigration,
} from "./migrations.ts";
export { openClickHouse } from "./open.ts";
export { CLICKHOUSE_SETTINGS } from "./settings.ts";
