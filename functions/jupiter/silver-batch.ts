import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import type { ClickHouseClient } from "@clickhouse/client";
import { ClickHouseStoreError } from "#shared/clickhouse/index.ts";
import type { DeadLetterSink, SilverDeadLetter } from "./dead-letter.ts";
import type { SessionsRecord } from "./kafka-event.ts";
import { type SilverEvent, toSilverEvent } from "./silver-event.ts";
import { POSITION_COLUMNS, positionsCsv, type SilverRows, silverRows } from "./silver-rows.ts";

export interface SilverBatchDeps {
  clickhouse: ClickHouseClient;
  deadLetter: DeadLetterSink;
}

export interface SilverBatchResult {
  records: number;
  /** Rows inserted per table (0 when a table had nothing in this batch). */
  inserted: Record<keyof SilverRows, number>;
  deadLettered: number;
  /** The insert deduplication token of this batch. */
  token: string;
}

/** Insert order: positions first, so an entity never points at movements that are not there yet. */
const TABLES = [
  "session_positions",
  "sessions",
  "orders",
  "vehicles",
] as const satisfies readonly (keyof SilverRows)[];

/**
 * The batch's identity: its offset range per topic-partition. A re-delivered batch has the same ranges,
 * hence the same token, and ClickHouse drops its inserts (`insert_deduplication_token` with
 * `non_replicated_deduplication_window` on the tables). A batch cut differently is not caught here; the
 * tables' idempotent merges (replace by event_id, min/max) absorb it.
 */
export function silverBatchToken(records: readonly SessionsRecord[]): string {
  const ranges = new Map<string, { first: number; last: number }>();
  for (const { topic, partition, offset } of records) {
    const key = `${topic}-${partition}`;
    const range = ranges.get(key);
    if (!range) ranges.set(key, { first: offset, last: offset });
    else {
      range.first = Math.min(range.first, offset);
      range.last = Math.max(range.last, offset);
    }
  }
  const canonical = [...ranges.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, { first, last }]) => `${key}:${first}-${last}`)
    .join(",");
  return `jupiter:${createHash("sha256").update(canonical).digest("hex")}`;
}

/**
 * Turns one batch of `sessions` records into silver rows: records that fail the contract go to the dead
 * letter sink with their reasons, the rest are inserted with one insert per table. Throws when ClickHouse
 * or the sink fails; nothing is half-counted then, since a retry of the same batch is deduplicated.
 */
export async function processSilverBatch(
  deps: SilverBatchDeps,
  records: readonly SessionsRecord[],
): Promise<SilverBatchResult> {
  const events: SilverEvent[] = [];
  const rejected: SilverDeadLetter[] = [];
  for (const record of records) {
    const verdict = toSilverEvent(record);
    if (verdict.ok) events.push(verdict.event);
    else rejected.push({ record, schemaVersion: verdict.schemaVersion, issues: verdict.issues });
  }
  const rows = silverRows(events);
  const token = silverBatchToken(records);
  const inserted = { session_positions: 0, sessions: 0, orders: 0, vehicles: 0 };
  for (const table of TABLES) {
    const values: readonly object[] = rows[table];
    if (values.length === 0) continue;
    try {
      const settings = { insert_deduplication_token: token };
      if (table === "session_positions") {
        // The big table goes as CSV: ClickHouse parses it about three times faster than JSONEachRow
        // (docs/benchmarks.md); the few merged entity rows keep JSONEachRow for their tuples.
        await deps.clickhouse.insert({
          table,
          columns: [...POSITION_COLUMNS],
          values: Readable.from([positionsCsv(rows.session_positions)], { objectMode: false }),
          format: "CSV",
          clickhouse_settings: settings,
        });
      } else {
        await deps.clickhouse.insert({
          table,
          values: values as Record<string, unknown>[],
          format: "JSONEachRow",
          clickhouse_settings: settings,
        });
      }
    } catch (error) {
      throw new ClickHouseStoreError(
        `Inserting ${values.length} rows into ${table} failed: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
    inserted[table] = values.length;
  }
  // After the inserts: a failing sink fails the batch, and its retry re-inserts nothing.
  if (rejected.length > 0) await deps.deadLetter(rejected);
  return { records: records.length, inserted, deadLettered: rejected.length, token };
}
