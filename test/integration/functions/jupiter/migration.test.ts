import { cpSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ClickHouseClient } from "@clickhouse/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SILVER_MIGRATIONS_DIR } from "#functions/jupiter/index.ts";
import { applyMigrations, openClickHouse } from "#shared/clickhouse/index.ts";
import { readMigrations } from "#shared/clickhouse/migrations.ts";
import { loadConfig } from "#shared/config/index.ts";

/**
 * Migrations 003 and 004 on a store made before them: the rows of the three entity tables of 001 are moved
 * into `entities`, the views that replace the tables show the same rows, and positions keep their source
 * and v1 status. Embedded chDB, a store of its own
 * (one folder per process).
 */

const SESSION = "5e551000-0000-4000-8000-000000000001";
const ORDER = "0bde0000-0000-4000-8000-000000000001";
const VEHICLE = "7e41c1e0-0000-4000-8000-000000000001";
const DEVICE = "de71ce00-0000-4000-8000-000000000001";

let dataDir: string;
let before003: string;
/** Migrations 001 to 005: what this suite is about (006 gives the names read here other meanings). */
let through004: string;
let clickhouse: ClickHouseClient;

const rows = async (query: string) =>
  (await clickhouse.query({ query, format: "JSONEachRow" })).json<Record<string, unknown>>();

/** What users and gold read: the raw partial rows (in a fixed order) and the merged rows. */
async function silverAsRead() {
  return {
    sessions: await rows("SELECT * FROM sessions ORDER BY session_id, first_event_at, last_event_at"),
    orders: await rows("SELECT * FROM orders ORDER BY order_id, first_event_at, last_event_at"),
    vehicles: await rows("SELECT * FROM vehicles ORDER BY vehicle_id, first_seen_at, last_seen_at"),
    ...(await merged()),
  };
}

const positions = () => rows("SELECT event_id, source, v1_status FROM session_positions ORDER BY event_id");

async function merged() {
  return {
    sessions_current: await rows("SELECT * FROM sessions_current ORDER BY session_id"),
    orders_current: await rows("SELECT * FROM orders_current ORDER BY order_id"),
    vehicles_current: await rows("SELECT * FROM vehicles_current ORDER BY vehicle_id"),
  };
}

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), "packetpulse-silver-migration-"));
  before003 = mkdtempSync(path.join(os.tmpdir(), "packetpulse-silver-001-002-"));
  through004 = mkdtempSync(path.join(os.tmpdir(), "packetpulse-silver-001-004-"));
  for (const file of ["001-silver-tables.sql", "002-silver-views.sql"]) {
    cpSync(path.join(SILVER_MIGRATIONS_DIR, file), path.join(before003, file));
  }
  for (const file of readdirSync(SILVER_MIGRATIONS_DIR).filter((name) => /^00[1-5]-/.test(name))) {
    cpSync(path.join(SILVER_MIGRATIONS_DIR, file), path.join(through004, file));
  }
  const config = loadConfig({ PACKETPULSE_DATA_DIR: dataDir });
  clickhouse = await openClickHouse(config.clickhouse);
});

afterAll(async () => {
  await clickhouse?.close();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(before003, { recursive: true, force: true });
  rmSync(through004, { recursive: true, force: true });
});

describe("silver migrations 003 (one entity table) and 004 (position status columns)", () => {
  it("moves a store's sessions, orders and vehicles into `entities`, keeps its positions' source and status, and the views read the same rows", async () => {
    // Prepare: a store at migration 002, with two partial rows per entity, as two batches leave them.
    await applyMigrations(clickhouse, { directory: before003, scope: "silver" });
    for (const [first, last, status] of <[string, string, string][]>[
      ["2024-05-01 08:00:00.000", "2024-05-01 08:05:00.000", "('2024-05-01 08:00:00.000', 1, 'started')"],
      ["2024-05-01 08:05:10.000", "2024-05-01 08:20:00.500", "('2024-05-01 08:20:00.500', 5, 'completed')"],
    ]) {
      await clickhouse.command({
        query: `INSERT INTO sessions (session_id, device_id, vehicle_id, order_id, vehicle_type, started_at,
                  ended_at, first_event_at, last_event_at, last_received_at, latest_status, last_position)
                VALUES ('${SESSION}', '${DEVICE}', '${VEHICLE}', '${ORDER}',
                  ${status.includes("started") ? "'bike'" : "NULL"},
                  ${status.includes("started") ? `'${first}'` : "NULL"},
                  ${status.includes("completed") ? `'${last}'` : "NULL"},
                  '${first}', '${last}', '${last}', ${status}, ('${last}', 37.98, 23.72))`,
      });
      await clickhouse.command({
        query: `INSERT INTO orders (order_id, session_id, device_id, vehicle_id, created_at, delivered_at,
                  first_event_at, last_event_at, latest_status)
                VALUES ('${ORDER}', '${SESSION}', '${DEVICE}', '${VEHICLE}',
                  ${status.includes("started") ? `'${first}'` : "NULL"},
                  ${status.includes("completed") ? `'${last}'` : "NULL"}, '${first}', '${last}', ${status})`,
      });
      await clickhouse.command({
        query: `INSERT INTO vehicles (vehicle_id, vehicle_type, first_seen_at, last_seen_at, last_position, last_session)
                VALUES ('${VEHICLE}', ${status.includes("started") ? "'bike'" : "NULL"}, '${first}', '${last}',
                  ('${last}', 37.98, 23.72), ('${last}', '${SESSION}', '${DEVICE}'))`,
      });
    }
    // Two positions as Jupiter wrote them before migration 004: a v2 ping and a v1 message.
    await clickhouse.command({
      query: `INSERT INTO session_positions (event_id, session_id, device_id, vehicle_id, order_id, source,
                occurred_at, received_at, lat, lon, speed_kmh, heading_deg, accuracy_m, v1_status)
              VALUES ('e0000000-0000-4000-8000-000000000001', '${SESSION}', '${DEVICE}', '${VEHICLE}', '${ORDER}',
                'location_ping', '2024-05-01 08:01:00', '2024-05-01 08:01:01', 37.98, 23.72, 21.5, 90, 5, NULL),
                ('e0000000-0000-4000-8000-000000000002', '${SESSION}', '${DEVICE}', '${VEHICLE}', '${ORDER}',
                'v1_message', '2024-05-01 08:02:00', '2024-05-01 08:02:01', 37.99, 23.73, NULL, NULL, NULL, 'en_route')`,
    });
    const positionsBefore = await positions();
    const before = await silverAsRead();
    expect(before.sessions).toHaveLength(2);
    expect(before.orders).toHaveLength(2);
    expect(before.vehicles).toHaveLength(2);
    expect(before.sessions_current).toMatchObject([
      { session_id: SESSION, status: "completed", started_at: "2024-05-01T08:00:00.000Z" },
    ]);
    expect(before.orders_current).toMatchObject([
      { order_id: ORDER, created_at: "2024-05-01T08:00:00.000Z", delivered_at: "2024-05-01T08:20:00.500Z" },
    ]);

    // Act
    const applied = await applyMigrations(clickhouse, { directory: through004, scope: "silver" });

    // Assess: the tables are views now, over one table that holds every row, and they read as before.
    expect(applied).toEqual([
      { version: 3, name: "one-entity-table" },
      { version: 4, name: "positions-status-columns" },
      { version: 5, name: "ingestion-time-and-log-position" },
    ]);
    expect(
      await rows(
        "SELECT name, engine FROM system.tables WHERE database = currentDatabase() AND name IN ('entities', 'sessions', 'orders', 'vehicles') ORDER BY name",
      ),
    ).toEqual([
      { name: "entities", engine: "AggregatingMergeTree" },
      { name: "orders", engine: "View" },
      { name: "sessions", engine: "View" },
      { name: "vehicles", engine: "View" },
    ]);
    // Migration 004: the positions read as before, v1_status is a plain Nullable(String), and source is
    // filled from it when an insert leaves it out.
    expect(await positions()).toEqual(positionsBefore);
    expect(
      await rows(
        "SELECT name, type, default_expression FROM system.columns WHERE database = currentDatabase() AND table = 'session_positions' AND name IN ('source', 'v1_status') ORDER BY name",
      ),
    ).toEqual([
      {
        name: "source",
        type: "LowCardinality(String)",
        default_expression: "if(v1_status IS NULL, 'location_ping', 'v1_message')",
      },
      { name: "v1_status", type: "Nullable(String)", default_expression: "" },
    ]);
    await clickhouse.command({
      query: `INSERT INTO session_positions (event_id, session_id, device_id, vehicle_id, order_id, occurred_at,
                received_at, lat, lon, v1_status)
              VALUES ('e0000000-0000-4000-8000-000000000003', '${SESSION}', '${DEVICE}', '${VEHICLE}', '${ORDER}',
                '2024-05-01 08:03:00', '2024-05-01 08:03:01', 37.97, 23.71, NULL),
                ('e0000000-0000-4000-8000-000000000004', '${SESSION}', '${DEVICE}', '${VEHICLE}', '${ORDER}',
                '2024-05-01 08:04:00', '2024-05-01 08:04:01', 37.96, 23.70, 'completed')`,
    });
    expect((await positions()).slice(2)).toEqual([
      { event_id: "e0000000-0000-4000-8000-000000000003", source: "location_ping", v1_status: null },
      { event_id: "e0000000-0000-4000-8000-000000000004", source: "v1_message", v1_status: "completed" },
    ]);

    // The copy is one insert, and ClickHouse merges rows of one key within an insert, as a background
    // merge would have: one partial row per entity, with what the two had.
    expect(await rows("SELECT entity, count() AS n FROM entities GROUP BY entity ORDER BY entity")).toEqual([
      { entity: "session", n: "1" },
      { entity: "order", n: "1" },
      { entity: "vehicle", n: "1" },
    ]);
    const after = await silverAsRead();
    expect(after.sessions_current).toEqual(before.sessions_current);
    expect(after.orders_current).toEqual(before.orders_current);
    expect(after.vehicles_current).toEqual(before.vehicles_current);
    // min/max of the two: the first row's start and vehicle type, the second's end, status and position.
    const [first, second] = [before.sessions[0]!, before.sessions[1]!];
    expect(after.sessions).toEqual([
      { ...second, started_at: first.started_at, vehicle_type: "bike", first_event_at: first.first_event_at },
    ]);
    expect(after.orders).toEqual([
      {
        ...before.orders[1],
        created_at: before.orders[0]!.created_at,
        first_event_at: before.orders[0]!.first_event_at,
      },
    ]);
    expect(after.vehicles).toEqual([
      { ...before.vehicles[1], vehicle_type: "bike", first_seen_at: before.vehicles[0]!.first_seen_at },
    ]);
  });

  it("can run again from any of its statements, as after an interruption, and the merged rows stay the same", async () => {
    // Prepare
    const merged003 = await merged();
    const statements = (await readMigrations(SILVER_MIGRATIONS_DIR)).find((m) => m.version === 3)!.statements;
    expect(statements.length).toBeGreaterThan(10);

    // Act: the migration's statements from each one to the end, as a run stopped before it would go on.
    for (let from = 0; from < statements.length; from++) {
      for (const statement of statements.slice(from)) await clickhouse.command({ query: statement });
    }

    // Assess
    expect(await merged()).toEqual(merged003);
    await clickhouse.command({ query: "OPTIMIZE TABLE entities FINAL" });
    expect(await rows("SELECT entity, count() AS n FROM entities GROUP BY entity ORDER BY entity")).toEqual([
      { entity: "session", n: "1" },
      { entity: "order", n: "1" },
      { entity: "vehicle", n: "1" },
    ]);
    expect(await merged()).toEqual(merged003);
  });
});
