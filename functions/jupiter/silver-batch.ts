import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import type { ClickHouseClient } from "@clickhouse/client";
import { ClickHouseStoreError } from "#shared/clickhouse/index.ts";
import type { DeadLetter, DeadLetterSink, SessionsRecord } from "#shared/lambda/index.ts";
import { packRecords, ThreadPool } from "#shared/threads/index.ts";
import { mergeEntityRows, POSITION_COLUMNS, type SilverRows } from "./silver-rows.ts";
import { transformSilverChunk } from "./silver-transform.ts";

export interface SilverBatchDeps {
  clickhouse: ClickHouseClient;
  deadLetter: DeadLetterSink;
  /** Threads that share a batch's CPU work (default: this thread only). */
  pool?: ThreadPool;
}

const INLINE = new ThreadPool("jupiter", 1);
const TRANSFORM_MODULE = new URL("./silver-transform.ts", import.meta.url).href;
/** Below this many records per chunk a hand-over to another thread costs more than it saves. */
const MIN_THREAD_CHUNK = 2000;

export interface SilverBatchResult {
  records: number;
  /** Rows inserted per table (0 when a table had nothing in this batch). */
  inserted: Record<keyof SilverRows, number>;
  deadLettered: number;
  /** The insert deduplication token of this batch. */
  token: string;
}

/** A byte stream over the position CSV of a batch's chunks, as Buffers (views, not copies). */
function csvStream(parts: readonly Uint8Array[]): Readable {
  const buffers = parts.map((part) => Buffer.from(part.buffer, part.byteOffset, part.byteLength));
  return new Readable({
    read() {
      for (const buffer of buffers) this.push(buffer);
      this.push(null);
    },
  });
}

const ENTITY_TABLES = ["sessions", "orders", "vehicles"] as const;

/** A batch's merged entity rows as rows of the `entities` table: each keyed by its kind and id. */
function entityRowsOf(rows: Pick<SilverRows, (typeof ENTITY_TABLES)[number]>): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const row of rows.sessions) out.push({ entity: "session", id: row.session_id, ...row });
  for (const row of rows.orders) out.push({ entity: "order", id: row.order_id, ...row });
  for (const row of rows.vehicles) out.push({ entity: "vehicle", id: row.vehicle_id, ...row });
  return out;
}

/**
 * Threads for Jupiter's batches (`threads` counts this one; unset: up to 2 cores), each with the transform
 * loaded before the first batch arrives. With workers, they do all of the decoding: this thread reads the
 * log, feeds ClickHouse and picks up its replies, and a long decode here would leave the store waiting.
 */
export async function openSilverPool(threads?: number): Promise<ThreadPool> {
  const pool = new ThreadPool("jupiter", threads, { offload: true });
  await pool.preload(TRANSFORM_MODULE);
  return pool;
}

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
 * letter sink with their reasons, the rest are inserted with two inserts: positions, then the entity rows.
 * Throws when ClickHouse or the sink fails; nothing is half-counted then, since a retry of the same batch
 * is deduplicated.
 */
export async function processSilverBatch(
  deps: SilverBatchDeps,
  records: readonly SessionsRecord[],
): Promise<SilverBatchResult> {
  const chunks = await (deps.pool ?? INLINE).map(
    records.length,
    MIN_THREAD_CHUNK,
    (start, end) => transformSilverChunk(records.slice(start, end)),
    {
      module: TRANSFORM_MODULE,
      task: "silverChunkTask",
      input: (start, end) => {
        const { packed, transfer } = packRecords(records.slice(start, end));
        return { input: packed, transfer };
      },
    },
  );
  const rejected: DeadLetter[] = [];
  for (const { start, value } of chunks) {
    for (const r of value.rejected) {
      rejected.push({ record: records[start + r.index]!, schemaVersion: r.schemaVersion, issues: r.issues });
    }
  }
  const entities = mergeEntityRows(chunks.map((c) => c.value));
  const positions = chunks.reduce((sum, c) => sum + c.value.positions, 0);
  const rows = {
    session_positions: chunks.map((c) => c.value.positionsCsv),
    ...entities,
  };
  const token = silverBatchToken(records);
  const settings = { insert_deduplication_token: token };
  const insert = async (table: string, count: number, write: () => Promise<unknown>) => {
    if (count === 0) return;
    try {
      await write();
    } catch (error) {
      throw new ClickHouseStoreError(
        `Inserting ${count} rows into ${table} failed: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
  };
  // Positions first, so an entity never points at movements that are not there yet. The big table goes as
  // CSV: ClickHouse parses it about three times faster than JSONEachRow (docs/benchmarks.md).
  await insert("session_positions", positions, () =>
    deps.clickhouse.insert({
      table: "session_positions",
      columns: [...POSITION_COLUMNS],
      values: csvStream(rows.session_positions),
      format: "CSV",
      // One thread parses a batch's CSV faster than ClickHouse's parallel parser, whose set-up costs
      // more than it saves at a few MB; the cores are busy decoding the next batch (docs/benchmarks.md).
      // The log position columns are MATERIALIZED (hidden from SELECT *, migration 005): written explicitly.
      clickhouse_settings: {
        ...settings,
        input_format_parallel_parsing: 0,
        insert_allow_materialized_columns: 1,
      },
    }),
  );
  // Sessions, orders and vehicles share one table (decision 016): one insert for the three, since every
  // insert costs the embedded store milliseconds whatever its size. Its few merged rows keep JSONEachRow for
  // the tuples.
  const entityRows = entityRowsOf(rows);
  await insert("entities", entityRows.length, () =>
    deps.clickhouse.insert({
      table: "entities",
      values: entityRows,
      format: "JSONEachRow",
      clickhouse_settings: settings,
    }),
  );
  // After the inserts: a failing sink fails the batch, and its retry re-inserts nothing.
  if (rejected.length > 0) await deps.deadLetter(rejected);
  const inserted = {
    session_positions: positions,
    sessions: rows.sessions.length,
    orders: rows.orders.length,
    vehicles: rows.vehicles.length,
  };
  return { records: records.length, inserted, deadLettered: rejected.length, token };
}
