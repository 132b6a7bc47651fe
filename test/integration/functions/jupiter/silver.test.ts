import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ClickHouseClient } from "@clickhouse/client";
import type { Context } from "aws-lambda";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createJupiter, openSilverStore, SILVER_TABLES } from "#functions/jupiter/index.ts";
import { SILVER_MIGRATIONS_DIR } from "#functions/jupiter/store.ts";
import { applyMigrations, CLICKHOUSE_SETTINGS, readMigrations } from "#shared/clickhouse/index.ts";
import { loadConfig } from "#shared/config/index.ts";
import { occurredAtMs, v1EventId, validateV1 } from "#shared/events/index.ts";
import type { DeadLetter } from "#shared/lambda/index.ts";
import { closeStoresUnderTest, storeUnderTest } from "#test/helpers/clickhouse-store.ts";
import { waitUntil } from "#test/helpers/wait.ts";

/**
 * Jupiter against a real engine (embedded chDB). One chDB per test file (it binds one folder per process),
 * in a data folder outside the repository, as PACKETPULSE_DATA_DIR=/elsewhere would be.
 */

const FIXTURES = path.resolve(import.meta.dirname, "../../../../events/fixtures");
const EARTH_RADIUS_M = 6372797.560856; // ClickHouse's greatCircleDistance sphere

const haversine = (lon1: number, lat1: number, lon2: number, lat2: number) => {
  const rad = (d: number) => (d * Math.PI) / 180;
  const a =
    Math.sin(rad(lat2 - lat1) / 2) ** 2 +
    Math.cos(rad(lat1)) * Math.cos(rad(lat2)) * Math.sin(rad(lon2 - lon1) / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.sqrt(a));
};

interface TestRecord {
  value: string;
  headers?: Record<string, string>;
  timestamp?: number;
}

/** Lambda's Kafka event for records of one partition, offsets from `firstOffset`. */
function kafkaEvent(topic: string, records: TestRecord[], firstOffset = 0, partition = 0) {
  return {
    eventSource: "aws:kafka",
    records: {
      [`${topic}-${partition}`]: records.map((record, i) => ({
        topic,
        partition,
        offset: firstOffset + i,
        timestamp: record.timestamp ?? Date.parse("2024-05-01T12:00:00Z"),
        timestampType: "CREATE_TIME",
        key: Buffer.from("device").toString("base64"),
        value: Buffer.from(record.value).toString("base64"),
        headers: Object.entries(record.headers ?? {}).map(([name, value]) => ({
          [name]: [...Buffer.from(value)],
        })),
      })),
    },
  };
}

const v2Record = (event: Record<string, unknown>): TestRecord => ({
  value: JSON.stringify(event),
  headers: { event_id: String(event.event_id), schema_version: "2" },
});

const context = {} as Context;
let dataDir: string;
let clickhouse: ClickHouseClient;
let deadLetters: DeadLetter[];
let jupiter: ReturnType<typeof createJupiter>;

async function rows<T = Record<string, unknown>>(query: string): Promise<T[]> {
  return (await clickhouse.query({ query, format: "JSONEachRow" })).json<T>();
}

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), "packetpulse-jupiter-"));
  const config = loadConfig({ PACKETPULSE_DATA_DIR: dataDir });
  clickhouse = await openSilverStore(await storeUnderTest(config));
});

afterAll(async () => {
  await clickhouse?.close();
  await closeStoresUnderTest();
  rmSync(dataDir, { recursive: true, force: true });
});

beforeEach(async () => {
  for (const table of SILVER_TABLES) {
    await clickhouse.command({ query: `TRUNCATE TABLE ${table}` });
  }
  deadLetters = [];
  jupiter = createJupiter({
    clickhouse,
    deadLetter: async (letters) => {
      deadLetters.push(...letters);
    },
  });
});

describe("silver store", () => {
  it("lives in a data folder outside the repository, with the migrations recorded once", async () => {
    // Prepare
    const config = loadConfig({ PACKETPULSE_DATA_DIR: dataDir });

    // Act
    const again = await applyMigrations(clickhouse, { directory: SILVER_MIGRATIONS_DIR, scope: "silver" });

    // Assess
    expect(config.clickhouse).toEqual({
      backend: "embedded",
      path: path.join(dataDir, "clickhouse"),
      database: "packetpulse",
    });
    expect(path.relative(process.cwd(), dataDir).startsWith("..")).toBe(true);
    expect(again).toEqual([]);
    // Every migration of the folder, once (001 to 004 named, and those added since).
    const recorded = await rows("SELECT scope, version, name FROM schema_migrations FINAL ORDER BY version");
    expect(recorded.slice(0, 5)).toEqual([
      { scope: "silver", version: 1, name: "silver-tables" },
      { scope: "silver", version: 2, name: "silver-views" },
      { scope: "silver", version: 3, name: "one-entity-table" },
      { scope: "silver", version: 4, name: "positions-status-columns" },
      { scope: "silver", version: 5, name: "ingestion-time-and-log-position" },
    ]);
    expect(recorded).toEqual(
      (await readMigrations(SILVER_MIGRATIONS_DIR)).map(({ version, name }) => ({
        scope: "silver",
        version,
        name,
      })),
    );
    expect(await rows("SELECT currentDatabase() AS db")).toEqual([{ db: "packetpulse" }]);
  });

  it("runs every query with the platform's settings, and no insert inherits another's deduplication token", async () => {
    // Prepare: a table that drops a block whose token it has seen.
    await clickhouse.command({
      query:
        "CREATE TABLE IF NOT EXISTS token_probe (n UInt32) ENGINE = MergeTree ORDER BY n SETTINGS non_replicated_deduplication_window = 10",
    });
    await clickhouse.command({ query: "TRUNCATE TABLE token_probe" });

    // Act: an insert with a token, then two without one (they must not be taken for repeats of it).
    await clickhouse.insert({
      table: "token_probe",
      values: [{ n: 1 }],
      format: "JSONEachRow",
      clickhouse_settings: { insert_deduplication_token: "probe-1" },
    });
    await clickhouse.insert({ table: "token_probe", values: [{ n: 2 }], format: "JSONEachRow" });
    await clickhouse.insert({ table: "token_probe", values: [{ n: 3 }], format: "JSONEachRow" });
    const settings = await rows<Record<string, string>>(
      `SELECT ${Object.keys(CLICKHOUSE_SETTINGS)
        .map((name) => `getSetting('${name}') AS ${name}`)
        .join(", ")}`,
    );

    // Assess
    expect(await rows("SELECT n FROM token_probe ORDER BY n")).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    // ClickHouse reports boolean settings as true/false.
    const text = (value: unknown) => ({ "0": "false", "1": "true" })[String(value)] ?? String(value);
    const named = (entries: [string, unknown][]) => Object.fromEntries(entries.map(([k, v]) => [k, text(v)]));
    expect(named(Object.entries(settings[0]!))).toEqual(named(Object.entries(CLICKHOUSE_SETTINGS)));
    await clickhouse.command({ query: "DROP TABLE token_probe" });
  });
  it("answers a query while another statement is still running, on a second connection with the same settings", async () => {
    // Prepare: a statement that holds its connection for two seconds.
    const finished: string[] = [];
    const slow = rows("SELECT sleep(2) AS slept").then(() => finished.push("slow"));
    await waitUntil(
      async () =>
        (
          await rows<{ n: string }>(
            "SELECT count() AS n FROM system.processes WHERE query LIKE 'SELECT sleep(2) AS slept%'",
          )
        )[0]?.n === "1",
      "the slow statement to be running",
      10_000,
    );

    // Act
    const [probe] = await rows(
      "SELECT currentDatabase() AS db, getSetting('geotoh3_argument_order') AS h3, getSetting('date_time_input_format') AS dates",
    );
    finished.push("quick");
    await slow;

    // Assess: the quick query did not wait behind the slow one, and its connection is set up like the first.
    expect(finished).toEqual(["quick", "slow"]);
    expect(probe).toEqual({ db: "packetpulse", h3: "lon_lat", dates: "best_effort" });
  });
});

describe("hand-written session", () => {
  const ids = {
    device_id: "934b40e5-89b9-4513-b11a-4d4eb90c8a2a",
    vehicle_id: "f9200263-bc90-40fd-adb3-e8915f47dc48",
    session_id: "a3e2bbc6-61a2-4ca5-9639-3323bbbd5f04",
    order_id: "e60ae3f4-4206-4bc6-b0f4-675a2c7e6e92",
  };
  const started = {
    event_id: "bdfa1c55-8c2d-47b5-9c7f-8bad6b45a4f9",
    event_type: "session_started",
    schema_version: 2,
    occurred_at: "2024-05-01T10:20:00Z",
    ...ids,
    pickup_lat: 37.9,
    pickup_lon: 23.7,
    dropoff_lat: 37.905,
    dropoff_lon: 23.7,
    vehicle_type: "scooter",
    promised_at: "2024-05-01T10:50:00Z",
  };
  // Pings due north along the 23.7° meridian, 0.001° of latitude apart: 111.226 m each on ClickHouse's
  // sphere (R·π/180·0.001), one every 20 s.
  const ping = (n: number, second: number) => ({
    event_id: `cce269e1-3260-44ba-a101-447d6aa4d${String(n).padStart(3, "0")}`,
    event_type: "location_ping",
    schema_version: 2,
    occurred_at: `2024-05-01T10:2${1 + Math.floor(second / 60)}:${String(second % 60).padStart(2, "0")}Z`,
    ...ids,
    lat: 37.9 + n * 0.001,
    lon: 23.7,
    speed_kmh: 20,
    heading_deg: 0,
    accuracy_m: 5,
  });
  const status = (n: number, at: string, value: string, extra: Record<string, unknown> = {}) => ({
    event_id: `2b267831-ced2-4c62-8aa5-335f448db${String(n).padStart(3, "0")}`,
    event_type: "status_changed",
    schema_version: 2,
    occurred_at: at,
    ...ids,
    status: value,
    ...extra,
  });
  const STEP_M = (EARTH_RADIUS_M * Math.PI * 0.001) / 180;

  it("lands out-of-order and duplicate events in every table with distances to the metre", async () => {
    // Prepare: ping 2 arrives after ping 3, ping 1 twice (in two batches), the status first.
    const batch1 = [
      v2Record(status(1, "2024-05-01T10:22:00Z", "picked_up")),
      v2Record(started),
      v2Record(ping(0, 0)),
      v2Record(ping(1, 20)),
      v2Record(ping(3, 60)),
    ];
    const batch2 = [v2Record(ping(2, 40)), v2Record(ping(1, 20)), v2Record(ping(4, 80))];
    const batch3 = [
      v2Record(status(2, "2024-05-01T10:23:00Z", "completed")),
      v2Record(status(3, "2024-05-01T10:22:30Z", "en_route")),
    ];

    // Act
    await jupiter(kafkaEvent("sessions", batch1, 0), context);
    await jupiter(kafkaEvent("sessions", batch2, 5), context);
    const response = await jupiter(kafkaEvent("sessions", batch3, 8), context);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(deadLetters).toEqual([]);
    const movements = await rows<{
      event_id: string;
      distance_m: number | null;
      computed_speed_kmh: number | null;
    }>("SELECT event_id, distance_m, computed_speed_kmh FROM session_movements ORDER BY occurred_at");
    expect(movements.map((m) => m.event_id)).toEqual([0, 1, 2, 3, 4].map((n) => ping(n, 0).event_id));
    expect(movements[0]!.distance_m).toBeNull();
    for (const movement of movements.slice(1)) {
      expect(Math.abs(movement.distance_m! - STEP_M)).toBeLessThan(0.5);
      expect(Math.abs(movement.computed_speed_kmh! - (STEP_M / 20) * 3.6)).toBeLessThan(0.1);
    }
    expect(await rows("SELECT count() AS n FROM session_positions FINAL")).toEqual([{ n: "5" }]);
    expect(await rows("SELECT * EXCEPT (last_received_at) FROM sessions_current")).toEqual([
      {
        ...ids,
        vehicle_type: "scooter",
        status: "completed",
        status_at: "2024-05-01T10:23:00.000Z",
        pickup_lat: 37.9,
        pickup_lon: 23.7,
        dropoff_lat: 37.905,
        dropoff_lon: 23.7,
        started_at: "2024-05-01T10:20:00.000Z",
        promised_at: "2024-05-01T10:50:00.000Z",
        ended_at: "2024-05-01T10:23:00.000Z",
        first_event_at: "2024-05-01T10:20:00.000Z",
        last_event_at: "2024-05-01T10:23:00.000Z",
        last_position_at: "2024-05-01T10:22:20.000Z",
        last_lat: ping(4, 80).lat,
        last_lon: 23.7,
      },
    ]);
    expect(
      await rows(
        "SELECT order_id, status, created_at, picked_up_at, delivered_at, failed_at, cancelled_at FROM orders_current",
      ),
    ).toEqual([
      {
        order_id: ids.order_id,
        status: "completed",
        created_at: "2024-05-01T10:20:00.000Z",
        picked_up_at: "2024-05-01T10:22:00.000Z",
        delivered_at: "2024-05-01T10:23:00.000Z",
        failed_at: null,
        cancelled_at: null,
      },
    ]);
    expect(await rows("SELECT * FROM vehicles_current")).toEqual([
      {
        vehicle_id: ids.vehicle_id,
        vehicle_type: "scooter",
        first_seen_at: "2024-05-01T10:20:00.000Z",
        last_seen_at: "2024-05-01T10:23:00.000Z",
        last_position_at: "2024-05-01T10:22:20.000Z",
        last_lat: ping(4, 80).lat,
        last_lon: 23.7,
        last_session_id: ids.session_id,
        last_device_id: ids.device_id,
      },
    ]);
  });

  it("puts each ping in the H3 resolution-9 cell that contains it (lon, lat order)", async () => {
    // Prepare
    const batch = [v2Record(ping(0, 0))];

    // Act
    await jupiter(kafkaEvent("sessions", batch, 100), context);

    // Assess: the cell's centre is within a resolution-9 cell's radius (~200 m) of the ping
    const [cell] = await rows<{ d: number }>(
      "SELECT greatCircleDistance(lon, lat, h3ToGeo(h3_r9).longitude, h3ToGeo(h3_r9).latitude) AS d FROM session_movements",
    );
    expect(cell!.d).toBeLessThan(200);
  });

  it("dead-letters a poison record with its reason and inserts the rest of the batch", async () => {
    // Prepare
    const badPing = { ...ping(9, 0), speed_kmh: 310 };
    const batch = [v2Record(started), { value: "{not json" }, v2Record(badPing), v2Record(ping(0, 0))];

    // Act
    const response = await jupiter(kafkaEvent("sessions", batch, 200), context);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(deadLetters.map((l) => [l.record.offset, l.issues[0]?.rule, l.issues[0]?.field])).toEqual([
      [201, "invalid", ""],
      [202, "range", "speed_kmh"],
    ]);
    expect(await rows("SELECT count() AS n FROM session_movements")).toEqual([{ n: "1" }]);
    expect(await rows("SELECT count() AS n FROM sessions_current")).toEqual([{ n: "1" }]);
  });

  it("records a failed order with its reason", async () => {
    // Prepare
    const reason = "Customer not reachable at the door";
    const batch = [v2Record(started), v2Record(status(7, "2024-05-01T10:40:00Z", "failed", { reason }))];

    // Act
    await jupiter(kafkaEvent("sessions", batch, 300), context);

    // Assess
    expect(await rows("SELECT status, failed_at, delivered_at, end_reason FROM orders_current")).toEqual([
      { status: "failed", failed_at: "2024-05-01T10:40:00.000Z", delivered_at: null, end_reason: reason },
    ]);
  });
});

const readFixture = (name: string) =>
  readFileSync(path.join(FIXTURES, name), "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "");

/** Every physical row of every silver table, in a fixed order (no FINAL, no merge: what is stored). */
async function snapshot() {
  return {
    positions: await rows("SELECT * FROM session_positions ORDER BY event_id, received_at"),
    sessions: await rows("SELECT * FROM sessions_partial ORDER BY session_id, first_event_at, last_event_at"),
    orders: await rows("SELECT * FROM orders_partial ORDER BY order_id, first_event_at, last_event_at"),
    vehicles: await rows("SELECT * FROM vehicles_partial ORDER BY vehicle_id, first_seen_at, last_seen_at"),
  };
}

describe("Mars fixture streams", () => {
  const v2Lines = readFixture("athens-seed42-v2.ndjson");
  const v1Lines = readFixture("athens-seed42-v1.ndjson");
  const v2Events = v2Lines.map(
    (line) => JSON.parse(line) as Record<string, unknown> & { event_type: string },
  );

  /** Splits records into Kafka batches of `size`, consecutive offsets. */
  const batches = (records: TestRecord[], size: number) =>
    Array.from({ length: Math.ceil(records.length / size) }, (_, i) =>
      kafkaEvent("sessions", records.slice(i * size, (i + 1) * size), i * size),
    );

  it("gives the expected rows for the v2 stream, and the same tables when delivered twice", async () => {
    // Prepare
    const records = v2Lines.map((line) => ({ value: line, headers: { schema_version: "2" } }));
    const pings = v2Events.filter((e) => e.event_type === "location_ping");
    const distinct = (key: string) => new Set(v2Events.map((e) => String(e[key]))).size;
    const expected = new Map<string, number | null>();
    const bySession = new Map<string, typeof pings>();
    for (const p of pings)
      bySession.set(String(p.session_id), [...(bySession.get(String(p.session_id)) ?? []), p]);
    for (const sessionPings of bySession.values()) {
      sessionPings.sort(
        (a, b) =>
          occurredAtMs(a as never) - occurredAtMs(b as never) ||
          String(a.event_id).localeCompare(String(b.event_id)),
      );
      sessionPings.forEach((p, i) => {
        const previous = sessionPings[i - 1];
        expected.set(
          String(p.event_id),
          previous
            ? haversine(Number(previous.lon), Number(previous.lat), Number(p.lon), Number(p.lat))
            : null,
        );
      });
    }

    // Background merges would collapse duplicates and hide a double insert: stop them for this test.
    await clickhouse.command({ query: "SYSTEM STOP MERGES" });

    // Act
    for (const event of batches(records, 100)) await jupiter(event, context);
    const once = await snapshot();
    for (const event of batches(records, 100)) await jupiter(event, context);
    const twice = await snapshot();
    await clickhouse.command({ query: "SYSTEM START MERGES" });

    // Assess
    expect(deadLetters).toEqual([]);
    expect(twice).toEqual(once);
    expect(once.positions.length).toBe(pings.length);
    expect(await rows("SELECT count() AS n FROM session_movements")).toEqual([{ n: String(pings.length) }]);
    expect(await rows("SELECT count() AS n FROM sessions_current")).toEqual([
      { n: String(distinct("session_id")) },
    ]);
    expect(await rows("SELECT count() AS n FROM orders_current")).toEqual([
      { n: String(distinct("order_id")) },
    ]);
    expect(await rows("SELECT count() AS n FROM vehicles_current")).toEqual([
      { n: String(distinct("vehicle_id")) },
    ]);
    const movements = await rows<{ event_id: string; distance_m: number | null }>(
      "SELECT event_id, distance_m FROM session_movements",
    );
    for (const movement of movements) {
      const want = expected.get(movement.event_id);
      if (want === null) expect(movement.distance_m).toBeNull();
      else expect(Math.abs(movement.distance_m! - want!)).toBeLessThan(1);
    }
    const delivered = v2Events.filter((e) => e.event_type === "status_changed" && e.status === "completed");
    expect(await rows("SELECT count() AS n FROM orders_current WHERE delivered_at IS NOT NULL")).toEqual([
      { n: String(new Set(delivered.map((e) => e.order_id)).size) },
    ]);
  });

  it("maps the v1 stream to movements, sessions and orders, with event ids from the header or derived", async () => {
    // Prepare: half the records carry the event_id header (as Venus writes it), half do not.
    const messages = v1Lines.map((line) => {
      const verdict = validateV1(JSON.parse(line), { now: new Date("2030-01-01T00:00:00Z") });
      if (!verdict.ok) throw new Error(`fixture line is not a valid v1 message: ${line}`);
      return verdict.value;
    });
    const records = v1Lines.map(
      (line, i): TestRecord => ({
        value: line,
        headers:
          i % 2 === 0 ? { schema_version: "1", event_id: v1EventId(messages[i]!) } : { schema_version: "1" },
      }),
    );
    const ids = new Set(messages.map((m) => v1EventId(m)));

    // Act
    for (const event of batches(records, 100)) await jupiter(event, context);

    // Assess
    expect(deadLetters).toEqual([]);
    const movementIds = await rows<{ event_id: string }>("SELECT event_id FROM session_movements");
    expect(new Set(movementIds.map((m) => m.event_id))).toEqual(ids);
    expect(movementIds.length).toBe(ids.size);
    expect(await rows("SELECT count() AS n FROM sessions_current")).toEqual([
      { n: String(new Set(messages.map((m) => m.session_id)).size) },
    ]);
    const completed = new Set(messages.filter((m) => m.status === "completed").map((m) => m.order_id));
    expect(await rows("SELECT count() AS n FROM orders_current WHERE delivered_at IS NOT NULL")).toEqual([
      { n: String(completed.size) },
    ]);
  });
});

describe("a batch shared by worker threads", () => {
  const snapshot = async () => ({
    movements: await rows(
      "SELECT event_id, session_id, occurred_at, received_at, lat, lon, h3_r9, distance_m FROM session_movements ORDER BY event_id",
    ),
    sessions: await rows("SELECT * FROM sessions_current ORDER BY session_id"),
    orders: await rows("SELECT * FROM orders_current ORDER BY order_id"),
    vehicles: await rows("SELECT * FROM vehicles_current ORDER BY vehicle_id"),
  });

  it("gives the same silver tables and dead letters as one thread", async () => {
    // Prepare: a Mars day in one 10,000-record batch (chunks of 5,000 on two workers), a poison record on each
    // side of the cut, and an event delivered in both chunks.
    const { simulate } = await import("#mars/index.ts");
    const records: TestRecord[] = [];
    for (const { event, atMs } of simulate({
      seed: 7,
      sessions: 60,
      startMs: Date.parse("2024-05-01T08:00:00Z"),
    })) {
      records.push({ ...v2Record(event), timestamp: atMs + 500 });
      if (records.length === 9_997) break;
    }
    records.splice(1_000, 0, { value: "{not json", headers: { schema_version: "2" } });
    records.splice(7_000, 0, { value: JSON.stringify({ event_type: "location_ping" }) });
    records.push(records[10]!);
    expect(records).toHaveLength(10_000);
    const { openSilverPool } = await import("#functions/jupiter/index.ts");
    const pool = await openSilverPool(3);
    const threaded = createJupiter({
      clickhouse,
      pool,
      deadLetter: async (letters) => void deadLetters.push(...letters),
    });

    // Act: this thread, then (tables emptied, offsets moved so the dedup token differs) two workers.
    await jupiter(kafkaEvent("sessions", records), context);
    const inline = {
      silver: await snapshot(),
      deadLetters: deadLetters.map((d) => [d.record.offset, d.issues]),
    };
    for (const table of SILVER_TABLES) {
      await clickhouse.command({ query: `TRUNCATE TABLE ${table}` });
    }
    deadLetters = [];
    await threaded(kafkaEvent("sessions", records, 100_000), context);
    const shared = {
      silver: await snapshot(),
      deadLetters: deadLetters.map((d) => [d.record.offset - 100_000, d.issues]),
    };
    const threads = pool.threads;
    await pool.close();

    // Assess
    expect(threads).toBe(3);
    expect(inline.deadLetters.map(([offset]) => offset)).toEqual([1_000, 7_000]);
    expect(shared).toEqual(inline);
    expect(inline.silver.movements.length).toBeGreaterThan(9_000);
    const sessionIds = new Set(
      records
        .map(
          (r) =>
            (JSON.parse(r.value.startsWith("{not") ? "{}" : r.value) as { session_id?: string }).session_id,
        )
        .filter(Boolean),
    );
    expect(inline.silver.sessions.length).toBe(sessionIds.size);
  });
});
