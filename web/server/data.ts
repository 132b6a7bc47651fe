import { type ClickHouseClient, createClient } from "@clickhouse/client";
import type { LiveCourier } from "./live.ts";

/**
 * Every figure Mercury shows, read from the gold tables (docs/metrics.md) and, for the live map, the
 * trip replay and the session list's raw events, from silver. One connection: ClickHouse over HTTP as the
 * read-only reader (the platform's interface in `npm start`, a server or a running platform otherwise).
 */

export interface ClickHouseEndpoint {
  url: string;
  username: string;
  password: string;
  database: string;
}

export function openReader(endpoint: ClickHouseEndpoint): ClickHouseClient {
  return createClient({
    url: endpoint.url,
    username: endpoint.username,
    password: endpoint.password,
    database: endpoint.database,
    request_timeout: 30_000,
    clickhouse_settings: {
      date_time_output_format: "iso",
      session_timezone: "UTC",
      output_format_json_quote_64bit_integers: 0,
    },
  });
}

export class DataError extends Error {
  override name = "DataError";
}

type Params = Record<string, unknown>;

export class MercuryData {
  constructor(readonly clickhouse: ClickHouseClient) {}

  async rows<T>(query: string, params: Params = {}): Promise<T[]> {
    try {
      const result = await this.clickhouse.query({ query, query_params: params, format: "JSONEachRow" });
      return await result.json<T>();
    } catch (error) {
      throw new DataError(`The store did not answer: ${(error as Error).message}`, { cause: error });
    }
  }

  async overview() {
    const [days, fleet, recent] = await Promise.all([
      this.rows<KpiDay>(
        `SELECT toString(period_start) AS day, sessions_started, sessions_completed, sessions_failed,
                sessions_cancelled, total_distance_km, completion_rate, on_time_rate, avg_delivery_seconds,
                p50_delivery_seconds, p90_delivery_seconds, p99_delivery_seconds
         FROM kpi_aggregates
         WHERE period = 'day'
           AND period_start > (SELECT max(period_start) FROM kpi_aggregates WHERE period = 'day') - 14
         ORDER BY period_start`,
      ),
      this.fleetCounts(),
      this.rows<SessionRow>(
        `${SESSION_COLUMNS} FROM session_summary ORDER BY start_time DESC, session_id LIMIT 10`,
      ),
    ]);
    return { days: fillDays(days), fleet, recent };
  }

  async fleetCounts() {
    const [counts] = await this.rows<{ vehicles: number; active: number; idle: number; offline: number }>(
      `SELECT count() AS vehicles, countIf(status = 'active') AS active, countIf(status = 'idle') AS idle,
              countIf(status = 'offline') AS offline
       FROM fleet_summary`,
    );
    return counts ?? { vehicles: 0, active: 0, idle: 0, offline: 0 };
  }

  async sessions(filter: SessionFilter) {
    const where = [
      filter.status ? "status = {status:String}" : "",
      filter.vehicleType ? "vehicle_type = {vehicleType:String}" : "",
      filter.from ? "start_time >= parseDateTime64BestEffort({from:String}, 3, 'UTC')" : "",
      filter.to ? "start_time < parseDateTime64BestEffort({to:String}, 3, 'UTC')" : "",
      filter.q
        ? "(startsWith(toString(session_id), {q:String}) OR startsWith(toString(vehicle_id), {q:String}))"
        : "",
    ].filter(Boolean);
    const clause = where.length ? `WHERE ${where.join(" AND ")}` : "";
    const params = { ...filter, limit: filter.pageSize, offset: (filter.page - 1) * filter.pageSize };
    const [rows, total] = await Promise.all([
      this.rows<SessionRow>(
        `${SESSION_COLUMNS} FROM session_summary ${clause} ORDER BY start_time DESC, session_id
         LIMIT {limit:UInt32} OFFSET {offset:UInt32}`,
        params,
      ),
      this.rows<{ n: number }>(`SELECT count() AS n FROM session_summary ${clause}`, params),
    ]);
    return { rows, total: total[0]?.n ?? 0 };
  }

  async sessionDetail(sessionId: string) {
    const [summary] = await this.rows<SessionDetail>(
      `SELECT * FROM session_summary WHERE session_id = {id:UUID}`,
      { id: sessionId },
    );
    if (!summary) return undefined;
    const [path, orders] = await Promise.all([
      // The session's positions, one per event (a redelivered event is stored twice until merges), read by
      // the primary key's day first: the days of its start and end.
      this.rows<Omit<PathPoint, "distance_m" | "seconds_since_previous">>(
        `SELECT occurred_at, lat, lon, speed_kmh
         FROM session_positions
         WHERE toDate(occurred_at) BETWEEN toDate(parseDateTime64BestEffort({start:String}, 3, 'UTC')) - 1
                                   AND toDate(parseDateTime64BestEffort({end:String}, 3, 'UTC')) + 1
           AND session_id = {id:UUID} AND NOT (lat = 0 AND lon = 0)
         ORDER BY occurred_at, event_id
         LIMIT 1 BY event_id`,
        { id: sessionId, start: summary.start_time, end: summary.end_time },
      ).then(withSteps),
      this.rows<{
        created_at: string | null;
        picked_up_at: string | null;
        delivered_at: string | null;
        failed_at: string | null;
        cancelled_at: string | null;
        end_reason: string | null;
      }>(
        `SELECT created_at, picked_up_at, delivered_at, failed_at, cancelled_at, end_reason
         FROM orders WHERE order_id = (SELECT order_id FROM sessions WHERE session_id = {id:UUID} LIMIT 1)`,
        { id: sessionId },
      ),
    ]);
    const order = orders[0];
    const timeline = order
      ? (
          [
            ["created", order.created_at],
            ["picked up", order.picked_up_at],
            ["delivered", order.delivered_at],
            ["failed", order.failed_at],
            ["cancelled", order.cancelled_at],
          ] as const
        ).flatMap(([step, at]) => (at ? [{ step, at }] : []))
      : [];
    return { summary, path, timeline, endReason: order?.end_reason ?? null };
  }

  async fleet() {
    const [vehicles, scorecards, counts] = await Promise.all([
      this.rows<FleetRow>(
        `SELECT toString(vehicle_id) AS vehicle_id, vehicle_type, status, sessions, completed_trips, failed_trips,
                cancelled_trips, total_distance_km, last_seen_at, active_sessions
         FROM fleet_summary ORDER BY status = 'active' DESC, status = 'idle' DESC, last_seen_at DESC LIMIT 500`,
      ),
      this.rows<Scorecard>(
        `SELECT toString(vehicle_id) AS vehicle_id, sessions, sessions_completed, completion_rate, on_time_rate,
                total_distance_km, active_hours, deliveries_per_active_hour, score
         FROM courier_scorecards ORDER BY score DESC NULLS LAST, vehicle_id LIMIT 200`,
      ),
      this.fleetCounts(),
    ]);
    return { vehicles, scorecards, counts };
  }

  async analytics(range: { from: string; to: string }) {
    const params = { from: range.from, to: range.to };
    const inRange = "day >= toDate({from:String}) AND day < toDate({to:String})";
    const [totals, hourly, buckets, delays, heatmap, byDay] = await Promise.all([
      this.rows<AnalyticsTotals>(
        `SELECT started AS sessions_started, completed AS sessions_completed, ended AS sessions_ended,
                if(ended = 0, NULL, completed / ended) AS completion_rate,
                if(promised = 0, NULL, punctual / promised) AS on_time_rate,
                if(completed = 0, NULL, completed_seconds / completed) AS avg_delivery_seconds,
                if(started = 0, NULL, km / started) AS avg_distance_km,
                km AS total_distance_km
         FROM (
           SELECT sum(sessions_started) AS started, sum(sessions_completed) AS completed, sum(sessions_ended) AS ended,
                  sum(sessions_with_promise) AS promised, sum(sessions_on_time) AS punctual,
                  sum(completed_duration_seconds) AS completed_seconds, sum(total_distance_km) AS km
           FROM kpi_aggregates
           WHERE period = 'day' AND period_start >= toDate({from:String}) AND period_start < toDate({to:String})
         )`,
        params,
      ),
      this.rows<{ hour: number; sessions_started: number; sessions_completed: number }>(
        `SELECT hour, sum(sessions_started) AS sessions_started, sum(sessions_completed) AS sessions_completed
         FROM hourly_demand WHERE ${inRange} GROUP BY hour ORDER BY hour`,
        params,
      ),
      this.rows<{ bucket_order: number; bucket: string; sessions: number }>(
        `SELECT bucket_order, any(bucket) AS bucket, sum(sessions) AS sessions
         FROM delivery_duration_buckets WHERE ${inRange} GROUP BY bucket_order ORDER BY bucket_order`,
        params,
      ),
      this.rows<{
        delay_minutes: number | null;
        service_minutes: number | null;
        late: number;
      }>(
        `SELECT if(sum(sessions_with_promise) = 0, NULL,
                   sum(d.avg_delay_minutes * d.sessions_with_promise) / sum(sessions_with_promise)) AS delay_minutes,
                if(sum(sessions_with_service_time) = 0, NULL,
                   sum(d.avg_service_minutes * d.sessions_with_service_time) / sum(sessions_with_service_time)) AS service_minutes,
                sum(d.sessions_late) AS late
         FROM delay_service_time AS d WHERE ${inRange}`,
        params,
      ),
      this.rows<{ h3_index: string; cell_lat: number; cell_lon: number; pickups: number; dropoffs: number }>(
        `SELECT h3_index, any(cell_lat) AS cell_lat, any(cell_lon) AS cell_lon, sum(pickups) AS pickups,
                sum(dropoffs) AS dropoffs
         FROM demand_heatmap WHERE ${inRange} GROUP BY h3_index ORDER BY pickups + dropoffs DESC LIMIT 2000`,
        params,
      ),
      this.rows<KpiDay>(
        `SELECT toString(period_start) AS day, sessions_started, sessions_completed, avg_delivery_seconds,
                p50_delivery_seconds, p90_delivery_seconds, p99_delivery_seconds, completion_rate, on_time_rate,
                total_distance_km, sessions_failed, sessions_cancelled
         FROM kpi_aggregates
         WHERE period = 'day' AND period_start >= toDate({from:String}) AND period_start < toDate({to:String})
         ORDER BY period_start`,
        params,
      ),
    ]);
    const peak = [...hourly].sort((a, b) => b.sessions_started - a.sessions_started || a.hour - b.hour)[0];
    return {
      totals: totals[0],
      hourly,
      buckets,
      delays: delays[0],
      heatmap,
      byDay,
      peakHour: peak?.hour ?? null,
    };
  }

  /** The newest day with sessions in gold, as `YYYY-MM-DD` (UTC), or undefined when gold is empty. */
  async latestDay(): Promise<string | undefined> {
    const [row] = await this.rows<{ day: string | null }>(
      `SELECT if(count() = 0, NULL, toString(max(period_start))) AS day FROM kpi_aggregates WHERE period = 'day'`,
    );
    return row?.day ?? undefined;
  }

  async freshness() {
    return this.rows<{
      layer: string;
      available: number;
      newest_event_at: string | null;
      lag_seconds: number | null;
      as_of: string;
    }>(
      `SELECT layer, available, newest_event_at, lag_seconds, as_of FROM pipeline_freshness ORDER BY layer_order`,
    );
  }

  /** Each gold model's last run (uranus_model_status) and the last `runs` runs of Uranus (uranus_runs). */
  async modelRuns(runs = 10) {
    const [models, recent] = await Promise.all([
      this.rows<ModelStatus>(
        `SELECT model, last_run_id, last_started_at, last_duration_ms, last_rows, last_outcome, last_error,
                if(last_success_at = toDateTime64(0, 3, 'UTC'), NULL, last_success_at) AS last_success_at
         FROM uranus_model_status ORDER BY model`,
      ),
      this.rows<UranusRun>(
        // Aliases differ from the columns: an alias named like a column would put an aggregate inside another.
        `SELECT run_id, any(mode) AS run_mode, min(started_at) AS run_started_at,
                toUInt64(dateDiff('millisecond', run_started_at,
                                  max(started_at + toIntervalMillisecond(duration_ms)))) AS run_duration_ms,
                count() AS models, sum(rows_written) AS run_rows_written,
                countIf(outcome = 'failed') AS failed, countIf(outcome = 'skipped') AS skipped,
                arrayStringConcat(groupArrayIf(concat(model, ': ', error), error != ''), '; ') AS errors
         FROM uranus_runs GROUP BY run_id ORDER BY run_started_at DESC, run_id LIMIT {runs:UInt32}`,
        { runs },
      ),
    ]);
    return { models, recent };
  }

  /** Couriers silver has heard from within the last `minutes` (by receive time) and not ended: the map's seed. */
  async activeCouriers(minutes: number, sinceMs?: number): Promise<LiveCourier[]> {
    const rows = await this.rows<{
      session_id: string;
      vehicle_id: string | null;
      vehicle_type: string | null;
      status: string | null;
      last_lat: number | null;
      last_lon: number | null;
      last_position_at: string | null;
      last_received_at: string;
      pickup_lat: number | null;
      pickup_lon: number | null;
      dropoff_lat: number | null;
      dropoff_lon: number | null;
      trail: [number, number][];
    }>(
      `WITH live AS (
         SELECT session_id, vehicle_id, vehicle_type, status, last_lat, last_lon, last_position_at, last_received_at,
                pickup_lat, pickup_lon, dropoff_lat, dropoff_lon, first_event_at
         FROM sessions
         WHERE last_received_at > ${sinceMs === undefined ? "now64(3) - toIntervalMinute({minutes:UInt32})" : "fromUnixTimestamp64Milli({since:Int64})"}
           AND coalesce(status, '') NOT IN ('completed', 'failed', 'cancelled')
           AND last_lat IS NOT NULL
       )
       SELECT toString(l.session_id) AS session_id, toString(l.vehicle_id) AS vehicle_id, l.vehicle_type AS vehicle_type,
              l.status AS status, l.last_lat AS last_lat, l.last_lon AS last_lon, l.last_position_at AS last_position_at,
              l.last_received_at AS last_received_at, l.pickup_lat AS pickup_lat, l.pickup_lon AS pickup_lon,
              l.dropoff_lat AS dropoff_lat, l.dropoff_lon AS dropoff_lon, p.trail AS trail
       FROM live AS l
       LEFT JOIN (
         SELECT session_id, arraySlice(arrayMap(x -> (x.2, x.3), arraySort(groupArray((occurred_at, lon, lat)))), -60) AS trail
         FROM session_positions
         WHERE session_id IN (SELECT session_id FROM live) AND NOT (lat = 0 AND lon = 0)
           AND occurred_at >= (SELECT min(first_event_at) FROM live)
         GROUP BY session_id
       ) AS p ON p.session_id = l.session_id`,
      { minutes, since: sinceMs ?? 0 },
    );
    return rows.map((row) => ({
      sessionId: row.session_id,
      vehicleId: row.vehicle_id,
      vehicleType: row.vehicle_type,
      status: row.status ?? "unknown",
      lat: row.last_lat ?? 0,
      lon: row.last_lon ?? 0,
      at: Date.parse(row.last_position_at ?? row.last_received_at),
      speedKmh: null,
      heardAt: Date.parse(row.last_received_at),
      pickup: row.pickup_lat !== null && row.pickup_lon !== null ? [row.pickup_lon, row.pickup_lat] : null,
      dropoff:
        row.dropoff_lat !== null && row.dropoff_lon !== null ? [row.dropoff_lon, row.dropoff_lat] : null,
      trail: row.trail ?? [],
    }));
  }

  /** A read-only statement for the SQL page, limited in rows and time. */
  async adhoc(sql: string, maxRows: number) {
    const started = performance.now();
    try {
      const result = await this.clickhouse.query({
        query: sql,
        format: "JSONCompactEachRowWithNamesAndTypes",
        clickhouse_settings: {
          readonly: "2",
          max_result_rows: String(maxRows),
          result_overflow_mode: "break",
          max_execution_time: 30,
        },
      });
      const [names = [], types = [], ...rows] = await result.json<unknown[]>();
      return { columns: names as string[], types: types as string[], rows, ms: performance.now() - started };
    } catch (error) {
      throw new DataError((error as Error).message, { cause: error });
    }
  }
}

/** Distance (great circle, as ClickHouse's greatCircleDistance) and time from each position to the next. */
function withSteps(points: Omit<PathPoint, "distance_m" | "seconds_since_previous">[]): PathPoint[] {
  const rad = Math.PI / 180;
  return points.map((p, i) => {
    const q = points[i - 1];
    if (!q) return { ...p, distance_m: null, seconds_since_previous: null };
    const h =
      Math.sin(((p.lat - q.lat) * rad) / 2) ** 2 +
      Math.cos(q.lat * rad) * Math.cos(p.lat * rad) * Math.sin(((p.lon - q.lon) * rad) / 2) ** 2;
    return {
      ...p,
      distance_m: 2 * 6_371_008.8 * Math.asin(Math.sqrt(h)),
      seconds_since_previous: (Date.parse(p.occurred_at) - Date.parse(q.occurred_at)) / 1000,
    };
  });
}

const SESSION_COLUMNS = `SELECT toString(session_id) AS session_id, toString(vehicle_id) AS vehicle_id, vehicle_type, status,
  start_time, end_time, duration_seconds, total_distance_km, ping_count, on_time`;

export interface KpiDay {
  day: string;
  sessions_started: number;
  sessions_completed: number;
  sessions_failed: number;
  sessions_cancelled: number;
  total_distance_km: number;
  completion_rate: number | null;
  on_time_rate: number | null;
  avg_delivery_seconds: number | null;
  p50_delivery_seconds: number | null;
  p90_delivery_seconds: number | null;
  p99_delivery_seconds: number | null;
}

export interface SessionRow {
  session_id: string;
  vehicle_id: string;
  vehicle_type: string | null;
  status: string;
  start_time: string;
  end_time: string;
  duration_seconds: number;
  total_distance_km: number;
  ping_count: number;
  on_time: number | null;
}

export type SessionDetail = SessionRow & Record<string, unknown>;

export interface PathPoint {
  occurred_at: string;
  lat: number;
  lon: number;
  speed_kmh: number | null;
  distance_m: number | null;
  seconds_since_previous: number | null;
}

export interface FleetRow {
  vehicle_id: string;
  vehicle_type: string | null;
  status: string;
  sessions: number | null;
  completed_trips: number | null;
  failed_trips: number | null;
  cancelled_trips: number | null;
  total_distance_km: number | null;
  last_seen_at: string;
  active_sessions: number | null;
}

export interface Scorecard {
  vehicle_id: string;
  sessions: number;
  sessions_completed: number;
  completion_rate: number | null;
  on_time_rate: number | null;
  total_distance_km: number;
  active_hours: number;
  deliveries_per_active_hour: number | null;
  score: number | null;
}

export interface AnalyticsTotals {
  sessions_started: number;
  sessions_completed: number;
  sessions_ended: number;
  completion_rate: number | null;
  on_time_rate: number | null;
  avg_delivery_seconds: number | null;
  avg_distance_km: number | null;
  total_distance_km: number;
}

export interface ModelStatus {
  model: string;
  last_run_id: string;
  last_started_at: string;
  last_duration_ms: number;
  last_rows: number;
  last_outcome: string;
  last_error: string;
  last_success_at: string | null;
}

export interface UranusRun {
  run_id: string;
  run_mode: string;
  run_started_at: string;
  run_duration_ms: number;
  models: number;
  run_rows_written: number;
  failed: number;
  skipped: number;
  errors: string;
}

export interface SessionFilter {
  status?: string;
  vehicleType?: string;
  from?: string;
  to?: string;
  q?: string;
  page: number;
  pageSize: number;
}

/** The two weeks ending on the newest day, a zero row for a day without sessions. */
function fillDays(days: KpiDay[]): KpiDay[] {
  const last = days.at(-1);
  if (!last) return [];
  const byDay = new Map(days.map((d) => [d.day, d]));
  const end = Date.parse(`${last.day}T00:00:00Z`);
  return Array.from({ length: 14 }, (_, i) => {
    const day = new Date(end - (13 - i) * 86_400_000).toISOString().slice(0, 10);
    return (
      byDay.get(day) ?? {
        day,
        sessions_started: 0,
        sessions_completed: 0,
        sessions_failed: 0,
        sessions_cancelled: 0,
        total_distance_km: 0,
        completion_rate: null,
        on_time_rate: null,
        avg_delivery_seconds: null,
        p50_delivery_seconds: null,
        p90_delivery_seconds: null,
        p99_delivery_seconds: null,
      }
    );
  });
}
