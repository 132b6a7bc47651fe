/** Jupiter, the silver layer: Kafka `sessions` batches into ClickHouse tables. See docs/silver.md. */
export { createJupiter } from "./jupiter.ts";
export {
  openSilverPool,
  processSilverBatch,
  type SilverBatchDeps,
  type SilverBatchResult,
  silverBatchToken,
} from "./silver-batch.ts";
export { type SilverEvent, toSilverEvent } from "./silver-event.ts";
export { type SilverRows, STATUS_RANK, silverRows } from "./silver-rows.ts";
export { openSilverStore, SILVER_MIGRATIONS_DIR, SILVER_TABLES } from "./store.ts";
