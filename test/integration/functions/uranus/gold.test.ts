import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parseModel } from "#functions/uranus/models.ts";
import {
  AS_OF,
  type FixtureBatch,
  goldFixtureBatches,
  SESSION,
  VEHICLE,
} from "#test/fixtures/uranus-gold-sessions.ts";
import {
  GOLD_TABLES,
  type GoldTestStore,
  KM_PER_DEGREE,
  openGoldTestStore,
} from "#test/helpers/uranus-gold.ts";

/**
 * Every gold model on the hand-built week of test/fixtures/uranus-gold-sessions.ts, fed through Jupiter's
 * real handler into embedded chDB. Expected values are worked out by hand in the comments: paths run along
 * meridians, so a path is its latitude change (°) × 111.195052 km (ClickHouse's sphere).
 */

const km = (degrees: number) => degrees * KM_PER_DEGREE;

/** Rounds every number to 5 decimals (10 m in km; gold sums whole millimetres), so floats compare exactly. */
function rounded<T>(value: T): T {
  if (typeof value === "number") return (Math.round(value * 1e5) / 1e5) as T;
  if (Array.isArray(value)) return value.map(rounded) as T;
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rounded(v)])) as T;
  }
  return value;
}
const expectRows = (actual: unknown, expected: unknown) => expect(rounded(actual)).toEqual(rounded(expected));

let store: GoldTestStore;

beforeAll(async () => {
  store = await openGoldTestStore();
});

afterAll(async () => {
  await store?.close();
});

beforeEach(async () => {
  await store.reset();
});

async function snapshot() {
  const tables: Record<string, unknown[]> = {};
  for (const table of GOLD_TABLES) tables[table] = await store.table(table);
  return tables;
}

describe("gold models on the hand-built week", () => {
  beforeEach(async () => {
    // Prepare
    await store.feed(goldFixtureBatches());
    const result = await store.run({ asOf: new Date(AS_OF), mode: "full" });
    expect(store.deadLetters).toEqual([]);
    expect(result.models.map((m) => [m.model, m.outcome, m.error])).toEqual(
      result.models.map((m) => [m.model, "success", ""]),
    );
  });

  it("session_summary: one row per session with path length, durations and the promise", async () => {
    // Act
    const rows = await store.rows(
      `SELECT session_id, vehicle_id, status, start_time, end_time, duration_seconds, ping_count, total_distance_km,
              avg_speed_kmh, current_speed_kmh, promised_at, on_time, delay_seconds, service_seconds
       FROM session_summary ORDER BY session_id`,
    );

    // Assess
    const row = (
      name: keyof typeof SESSION,
      vehicle: keyof typeof VEHICLE,
      status: string,
      [start, end, duration]: [string, string, number],
      pings: number,
      pathKm: number,
      [speed, current]: [number | null, number | null],
      [promised, onTime, delay, service]: [string | null, number | null, number | null, number | null],
    ) => ({
      session_id: SESSION[name],
      vehicle_id: VEHICLE[vehicle],
      status,
      start_time: start,
      end_time: end,
      duration_seconds: duration,
      ping_count: String(pings),
      total_distance_km: pathKm,
      avg_speed_kmh: speed,
      current_speed_kmh: current,
      promised_at: promised,
      on_time: onTime,
      delay_seconds: delay,
      service_seconds: service,
    });
    expectRows(rows, [
      // A: pings 37.90 → 37.91 → 37.92 (late) → 37.93, p2 twice: 4 pings, 0.03°; 20 min → 3.335852 km / ⅓ h.
      // Completed 10:20, promised 10:40: on time, 1,200 s early; at the drop-off from 10:15: 300 s of service.
      row(
        "A",
        "V1",
        "completed",
        ["2024-05-05T10:00:00.000Z", "2024-05-05T10:20:00.000Z", 1200],
        4,
        km(0.03),
        [km(0.03) * 3, 12],
        ["2024-05-05T10:40:00.000Z", 1, -1200, 300],
      ),
      // B: failed at 10:30 — its end, no on-time verdict.
      row(
        "B",
        "V1",
        "failed",
        ["2024-05-05T10:10:00.000Z", "2024-05-05T10:30:00.000Z", 1200],
        2,
        km(0.01),
        [km(0.01) * 3, 10],
        ["2024-05-05T10:45:00.000Z", null, null, null],
      ),
      // C: across midnight, completed 00:20 against a promise of 00:10: 600 s late; at the drop-off 00:14.
      row(
        "C",
        "V2",
        "completed",
        ["2024-05-05T23:50:00.000Z", "2024-05-06T00:20:00.000Z", 1800],
        4,
        km(0.02),
        [km(0.02) * 2, 9],
        ["2024-05-06T00:10:00.000Z", 0, 600, 360],
      ),
      // D: one ping, cancelled at 09:05.
      row(
        "D",
        "V2",
        "cancelled",
        ["2024-05-06T09:00:00.000Z", "2024-05-06T09:05:00.000Z", 300],
        1,
        0,
        [0, 5],
        ["2024-05-06T09:30:00.000Z", null, null, null],
      ),
      // E (v1): the resent frame counts once; no promise; speed from the last two fixes (0.01° in 6 min).
      row(
        "E",
        "V3",
        "completed",
        ["2024-05-06T12:00:00.000Z", "2024-05-06T12:18:00.000Z", 1080],
        4,
        km(0.03),
        [km(0.03) / 0.3, km(0.01) * 10],
        [null, null, null, 0],
      ),
      // F: unfinished: ends at its last event (13:10).
      row(
        "F",
        "V3",
        "picked_up",
        ["2024-05-06T13:00:00.000Z", "2024-05-06T13:10:00.000Z", 600],
        3,
        km(0.02),
        [km(0.02) * 6, 18],
        ["2024-05-06T13:45:00.000Z", null, null, null],
      ),
      row(
        "G",
        "V4",
        "started",
        ["2024-05-06T12:20:00.000Z", "2024-05-06T12:25:00.000Z", 300],
        2,
        km(0.005),
        [km(0.005) * 12, 8],
        ["2024-05-06T12:50:00.000Z", null, null, null],
      ),
      // H: 3 h; completed 13:00 against 11:00 (7,200 s late); at the drop-off from 10:10 (10,200 s).
      row(
        "H",
        "V5",
        "completed",
        ["2024-05-06T10:00:00.000Z", "2024-05-06T13:00:00.000Z", 10800],
        2,
        km(0.01),
        [km(0.01) / 3, 0],
        ["2024-05-06T11:00:00.000Z", 0, 7200, 10200],
      ),
    ]);
  });

  it("active_sessions: F only, with the distance to its drop-off and an ETA from its average speed", async () => {
    // Act
    const rows = await store.table("active_sessions");

    // Assess: F at 37.97 heading for 38.00: 0.03° left at 0.02°/10 min → 15 min → 13:10 + 15 min = 13:25.
    expectRows(rows, [
      {
        session_id: SESSION.F,
        vehicle_id: VEHICLE.V3,
        device_id: "de71ce00-0000-4000-8000-000000000006",
        order_id: "0bde0000-0000-4000-8000-000000000006",
        status: "picked_up",
        start_time: "2024-05-06T13:00:00.000Z",
        last_heard_at: "2024-05-06T13:10:00.000Z",
        seconds_since_heard: 300,
        last_lat: 37.97,
        last_lon: 23.7,
        dropoff_lat: 38,
        dropoff_lon: 23.7,
        distance_remaining_km: km(0.03),
        total_distance_km: km(0.02),
        current_speed_kmh: 18,
        avg_speed_kmh: km(0.02) * 6,
        eta_speed_kmh: km(0.02) * 6,
        eta_seconds: 900,
        eta_at: "2024-05-06T13:25:00.000Z",
        promised_at: "2024-05-06T13:45:00.000Z",
        predicted_late: 0,
        as_of: AS_OF,
      },
    ]);
  });

  it("fleet_summary: trips, path km and active / idle / offline at 13:15", async () => {
    // Act
    const rows = await store.rows(
      `SELECT vehicle_id, sessions, completed_trips, failed_trips, cancelled_trips, total_distance_km,
              first_seen_at, last_seen_at, seconds_since_seen, active_sessions, status
       FROM fleet_summary ORDER BY vehicle_id`,
    );

    // Assess
    const vehicle = (
      name: keyof typeof VEHICLE,
      trips: [number, number, number, number],
      pathKm: number,
      seen: [string, string, number],
      active: number,
      status: string,
    ) => ({
      vehicle_id: VEHICLE[name],
      sessions: String(trips[0]),
      completed_trips: String(trips[1]),
      failed_trips: String(trips[2]),
      cancelled_trips: String(trips[3]),
      total_distance_km: pathKm,
      first_seen_at: seen[0],
      last_seen_at: seen[1],
      seconds_since_seen: seen[2],
      active_sessions: String(active),
      status,
    });
    expectRows(rows, [
      // V1: A and B, last heard 10:30 the day before.
      vehicle(
        "V1",
        [2, 1, 1, 0],
        km(0.04),
        ["2024-05-05T10:00:00.000Z", "2024-05-05T10:30:00.000Z", 96300],
        0,
        "offline",
      ),
      vehicle(
        "V2",
        [2, 1, 0, 1],
        km(0.02),
        ["2024-05-05T23:50:00.000Z", "2024-05-06T09:05:00.000Z", 15000],
        0,
        "offline",
      ),
      // V3: E (v1) and F (active).
      vehicle(
        "V3",
        [2, 1, 0, 0],
        km(0.05),
        ["2024-05-06T12:00:00.000Z", "2024-05-06T13:10:00.000Z", 300],
        1,
        "active",
      ),
      // V4: G not heard for 50 min (> 30): offline although its session never ended.
      vehicle(
        "V4",
        [1, 0, 0, 0],
        km(0.005),
        ["2024-05-06T12:20:00.000Z", "2024-05-06T12:25:00.000Z", 3000],
        0,
        "offline",
      ),
      // V5: H completed 15 min ago: idle.
      vehicle(
        "V5",
        [1, 1, 0, 0],
        km(0.01),
        ["2024-05-06T10:00:00.000Z", "2024-05-06T13:00:00.000Z", 900],
        0,
        "idle",
      ),
    ]);
  });

  it("kpi_aggregates: by day, ISO week and month of the session's start", async () => {
    // Act
    const rows = await store.rows(
      `SELECT period, period_start, period_end, sessions_started, sessions_completed, sessions_failed,
              sessions_cancelled, completion_rate, avg_delivery_seconds, p50_delivery_seconds,
              p90_delivery_seconds, p99_delivery_seconds, total_distance_km, avg_distance_km, avg_speed_kmh,
              sessions_with_promise, sessions_on_time, on_time_rate
       FROM kpi_aggregates ORDER BY period, period_start`,
    );

    // Assess
    const kpi = (
      [period, start, end]: [string, string, string],
      [started, completed, failed, cancelled]: [number, number, number, number],
      completionRate: number,
      [avg, p50, p90, p99]: [number, number, number, number],
      [totalKm, avgKm, speed]: [number, number, number],
      [promised, onTime, onTimeRate]: [number, number, number],
    ) => ({
      period,
      period_start: start,
      period_end: end,
      sessions_started: String(started),
      sessions_completed: String(completed),
      sessions_failed: String(failed),
      sessions_cancelled: String(cancelled),
      completion_rate: completionRate,
      avg_delivery_seconds: avg,
      p50_delivery_seconds: p50,
      p90_delivery_seconds: p90,
      p99_delivery_seconds: p99,
      total_distance_km: totalKm,
      avg_distance_km: avgKm,
      avg_speed_kmh: speed,
      sessions_with_promise: String(promised),
      sessions_on_time: String(onTime),
      on_time_rate: onTimeRate,
    });
    // Sunday: A, B, C (C ends on Monday but started Sunday). Completed durations [1200, 1800]: the
    // p-quantiles take the value at 0-based position ⌊q·n⌋ of the sorted list → 1800. Speed: completed
    // 0.05° in 3,000 s.
    const sunday = (period: string, start: string, end: string) =>
      kpi(
        [period, start, end],
        [3, 2, 1, 0],
        2 / 3,
        [1500, 1800, 1800, 1800],
        [km(0.06), km(0.02), km(0.05) / (3000 / 3600)],
        [2, 1, 0.5],
      );
    // Monday: D, E, F, G, H. Completed E (1,080 s) and H (10,800 s); only H had a promise, missed.
    const monday = (period: string, start: string, end: string) =>
      kpi(
        [period, start, end],
        [5, 2, 0, 1],
        2 / 3,
        [5940, 10800, 10800, 10800],
        [km(0.065), km(0.013), km(0.04) / (11880 / 3600)],
        [1, 0, 0],
      );
    expectRows(rows, [
      sunday("day", "2024-05-05", "2024-05-06"),
      monday("day", "2024-05-06", "2024-05-07"),
      // May: all eight. Completed [1080, 1200, 1800, 10800]: p50 → position 2 → 1800; p90, p99 → 10800.
      kpi(
        ["month", "2024-05-01", "2024-06-01"],
        [8, 4, 1, 1],
        4 / 6,
        [3720, 1800, 10800, 10800],
        [km(0.125), km(0.125) / 8, km(0.09) / (14880 / 3600)],
        [3, 1, 1 / 3],
      ),
      // ISO weeks start on Monday: Sunday 2024-05-05 belongs to the week of Monday 2024-04-29.
      sunday("week", "2024-04-29", "2024-05-06"),
      monday("week", "2024-05-06", "2024-05-13"),
    ]);
  });

  it("hourly_demand: 24 hours per day, the peak hour marked", async () => {
    // Act
    const rows = await store.table<{ day: string; sessions_started: string }>("hourly_demand");
    const busy = await store.rows(
      "SELECT day, hour, sessions_started, sessions_completed, is_peak_hour FROM hourly_demand WHERE sessions_started > 0 ORDER BY day, hour",
    );

    // Assess
    expect(rows.length).toBe(48);
    expect(busy).toEqual([
      { day: "2024-05-05", hour: 10, sessions_started: "2", sessions_completed: "1", is_peak_hour: 1 },
      { day: "2024-05-05", hour: 23, sessions_started: "1", sessions_completed: "1", is_peak_hour: 0 },
      { day: "2024-05-06", hour: 9, sessions_started: "1", sessions_completed: "0", is_peak_hour: 0 },
      { day: "2024-05-06", hour: 10, sessions_started: "1", sessions_completed: "1", is_peak_hour: 0 },
      { day: "2024-05-06", hour: 12, sessions_started: "2", sessions_completed: "1", is_peak_hour: 1 },
      { day: "2024-05-06", hour: 13, sessions_started: "1", sessions_completed: "0", is_peak_hour: 0 },
    ]);
  });

  it("delivery_duration_buckets: completed sessions in [lower, upper) minute buckets", async () => {
    // Act
    const rows = await store.rows(
      "SELECT day, bucket, min_minutes, max_minutes, sessions, share FROM delivery_duration_buckets ORDER BY day, bucket_order",
    );

    // Assess: Sunday A 20 min, C exactly 30 min (→ 30–60); Monday E 18 min, H 180 min.
    const buckets = (day: string, counts: number[]) =>
      ["0-5 min", "5-15 min", "15-30 min", "30-60 min", "60-120 min", "120+ min"].map((bucket, i) => ({
        day,
        bucket,
        min_minutes: [0, 5, 15, 30, 60, 120][i],
        max_minutes: [5, 15, 30, 60, 120, null][i],
        sessions: String(counts[i]),
        share: counts[i]! / 2,
      }));
    expect(rows).toEqual([
      ...buckets("2024-05-05", [0, 0, 1, 1, 0, 0]),
      ...buckets("2024-05-06", [0, 0, 1, 0, 0, 1]),
    ]);
  });

  it("delay_service_time: outliers capped at 90 and 30 minutes before averaging", async () => {
    // Act
    const rows = await store.table("delay_service_time");

    // Assess
    expectRows(rows, [
      // A −20 min, C +10 min; service A 5, C 6 min.
      {
        day: "2024-05-05",
        sessions_completed: "2",
        sessions_with_promise: "2",
        sessions_late: "1",
        avg_delay_minutes: -5,
        avg_delay_minutes_uncapped: -5,
        delay_outliers_capped: "0",
        sessions_with_service_time: "2",
        avg_service_minutes: 5.5,
        avg_service_minutes_uncapped: 5.5,
        service_outliers_capped: "0",
      },
      // H 120 min late → 90; service E 0, H 170 → 30: (0 + 30) / 2.
      {
        day: "2024-05-06",
        sessions_completed: "2",
        sessions_with_promise: "1",
        sessions_late: "1",
        avg_delay_minutes: 90,
        avg_delay_minutes_uncapped: 120,
        delay_outliers_capped: "1",
        sessions_with_service_time: "2",
        avg_service_minutes: 15,
        avg_service_minutes_uncapped: 85,
        service_outliers_capped: "1",
      },
    ]);
  });

  it("courier_scorecards: rates, km, active hours as a union of sessions, and the weighted score", async () => {
    // Act
    const rows = await store.rows(
      `SELECT vehicle_id, sessions, completion_rate, on_time_rate, total_distance_km, active_hours,
              deliveries_per_active_hour, productivity, score
       FROM courier_scorecards ORDER BY vehicle_id`,
    );

    // Assess
    const card = (
      name: keyof typeof VEHICLE,
      sessions: number,
      [completion, onTime]: [number | null, number | null],
      pathKm: number,
      [hours, perHour, productivity]: [number, number, number],
      score: number,
    ) => ({
      vehicle_id: VEHICLE[name],
      sessions: String(sessions),
      completion_rate: completion,
      on_time_rate: onTime,
      total_distance_km: pathKm,
      active_hours: hours,
      deliveries_per_active_hour: perHour,
      productivity,
      score,
    });
    expectRows(rows, [
      // V1: A 10:00–10:20 and B 10:10–10:30 overlap: 30 min active. 100·(0.4·0.5 + 0.4·1 + 0.2·1) = 80.
      card("V1", 2, [0.5, 1], km(0.04), [0.5, 2, 1], 80),
      // V2: 30 + 5 min; 1/(35/60) = 1.714 per hour → 0.857. 100·(0.2 + 0 + 0.2·0.857) = 37.1.
      card("V2", 2, [0.5, 0], km(0.02), [35 / 60, 60 / 35, 30 / 35], 37.1),
      // V3: no promise (v1 E, unfinished F): on-time left out, weights 0.4 + 0.2 → 100.
      card("V3", 2, [1, null], km(0.05), [28 / 60, 60 / 28, 1], 100),
      // V4: nothing ended; productivity 0 is the only component.
      card("V4", 1, [null, null], km(0.005), [5 / 60, 0, 0], 0),
      // V5: 3 h, one late delivery: 100·(0.4 + 0 + 0.2·(1/3)/2) = 43.3.
      card("V5", 1, [1, 0], km(0.01), [3, 1 / 3, 1 / 6], 43.3),
    ]);
  });

  it("demand_heatmap: every pick-up and drop-off in the resolution-8 cell that contains it (lon, lat order)", async () => {
    // Act
    const cells = await store.table<{
      day: string;
      h3_index: string;
      cell_lat: number;
      cell_lon: number;
      pickups: string;
      dropoffs: string;
    }>("demand_heatmap");
    const distances = await store.rows<{ role: string; far_m: number }>(
      `SELECT role, max(greatCircleDistance(lon, lat, h3ToGeo(geoToH3(lon, lat, 8)).longitude,
                                            h3ToGeo(geoToH3(lon, lat, 8)).latitude)) AS far_m
       FROM (SELECT 'pickup' AS role, assumeNotNull(pickup_lon) AS lon, assumeNotNull(pickup_lat) AS lat FROM session_summary
             UNION ALL SELECT 'dropoff', assumeNotNull(dropoff_lon), assumeNotNull(dropoff_lat) FROM session_summary)
       GROUP BY role ORDER BY role`,
    );

    // Assess: 3 sessions on Sunday, 5 on Monday, each point in its own cell; cell centres in Athens.
    const sum = (day: string, key: "pickups" | "dropoffs") =>
      cells.filter((c) => c.day === day).reduce((n, c) => n + Number(c[key]), 0);
    expect([sum("2024-05-05", "pickups"), sum("2024-05-05", "dropoffs")]).toEqual([3, 3]);
    expect([sum("2024-05-06", "pickups"), sum("2024-05-06", "dropoffs")]).toEqual([5, 5]);
    expect(cells.length).toBe(16);
    for (const cell of cells) {
      expect(cell.h3_index).toMatch(/^88[0-9a-f]{13}$/);
      expect(cell.cell_lat).toBeGreaterThan(37.7);
      expect(cell.cell_lat).toBeLessThan(38.1);
      expect(cell.cell_lon).toBeGreaterThan(23.5);
      expect(cell.cell_lon).toBeLessThan(23.9);
    }
    // A resolution-8 cell's centre is within its circumradius (~530 m) of any point inside it.
    for (const { far_m } of distances) expect(far_m).toBeLessThan(600);
  });

  it("pipeline_freshness: newest event per layer and how far behind 13:15 it is; bronze absent", async () => {
    // Act
    const rows = await store.table("pipeline_freshness");

    // Assess: F's last ping at 13:10 is the newest event in silver and gold.
    expect(rows).toEqual([
      {
        layer_order: 1,
        layer: "bronze",
        available: 0,
        newest_event_at: null,
        lag_seconds: null,
        behind_upstream_seconds: null,
        as_of: AS_OF,
      },
      {
        layer_order: 2,
        layer: "silver",
        available: 1,
        newest_event_at: "2024-05-06T13:10:00.000Z",
        lag_seconds: 300,
        behind_upstream_seconds: null,
        as_of: AS_OF,
      },
      {
        layer_order: 3,
        layer: "gold",
        available: 1,
        newest_event_at: "2024-05-06T13:10:00.000Z",
        lag_seconds: 300,
        behind_upstream_seconds: 0,
        as_of: AS_OF,
      },
    ]);
  });

  it("pipeline_freshness reads bronze from a pluggable source, and a failing source counts as absent", async () => {
    // Act
    await store.run({
      asOf: new Date(AS_OF),
      only: ["pipeline_freshness"],
      bronze: { newestEventAt: async () => new Date("2024-05-06T13:14:00Z") },
    });
    const present = await store.rows(
      "SELECT available, newest_event_at, lag_seconds FROM pipeline_freshness WHERE layer = 'bronze'",
    );
    await store.run({
      asOf: new Date(AS_OF),
      only: ["pipeline_freshness"],
      bronze: {
        newestEventAt: async () => {
          throw new Error("warehouse unreachable");
        },
      },
    });
    const failing = await store.rows(
      "SELECT available, newest_event_at FROM pipeline_freshness WHERE layer = 'bronze'",
    );

    // Assess
    expect(present).toEqual([{ available: 1, newest_event_at: "2024-05-06T13:14:00.000Z", lag_seconds: 60 }]);
    expect(failing).toEqual([{ available: 0, newest_event_at: null }]);
  });

  it("records each model's start, duration, rows and outcome in uranus_runs", async () => {
    // Act
    const runs = await store.rows<{
      model: string;
      mode: string;
      outcome: string;
      rows: string;
      duration_ms: number;
    }>(
      "SELECT model, mode, outcome, rows, duration_ms, started_at FROM uranus_runs ORDER BY started_at, model",
    );

    // Assess
    expect(runs.map((r) => [r.model, r.mode, r.outcome, r.rows])).toEqual([
      ["session_summary", "full", "success", "8"],
      ["active_sessions", "rebuild", "success", "1"],
      ["courier_scorecards", "rebuild", "success", "5"],
      ["delay_service_time", "rebuild", "success", "2"],
      ["delivery_duration_buckets", "rebuild", "success", "12"],
      ["demand_heatmap", "rebuild", "success", "16"],
      ["fleet_summary", "rebuild", "success", "5"],
      ["hourly_demand", "rebuild", "success", "48"],
      ["kpi_aggregates", "rebuild", "success", "5"],
      ["pipeline_freshness", "rebuild", "success", "3"],
    ]);
    for (const run of runs) expect(run.duration_ms).toBeGreaterThan(0);
    expect(
      await store.rows(
        "SELECT model, last_outcome, last_rows, last_success_as_of FROM uranus_model_status WHERE model IN ('session_summary', 'kpi_aggregates') ORDER BY model",
      ),
    ).toEqual([
      { model: "kpi_aggregates", last_outcome: "success", last_rows: "5", last_success_as_of: AS_OF },
      { model: "session_summary", last_outcome: "success", last_rows: "8", last_success_as_of: AS_OF },
    ]);
  });
});

describe("refresh strategies", () => {
  /** G gets a ping it sent at 12:22 (a detour north to 37.81), received late at 13:20. */
  const lateForG = (): FixtureBatch[] => [
    {
      receivedAt: "2024-05-06T13:20:00Z",
      events: [
        {
          protocol: 2,
          value: {
            event_id: "e7e70000-0000-4000-8000-0000000000ff",
            event_type: "location_ping",
            schema_version: 2,
            occurred_at: "2024-05-06T12:22:00Z",
            device_id: "de71ce00-0000-4000-8000-000000000007",
            vehicle_id: VEHICLE.V4,
            session_id: SESSION.G,
            order_id: "0bde0000-0000-4000-8000-000000000007",
            lat: 37.81,
            lon: 23.6,
            speed_kmh: 8,
            heading_deg: 0,
            accuracy_m: 5,
          },
        },
      ],
    },
  ];

  it("gives empty tables on empty silver, with freshness saying there is nothing yet", async () => {
    // Act
    const result = await store.run({ asOf: new Date(AS_OF), mode: "full" });
    const tables = await snapshot();

    // Assess
    expect(result.ok).toBe(true);
    for (const table of GOLD_TABLES.filter((t) => t !== "pipeline_freshness"))
      expect(tables[table]).toEqual([]);
    expect(
      await store.rows(
        "SELECT layer, available, newest_event_at, lag_seconds FROM pipeline_freshness ORDER BY layer_order",
      ),
    ).toEqual([
      { layer: "bronze", available: 0, newest_event_at: null, lag_seconds: null },
      { layer: "silver", available: 1, newest_event_at: null, lag_seconds: null },
      { layer: "gold", available: 1, newest_event_at: null, lag_seconds: null },
    ]);
  });

  it("summarises a session known only from its pings as in progress, then right once its start arrives", async () => {
    // Prepare: only A's first batch (pings at 37.90, 37.91 and 37.93; its session_started comes later).
    const [pingsOnly, startedLate] = goldFixtureBatches();
    await store.feed([pingsOnly!]);

    // Act
    await store.run({ asOf: new Date("2024-05-05T10:16:30Z") });
    const before = await store.rows(
      "SELECT status, start_time, end_time, ping_count, total_distance_km, promised_at FROM session_summary",
    );
    const active = await store.rows("SELECT session_id, distance_remaining_km FROM active_sessions");
    await store.feed([startedLate!]);
    await store.run({ asOf: new Date("2024-05-05T10:17:30Z") });
    const after = await store.rows(
      "SELECT status, start_time, promised_at, dropoff_lat FROM session_summary",
    );

    // Assess: no status event yet, so "unknown" (not finished); no drop-off known, so no distance to it.
    expectRows(before, [
      {
        status: "unknown",
        start_time: "2024-05-05T10:00:00.000Z",
        end_time: "2024-05-05T10:15:00.000Z",
        ping_count: "3",
        total_distance_km: km(0.03),
        promised_at: null,
      },
    ]);
    expect(active).toEqual([{ session_id: SESSION.A, distance_remaining_km: null }]);
    expect(after).toEqual([
      {
        status: "started",
        start_time: "2024-05-05T10:00:00.000Z",
        promised_at: "2024-05-05T10:40:00.000Z",
        dropoff_lat: 37.93,
      },
    ]);
  });

  it("gives identical tables when run twice in a row, full or scheduled", async () => {
    // Prepare
    await store.feed(goldFixtureBatches());

    // Act
    await store.run({ asOf: new Date(AS_OF), mode: "full" });
    const first = await snapshot();
    await store.run({ asOf: new Date(AS_OF), mode: "full" });
    const second = await snapshot();
    const scheduled = await store.run({ asOf: new Date(AS_OF) });
    const third = await snapshot();

    // Assess
    expect(second).toEqual(first);
    expect(scheduled.models[0]).toMatchObject({
      model: "session_summary",
      mode: "incremental",
      outcome: "success",
    });
    expect(third).toEqual(first);
  });

  it("refreshes incrementally what silver received since the last run, equal to a full refresh", async () => {
    // Prepare: a full run at 13:15, then G's late ping arrives at 13:20.
    await store.feed(goldFixtureBatches());
    await store.run({ asOf: new Date(AS_OF), mode: "full" });
    await store.feed(lateForG());

    // Act: the scheduled run at 13:25 looks at what was received since 13:15 − 15 min look-back = 13:00.
    const asOf = new Date("2024-05-06T13:25:00Z");
    const incremental = await store.run({ asOf });
    const afterIncremental = await snapshot();
    await store.run({ asOf, mode: "full" });
    const afterFull = await snapshot();

    // Assess: H (received 13:01), F (13:11) and G (13:20) recomputed; G's path now 37.80 → 37.81 → 37.805.
    const summary = incremental.models.find((m) => m.model === "session_summary")!;
    expect(summary).toMatchObject({ mode: "incremental", rowsWritten: 3, rows: 8 });
    expect(summary.windowStart?.toISOString()).toBe("2024-05-06T13:00:00.000Z");
    expect(afterIncremental).toEqual(afterFull);
    const [g] = await store.rows<{ total_distance_km: number; ping_count: string }>(
      `SELECT total_distance_km, ping_count FROM session_summary WHERE session_id = '${SESSION.G}'`,
    );
    expect(g!.ping_count).toBe("3");
    expect(g!.total_distance_km).toBeCloseTo(km(0.015), 9);
  });

  it("backfills a date range day by day, recomputing only the sessions that started in it", async () => {
    // Prepare
    await store.feed(goldFixtureBatches());
    await store.run({ asOf: new Date(AS_OF), mode: "full" });
    await store.feed(lateForG());
    const progress: string[] = [];

    // Act: Monday only (G started on Monday).
    const backfill = await store.run({
      asOf: new Date("2024-05-06T14:00:00Z"),
      mode: "backfill",
      range: { from: new Date("2024-05-06T00:00:00Z"), to: new Date("2024-05-07T00:00:00Z") },
      only: ["session_summary"],
      onProgress: (p) => {
        if (p.kind === "chunk")
          progress.push(`${p.chunk}/${p.chunks} ${p.from.toISOString()} ${p.rowsWritten}`);
      },
    });
    const afterBackfill = await store.table("session_summary");
    const scheduled = await store.run({ asOf: new Date("2024-05-06T14:05:00Z"), only: ["session_summary"] });
    await store.run({ asOf: new Date(AS_OF), mode: "full", only: ["session_summary"] });

    // Assess: the five Monday sessions recomputed; the table equals a full refresh.
    expect(backfill.models).toMatchObject([
      { model: "session_summary", mode: "backfill", rowsWritten: 5, rows: 8 },
    ]);
    expect(progress).toEqual(["1/1 2024-05-06T00:00:00.000Z 5"]);
    expect(afterBackfill).toEqual(await store.table("session_summary"));
    // A backfill covers a range of start days, not everything received: the next scheduled run still looks
    // back from the last full or incremental run (13:15 − 15 min).
    expect(scheduled.models[0]?.windowStart?.toISOString()).toBe("2024-05-06T13:00:00.000Z");
  });

  it("rebuilds an incremental model in full when its table has other columns than the model now", async () => {
    // Prepare: a table as an older model left it (one column fewer).
    await store.feed(goldFixtureBatches());
    await store.run({ asOf: new Date(AS_OF), mode: "full", only: ["session_summary"] });
    await store.clickhouse.command({ query: "ALTER TABLE session_summary DROP COLUMN service_seconds" });

    // Act
    const result = await store.run({ asOf: new Date(AS_OF), only: ["session_summary"] });

    // Assess: every session recomputed; the column is back (A, C, E and H have a service time).
    expect(result.models).toMatchObject([{ mode: "full", outcome: "success", rowsWritten: 8, rows: 8 }]);
    expect(
      await store.rows("SELECT count() AS n FROM session_summary WHERE service_seconds IS NOT NULL"),
    ).toEqual([{ n: "4" }]);
  });

  it("records a failed model and skips the models that depend on it, running the others", async () => {
    // Prepare
    await store.feed(goldFixtureBatches());
    const broken = parseModel(
      "/models/broken_model.sql",
      "-- model: broken_model\n-- depends: session_summary\n-- strategy: rebuild\n-- order_by: x\nSELECT x FROM no_such_table",
    );
    const downstream = parseModel(
      "/models/downstream_model.sql",
      "-- model: downstream_model\n-- depends: broken_model\n-- strategy: rebuild\n-- order_by: x\nSELECT x FROM broken_model",
    );
    const { loadModels } = await import("#functions/uranus/models.ts");
    const models = await loadModels();
    const summary = models.find((m) => m.name === "session_summary")!;

    // Act
    const result = await store.run({ asOf: new Date(AS_OF), models: [summary, broken, downstream] });
    const runs = await store.rows<{ model: string; outcome: string; error: string }>(
      "SELECT model, outcome, error FROM uranus_runs ORDER BY started_at, model",
    );

    // Assess
    expect(result.ok).toBe(false);
    expect(runs.map((r) => [r.model, r.outcome])).toEqual([
      ["session_summary", "success"],
      ["broken_model", "failed"],
      ["downstream_model", "skipped"],
    ]);
    expect(runs[1]!.error).toMatch(/no_such_table/);
    expect(runs[2]!.error).toBe("not run: dependency broken_model failed");
    expect(await store.rows("SELECT count() AS n FROM system.tables WHERE name LIKE '%__next'")).toEqual([
      { n: "0" },
    ]);
  });

  it("swaps tables atomically: readers during refreshes see the whole table every time", async () => {
    // Prepare
    await store.feed(goldFixtureBatches());
    await store.run({ asOf: new Date(AS_OF), mode: "full" });

    // Act: three full refreshes while reading the table continuously.
    let running = true;
    const counts = new Set<string>();
    const reader = (async () => {
      while (running) {
        const [row] = await store.rows<{ n: string }>("SELECT count() AS n FROM session_summary");
        counts.add(row!.n);
      }
    })();
    for (let i = 0; i < 3; i++)
      await store.run({ asOf: new Date(AS_OF), mode: "full", only: ["session_summary"] });
    running = false;
    await reader;

    // Assess
    expect([...counts]).toEqual(["8"]);
  });
});
