-- The natural names give the exact answers (docs/decisions/022-natural-names.md). Before this migration
-- `sessions`, `orders` and `vehicles` showed the partial rows batches leave (two or more per entity until
-- merged), and the exact rows were `*_current`: `SELECT count() FROM sessions` answered more sessions than
-- there were. Now:
--   sessions, orders, vehicles                      one exact row per entity (what *_current were)
--   sessions_partial, orders_partial, vehicles_partial   the partial rows, as stored (what the names were)
--   sessions_current, orders_current, vehicles_current   kept, as aliases of the natural names
--   session_movements                               one row per event, unchanged
--
-- Views only: no row moves. Every statement can run again (IF NOT EXISTS, OR REPLACE).

CREATE VIEW IF NOT EXISTS sessions_partial AS
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

CREATE VIEW IF NOT EXISTS orders_partial AS
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

CREATE VIEW IF NOT EXISTS vehicles_partial AS
SELECT
  id AS vehicle_id,
  vehicle_type,
  first_seen_at,
  last_seen_at,
  last_position,
  last_session
FROM entities
WHERE entity = 'vehicle';

CREATE OR REPLACE VIEW sessions AS
SELECT
  session_id,
  max(device_id) AS device_id,
  max(vehicle_id) AS vehicle_id,
  max(order_id) AS order_id,
  max(vehicle_type) AS vehicle_type,
  nullIf(max(latest_status).status, '') AS status,
  if(max(latest_status).rank = 0, NULL, max(latest_status).at) AS status_at,
  max(pickup_lat) AS pickup_lat,
  max(pickup_lon) AS pickup_lon,
  max(dropoff_lat) AS dropoff_lat,
  max(dropoff_lon) AS dropoff_lon,
  min(started_at) AS started_at,
  max(promised_at) AS promised_at,
  min(ended_at) AS ended_at,
  min(first_event_at) AS first_event_at,
  max(last_event_at) AS last_event_at,
  max(last_received_at) AS last_received_at,
  if(toUnixTimestamp64Milli(max(last_position).at) = 0, NULL, max(last_position).at) AS last_position_at,
  if(toUnixTimestamp64Milli(max(last_position).at) = 0, NULL, max(last_position).lat) AS last_lat,
  if(toUnixTimestamp64Milli(max(last_position).at) = 0, NULL, max(last_position).lon) AS last_lon
FROM sessions_partial
GROUP BY session_id;

CREATE OR REPLACE VIEW orders AS
SELECT
  order_id,
  max(session_id) AS session_id,
  max(device_id) AS device_id,
  max(vehicle_id) AS vehicle_id,
  nullIf(max(latest_status).status, '') AS status,
  max(pickup_lat) AS pickup_lat,
  max(pickup_lon) AS pickup_lon,
  max(dropoff_lat) AS dropoff_lat,
  max(dropoff_lon) AS dropoff_lon,
  max(promised_at) AS promised_at,
  min(created_at) AS created_at,
  min(picked_up_at) AS picked_up_at,
  min(delivered_at) AS delivered_at,
  min(failed_at) AS failed_at,
  min(cancelled_at) AS cancelled_at,
  max(end_reason) AS end_reason,
  min(first_event_at) AS first_event_at,
  max(last_event_at) AS last_event_at
FROM orders_partial
GROUP BY order_id;

CREATE OR REPLACE VIEW vehicles AS
SELECT
  vehicle_id,
  max(vehicle_type) AS vehicle_type,
  min(first_seen_at) AS first_seen_at,
  max(last_seen_at) AS last_seen_at,
  if(toUnixTimestamp64Milli(max(last_position).at) = 0, NULL, max(last_position).at) AS last_position_at,
  if(toUnixTimestamp64Milli(max(last_position).at) = 0, NULL, max(last_position).lat) AS last_lat,
  if(toUnixTimestamp64Milli(max(last_position).at) = 0, NULL, max(last_position).lon) AS last_lon,
  max(last_session).session_id AS last_session_id,
  max(last_session).device_id AS last_device_id
FROM vehicles_partial
GROUP BY vehicle_id;

CREATE OR REPLACE VIEW sessions_current AS SELECT * FROM sessions;

CREATE OR REPLACE VIEW orders_current AS SELECT * FROM orders;

CREATE OR REPLACE VIEW vehicles_current AS SELECT * FROM vehicles;
