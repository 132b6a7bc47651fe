import { gunzipSync } from "node:zlib";
import { parquetReadObjects } from "hyparquet";
import type { BronzeConfig } from "../../shared/config/index.ts";
import {
  deserializeValue,
  IcebergTable,
  type LiveDataFile,
  nativeUnsnappy,
  openWarehouse,
  type Warehouse,
} from "../../shared/iceberg/index.ts";

/**
 * A session's raw events, read from the bronze Iceberg table with the project's own Iceberg code
 * (shared/iceberg: the catalog's current snapshot, its manifests, the data files) and hyparquet, as
 * Neptune's compaction reads them back (decision 033). Read only: the table is never created or evolved
 * here. Files are pruned by their day partition (the session's days) and by their session_id bounds, and
 * each remaining file's session_id column is read before any payload.
 */

export interface BronzeEvent {
  eventTime: string;
  eventType: string;
  eventId: string;
  schemaVersion: number | null;
  topic: string;
  partition: number;
  offset: string;
  /** When Venus accepted it (the record's CreateTime). */
  receivedAt: string;
  /** When Neptune wrote it to bronze. */
  ingestedAt: string;
  /** The record's value exactly as stored (v1 extra fields included). */
  payload: string;
}

export type BronzePage =
  | {
      state: "events";
      events: BronzeEvent[];
      total: number;
      page: number;
      pageSize: number;
      pages: number;
      table: string;
      snapshotId: string;
    }
  /** Bronze has no table, or no snapshot, or no row of this session yet. */
  | { state: "not-written"; table: string; message: string }
  | { state: "error"; message: string };

const READ_COLUMNS = [
  "session_id",
  "event_time",
  "event_type",
  "event_id",
  "schema_version",
  "kafka_topic",
  "kafka_partition",
  "kafka_offset",
  "kafka_timestamp",
  "ingested_at",
  "payload",
];

const DAY_MS = 86_400_000;

const micros = (value: unknown) =>
  typeof value === "bigint" ? new Date(Number(value / 1000n)).toISOString() : String(value ?? "");

const compressors = {
  GZIP: (input: Uint8Array) => new Uint8Array(gunzipSync(input)),
  ...(nativeUnsnappy ? { SNAPPY: nativeUnsnappy } : {}),
};

export class BronzeReader {
  private warehouse: Promise<Warehouse> | undefined;
  /** The last pages read, keyed by snapshot and session: a new commit makes a new key. */
  private readonly cache = new Map<string, BronzeEvent[]>();

  constructor(private readonly config: BronzeConfig) {}

  get tableName() {
    return `${this.config.namespace}.${this.config.table}`;
  }

  /**
   * One page (1-based, oldest first, newest last) of a session's events. `days` narrows the files read to
   * the session's days (from gold); without it every file whose session_id bounds admit the id is read.
   */
  async sessionEvents(
    sessionId: string,
    options: { page: number; pageSize: number; days?: { from: string; to: string | null } },
  ): Promise<BronzePage> {
    let events: BronzeEvent[];
    let snapshotId: string;
    try {
      this.warehouse ??= openWarehouse(this.config.warehouse);
      const warehouse = await this.warehouse;
      const id = { namespace: [this.config.namespace], name: this.config.table };
      const loaded = await warehouse.catalog.loadTable(id);
      const table = loaded ? new IcebergTable(warehouse.catalog, warehouse.storage, id, loaded) : undefined;
      const current = table?.snapshot();
      if (!table || !current) {
        return {
          state: "not-written",
          table: this.tableName,
          message: `Bronze has no data yet: Neptune creates ${this.tableName} with its first commit (every ${Math.round(this.config.commitIntervalMs / 1000)} s while events arrive). Reload in a moment.`,
        };
      }
      snapshotId = String(current["snapshot-id"]);
      const key = `${snapshotId}/${sessionId}/${options.days?.from ?? ""}/${options.days?.to ?? ""}`;
      const cached = this.cache.get(key);
      events = cached ?? (await this.readSession(table, sessionId, options.days));
      if (!cached) {
        this.cache.set(key, events);
        while (this.cache.size > 32) this.cache.delete(this.cache.keys().next().value as string);
      }
    } catch (error) {
      this.warehouse = undefined;
      return {
        state: "error",
        message: `Bronze could not be read (${(error as Error).message}). Check that the warehouse or the Iceberg REST catalog is reachable (ICEBERG_REST_URL), then reload.`,
      };
    }
    if (events.length === 0) {
      return {
        state: "not-written",
        table: this.tableName,
        message: `No event of this session is in bronze yet: Neptune commits the events it has every ${Math.round(this.config.commitIntervalMs / 1000)} s, so a session that just started shows here shortly. Reload in a moment.`,
      };
    }
    const pages = Math.max(1, Math.ceil(events.length / options.pageSize));
    const page = Math.min(Math.max(1, options.page), pages);
    return {
      state: "events",
      events: events.slice((page - 1) * options.pageSize, page * options.pageSize),
      total: events.length,
      page,
      pageSize: options.pageSize,
      pages,
      table: this.tableName,
      snapshotId,
    };
  }

  private async readSession(
    table: IcebergTable,
    sessionId: string,
    days: { from: string; to: string | null } | undefined,
  ): Promise<BronzeEvent[]> {
    const field = table.schema().fields.find((f) => f.name === "session_id");
    const candidates = (await table.liveDataFiles()).filter(
      (file) => inDays(file, days) && (!field || inBounds(file, field.id, sessionId)),
    );
    const events: BronzeEvent[] = [];
    for (const file of candidates) {
      const bytes = await table.storage.read(file.dataFile.filePath);
      const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      const read = { file: buffer, compressors, parsers: { timestampFromMicroseconds: (m: bigint) => m } };
      // The id column first: most files hold none of this session's rows, and payloads are the bulk.
      const ids = (await parquetReadObjects({ ...read, columns: ["session_id"] })) as {
        session_id?: string;
      }[];
      const first = ids.findIndex((row) => row.session_id === sessionId);
      if (first === -1) continue;
      const last = ids.findLastIndex((row) => row.session_id === sessionId);
      const rows = (await parquetReadObjects({
        ...read,
        columns: READ_COLUMNS,
        rowStart: first,
        rowEnd: last + 1,
      })) as Record<string, unknown>[];
      for (const row of rows) {
        if (row.session_id !== sessionId) continue;
        events.push({
          eventTime: micros(row.event_time),
          eventType: String(row.event_type ?? ""),
          eventId: String(row.event_id ?? ""),
          schemaVersion:
            row.schema_version === null || row.schema_version === undefined
              ? null
              : Number(row.schema_version),
          topic: String(row.kafka_topic ?? ""),
          partition: Number(row.kafka_partition),
          offset: String(row.kafka_offset),
          receivedAt: micros(row.kafka_timestamp),
          ingestedAt: micros(row.ingested_at),
          payload: String(row.payload ?? ""),
        });
      }
    }
    return events.sort(
      (a, b) =>
        a.eventTime.localeCompare(b.eventTime) ||
        a.partition - b.partition ||
        (BigInt(a.offset) < BigInt(b.offset) ? -1 : BigInt(a.offset) > BigInt(b.offset) ? 1 : 0),
    );
  }

  async close(): Promise<void> {
    const warehouse = await this.warehouse?.catch(() => undefined);
    this.warehouse = undefined;
    await warehouse?.close();
  }
}

/** Whether a file's day partition (days since 1970-01-01) is within the session's days, a day either side. */
function inDays(file: LiveDataFile, days: { from: string; to: string | null } | undefined): boolean {
  if (!days) return true;
  const day = Object.values(file.dataFile.partition)[0];
  if (typeof day !== "number") return true;
  const from = Math.floor(Date.parse(days.from) / DAY_MS) - 1;
  const to = Math.floor(Date.parse(days.to ?? new Date().toISOString()) / DAY_MS) + 1;
  return Number.isNaN(from) || (day >= from && (Number.isNaN(to) || day <= to));
}

/** Whether a file's session_id bounds (in its manifest entry) can hold the id; a file without bounds can. */
function inBounds(file: LiveDataFile, fieldId: number, sessionId: string): boolean {
  const lower = file.dataFile.lowerBounds.get(fieldId);
  const upper = file.dataFile.upperBounds.get(fieldId);
  if (lower && (deserializeValue("string", lower) as string) > sessionId) return false;
  if (upper && (deserializeValue("string", upper) as string) < sessionId) return false;
  return true;
}
