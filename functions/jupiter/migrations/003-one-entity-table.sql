-- The partial rows of sessions, orders and vehicles in one table (docs/decisions/016-one-entity-table.md):
-- a batch makes one insert for all three instead of one each, and every insert into the embedded store costs
-- milliseconds whatever its size. `sessions`, `orders` and `vehicles` become views over it with the columns
-- they had, so every query on them, and the merging views of 002, read what they read before.
--
-- Each statement can run again, at any point of an interrupted run: a store made before this migration has
-- its rows copied, and a copy made twice changes nothing (the columns merge with min and max).

-- One row per (entity, id) once merged. Each kind fills its own columns; the others keep their defaults.
CREATE TABLE IF NOT EXISTS entities (
  entity Enum8('session' = 1, 'order' = 2, 'vehicle' = 3),
  id UUID,
  session_id SimpleAggregateFunction(max, UUID),
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
  created_at SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
  picked_up_at SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
  delivered_at SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
  failed_at SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
  cancelled_at SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
  end_reason SimpleAggregateFunction(max, Nullable(String)),
  first_event_at SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
  last_event_at SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
  last_received_at SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
  first_seen_at SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
  last_seen_at SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
  latest_status SimpleAggregateFunction(max, Tuple(at DateTime64(3, 'UTC'), rank UInt8, status String)),
  last_position SimpleAggregateFunction(max, Tuple(at DateTime64(3, 'UTC'), lat Float64, lon Float64)),
  last_session SimpleAggregateFunction(max, Tuple(at DateTime64(3, 'UTC'), session_id String, device_id String))
) ENGINE = AggregatingMergeTree
ORDER BY (entity, id)
SETTINGS non_replicated_deduplication_window = 1000;

-- sessions: the table of 001 (made again, empty, when a run stopped between its DROP and its view) is
-- copied, dropped and replaced by a view.
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
ORDER BY session_id;

INSERT INTO entities (entity, id, device_id, vehicle_id, order_id, vehicle_type, pickup_lat, pickup_lon,
  dropoff_lat, dropoff_lon, started_at, promised_at, ended_at, first_event_at, last_event_at, last_received_at,
  latest_status, last_position)
SELECT 'session', session_id, device_id, vehicle_id, order_id, vehicle_type, pickup_lat, pickup_lon,
  dropoff_lat, dropoff_lon, started_at, promised_at, ended_at, first_event_at, last_event_at, last_received_at,
  latest_status, last_position
FROM sessions;

DROP TABLE IF EXISTS sessions;

-- Partial rows, as the table had them.
CREATE VIEW IF NOT EXISTS sessions AS
SELECT
  id AS session_id,
  device_id,
  vehicle_id,
  order_id,
  vehicle_type,
  pickup_lat,
  pickup_lon,
  dropoff_lat,
  dropoff_lon,
  started_at,
  promised_at,
  ended_at,
  first_event_at,
  last_event_at,
  last_received_at,
  latest_status,
  last_position
FROM entities
WHERE entity = 'session';

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
ORDER BY order_id;

INSERT INTO entities (entity, id, session_id, device_id, vehicle_id, pickup_lat, pickup_lon, dropoff_lat,
  dropoff_lon, promised_at, created_at, picked_up_at, delivered_at, failed_at, cancelled_at, end_reason,
  first_event_at, last_event_at, latest_status)
SELECT 'order', order_id, session_id, device_id, vehicle_id, pickup_lat, pickup_lon, dropoff_lat,
  dropoff_lon, promised_at, created_at, picked_up_at, delivered_at, failed_at, cancelled_at, end_reason,
  first_event_at, last_event_at, latest_status
FROM orders;

DROP TABLE IF EXISTS orders;

CREATE VIEW IF NOT EXISTS orders AS
SELECT
  id AS order_id,
  session_id,
  device_id,
  vehicle_id,
  pickup_lat,
  pickup_lon,
  dropoff_lat,
  dropoff_lon,
  promised_at,
  created_at,
  picked_up_at,
  delivered_at,
  failed_at,
  cancelled_at,
  end_reason,
  first_event_at,
  last_event_at,
  latest_status
FROM entities
WHERE entity = 'order';

CREATE TABLE IF NOT EXISTS vehicles (
  vehicle_id UUID,
  vehicle_type SimpleAggregateFunction(max, Nullable(String)),
  first_seen_at SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
  last_seen_at SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
  last_position SimpleAggregateFunction(max, Tuple(at DateTime64(3, 'UTC'), lat Float64, lon Float64)),
  last_session SimpleAggregateFunction(max, Tuple(at DateTime64(3, 'UTC'), session_id String, device_id String))
) ENGINE = AggregatingMergeTree
ORDER BY vehicle_id;

INSERT INTO entities (entity, id, vehicle_type, first_seen_at, last_seen_at, last_position, last_session)
SELECT 'vehicle', vehicle_id, vehicle_type, first_seen_at, last_seen_at, last_position, last_session
FROM vehicles;

DROP TABLE IF EXISTS vehicles;

CREATE VIEW IF NOT EXISTS vehicles AS
SELECT
  id AS vehicle_id,
  vehicle_type,
  first_seen_at,
  last_seen_at,
  last_position,
  last_session
FROM entities
WHERE entity = 'vehicle';
