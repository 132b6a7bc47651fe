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
 * Migration 006 on a store made before it: `sessions`, `orders` and `vehicles` become one exact row per
 * entity, the partial rows are `*_partial`, and `*_current` keep answering as before. Embedded chDB, a store
 * of its own (one folder per process).
 */

const SESSION = "5e551000-0000-4000-8000-000000000006";
const ORDER = "0bde0000-0000-4000-8000-000000000006";
const VEHICLE = "7e41c1e0-0000-4000-8000-000000000006";
const DEVICE = "de71ce00-0000-4000-8000-000000000006";

let dataDir: string;
let before006: string;
let clickhouse: ClickHouseClient;

const rows = async (query: string) =>
  (await clickhouse.query({ query, format: "JSONEachRow" })).json<Record<string, unknown>>();

/** Partial rows in a fixed order, and the exact rows, under the names given. */
async function read(names: { sessions: string; orders: string; vehicles: string }) {
  return {
    sessions: await rows(
      `SELECT * FROM ${names.sessions} ORDER BY session_id, first_event_at, last_event_at`,
    ),
    orders: await rows(`SELECT * FROM ${names.orders} ORDER BY order_id, first_event_at, last_event_at`),
    vehicles: await rows(`SELECT * FROM ${names.vehicles} ORDER BY vehicle_id, first_seen_at, last_seen_at`),
  };
}

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), "packetpulse-silver-006-"));
  before006 = mkdtempSync(path.join(os.tmpdir(), "packetpulse-silver-001-005-"));
  for (const file of readdirSync(SILVER_MIGRATIONS_DIR).filter((name) => /^00[1-5]-/.test(name))) {
    cpSync(path.join(SILVER_MIGRATIONS_DIR, file), path.join(before006, file));
  }
  clickhouse = await openClickHouse(loadConfig({ PACKETPULSE_DATA_DIR: dataDir }).clickhouse);
});

afterAll(async () => {
  await clickhouse?.close();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(before006, { recursive: true, force: true });
});

describe("silver migration 006 (natural names)", () => {
  it("makes sessions, orders and vehicles one exact row per entity, keeps the partial rows as *_partial and *_current as aliases", async () => {
    // Prepare: a store at migration 005 (whose mutations need merges, so it comes first) with two partial rows per entity, as two batches leave them (merges
    // stopped, so they stay two), and a position delivered twice.
    await applyMigrations(clickhouse, { directory: before006, scope: "silver" });
    await clickhouse.command({ query: "SYSTEM STOP MERGES entities" });
    await clickhouse.command({ query: "SYSTEM STOP MERGES session_positions" });
    for (const [first, last, status, rank] of <[string, string, string, number][]>[
      ["2024-05-01 08:00:00.000", "2024-05-01 08:05:00.000", "started", 1],
      ["2024-05-01 08:05:10.000", "2024-05-01 08:20:00.500", "completed", 5],
    ]) {
      const started = status === "started";
      await clickhouse.command({
        query: `INSERT INTO entities (entity, id, session_id, device_id, vehicle_id, order_id, vehicle_type,
                  started_at, ended_at, created_at, delivered_at, first_event_at, last_event_at, last_received_at,
                  first_seen_at, last_seen_at, latest_status, last_position, last_session)
                SELECT entity, id, '${SESSION}', '${DEVICE}', '${VEHICLE}', '${ORDER}', ${started ? "'bike'" : "NULL"},
                  ${started ? `'${first}'` : "NULL"}, ${started ? "NULL" : `'${last}'`},
                  ${started ? `'${first}'` : "NULL"}, ${started ? "NULL" : `'${last}'`},
                  '${first}', '${last}', '${last}', '${first}', '${last}', ('${last}', ${rank}, '${status}'),
                  ('${last}', 37.98, 23.72), ('${last}', '${SESSION}', '${DEVICE}')
                FROM values('entity Enum8(\\'session\\' = 1, \\'order\\' = 2, \\'vehicle\\' = 3), id UUID',
                  ('session', '${SESSION}'), ('order', '${ORDER}'), ('vehicle', '${VEHICLE}'))`,
      });
    }
    for (let delivery = 0; delivery < 2; delivery++) {
      await clickhouse.command({
        query: `INSERT INTO session_positions (event_id, session_id, device_id, vehicle_id, order_id, occurred_at,
                  received_at, lat, lon)
                VALUES ('e0000000-0000-4000-8000-000000000061', '${SESSION}', '${DEVICE}', '${VEHICLE}', '${ORDER}',
                  '2024-05-01 08:01:00', '2024-05-01 08:01:01', 37.98, 23.72)`,
      });
    }
    const partialBefore = await read({ sessions: "sessions", orders: "orders", vehicles: "vehicles" });
    const exactBefore = await read({
      sessions: "sessions_current",
      orders: "orders_current",
      vehicles: "vehicles_current",
    });
    // What users met before: more sessions than there were.
    expect(partialBefore.sessions).toHaveLength(2);
    expect(exactBefore.sessions).toHaveLength(1);

    // Act
    const applied = await applyMigrations(clickhouse, { directory: SILVER_MIGRATIONS_DIR, scope: "silver" });

    // Assess: the natural names answer the exact rows, one per entity; the partial rows keep a name.
    expect(applied).toContainEqual({ version: 6, name: "natural-names" });
    expect(await rows("SELECT count() AS n FROM sessions")).toEqual([{ n: "1" }]);
    expect(await rows("SELECT count() AS n FROM orders")).toEqual([{ n: "1" }]);
    expect(await rows("SELECT count() AS n FROM vehicles")).toEqual([{ n: "1" }]);
    expect(await rows("SELECT count() AS n FROM session_movements")).toEqual([{ n: "1" }]);
    const exact = await read({ sessions: "sessions", orders: "orders", vehicles: "vehicles" });
    expect(exact).toEqual(exactBefore);
    expect(exact.sessions).toMatchObject([
      {
        session_id: SESSION,
        status: "completed",
        started_at: "2024-05-01T08:00:00.000Z",
        vehicle_type: "bike",
      },
    ]);
    expect(
      await read({ sessions: "sessions_current", orders: "orders_current", vehicles: "vehicles_current" }),
    ).toEqual(exactBefore);
    expect(
      await read({ sessions: "sessions_partial", orders: "orders_partial", vehicles: "vehicles_partial" }),
    ).toEqual(partialBefore);

    // Every statement can run again, as after an interruption, with the same answers.
    const statements = (await readMigrations(SILVER_MIGRATIONS_DIR)).find((m) => m.version === 6)!.statements;
    for (let from = 0; from < statements.length; from++) {
      for (const statement of statements.slice(from)) await clickhouse.command({ query: statement });
    }
    expect(await read({ sessions: "sessions", orders: "orders", vehicles: "vehicles" })).toEqual(exactBefore);
    expect(
      await read({ sessions: "sessions_partial", orders: "orders_partial", vehicles: "vehicles_partial" }),
    ).toEqual(partialBefore);
  }, 180_000);
});
