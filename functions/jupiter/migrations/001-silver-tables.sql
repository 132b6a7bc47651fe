-- Silver tables (docs/silver.md). Every statement can run again: a migration interrupted half-way is
-- re-applied at the next start. non_replicated_deduplication_window keeps the insert tokens of the last
-- 1000 inserts per table, so a re-delivered batch (same Kafka offset range) is dropped by ClickHouse.

-- One row per position event (v2 location_ping, v1 current position); replaced by event_id.
CREATE TABLE IF NOT EXISTS session_positions (
  event_id UUID,
  session_id UUID,
  device_id UUID,
  vehicle_id UUID,
  order_id UUID,
  source LowCardinality(String),
  occurred_at DateTime64(3, 'UTC'),
  received_at DateTime64(3, 'UTC'),
  lat Float64,
  lon Float64,
  speed_kmh Nullable(Float64),
  heading_deg Nullable(Float64),
  accuracy_m Nullable(Float64),
  v1_status LowCardinality(Nullable(String)),
  h3_r9 UInt64 DEFAULT geoToH3(lon, lat, 9)
) ENGINE = ReplacingMergeTree(received_at)
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (toDate(occurred_at), session_id, occurred_at, event_id)
SETTINGS non_replicated_deduplication_window = 1000;

-- One row per session once merged: partial rows from any event, combined with idempotent aggregates only
-- (min, max, max of a tuple), so an event counted twice changes nothing.
CREATE TABLE IF NOT EXISTS sessions (
  session_id UUID,
  device_id SimpleAggregateFunction(max, UUID),
  vehicle_id SimpleAggregateFunction(max, UUID),
  order_id SimpleAggregateFunction(max, UUID),
  vehicle_type SimpleAggregateFunction(max, Nullable(String)),
  pickup_lat SimpleAggregateFunction(max, Nullable(Float64)),
  pickup_lon SimpleAggregateFunction(max, Nullable(Float64)),
  dropoff_lat SimpleAggregateFunction(max, Nullable(Float64)),
  dropoff_lon SimpleAggregateFunction(max, Nullable(Float64)),
  started_at SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
  promised_at SimpleAggregateFunction(max, Nullable(DateTime64(3, 'UTC'))),
  ended_at SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
  first_event_at SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
  last_event_at SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
  last_received_at SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
  latest_status SimpleAggregateFunction(max, Tuple(at DateTime64(3, 'UTC'), rank UInt8, status String)),
  last_position SimpleAggregateFunction(max, Tuple(at DateTime64(3, 'UTC'), lat Float64, lon Float64))
) ENGINE = AggregatingMergeTree
ORDER BY session_id
SETTINGS non_replicated_deduplication_window = 1000;

-- One row per order once merged: its lifecycle times (the first time each status was reached).
CREATE TABLE IF NOT EXISTS orders (
  order_id UUID,
  session_id SimpleAggregateFunction(max, UUID),
  device_id SimpleAggregateFunction(max, UUID),
  vehicle_id SimpleAggregateFunction(max, UUID),
  pickup_lat SimpleAggregateFunction(max, Nullable(Float64)),
  pickup_lon SimpleAggregateFunction(max, Nullable(Float64)),
  dropoff_lat SimpleAggregateFunction(max, Nullable(Float64)),
  dropoff_lon SimpleAggregateFunction(max, Nullable(Float64)),
  promised_at SimpleAggregateFunction(max, Nullable(DateTime64(3, 'UTC'))),
  created_at SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
  picked_up_at SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
  delivered_at SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
  failed_at SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
  cancelled_at SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
  end_reason SimpleAggregateFunction(max, Nullable(String)),
  first_event_at SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
  last_event_at SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
  latest_status SimpleAggregateFunction(max, Tuple(at DateTime64(3, 'UTC'), rank UInt8, status String))
) ENGINE = AggregatingMergeTree
ORDER BY order_id
SETTINGS non_replicated_deduplication_window = 1000;

-- One row per vehicle once merged.
CREATE TABLE IF NOT EXISTS vehicles (
  vehicle_id UUID,
  vehicle_type SimpleAggregateFunction(max, Nullable(String)),
  first_seen_at SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
  last_seen_at SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
  last_position SimpleAggregateFunction(max, Tuple(at DateTime64(3, 'UTC'), lat Float64, lon Float64)),
  last_session SimpleAggregateFunction(max, Tuple(at DateTime64(3, 'UTC'), session_id String, device_id String))
) ENGINE = AggregatingMergeTree
ORDER BY vehicle_id
SETTINGS non_replicated_deduplication_window = 1000;
