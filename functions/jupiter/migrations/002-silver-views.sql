-- Read side of silver: one row per entity, duplicates and partial rows already merged. Gold models and
-- Mercury query these views, never the tables, so none of them can forget FINAL or the GROUP BY.

-- Movements with distance and speed from the previous ping of the session by event time. Computed when
-- read, so a late or out-of-order ping changes its successor's distance without rewriting any row.
CREATE VIEW IF NOT EXISTS session_movements AS
SELECT
  event_id,
  session_id,
  device_id,
  vehicle_id,
  order_id,
  source,
  occurred_at,
  received_at,
  lat,
  lon,
  speed_kmh,
  heading_deg,
  accuracy_m,
  v1_status,
  h3_r9,
  previous_at,
  if(isNull(previous_at), NULL, greatCircleDistance(previous_lon, previous_lat, lon, lat)) AS distance_m,
  if(isNull(previous_at), NULL, dateDiff('millisecond', previous_at, occurred_at) / 1000) AS seconds_since_previous,
  if(seconds_since_previous > 0, distance_m / seconds_since_previous * 3.6, NULL) AS computed_speed_kmh
FROM
(
  SELECT
    *,
    lagInFrame(toNullable(occurred_at)) OVER w AS previous_at,
    lagInFrame(lat) OVER w AS previous_lat,
    lagInFrame(lon) OVER w AS previous_lon
  FROM session_positions FINAL
  WINDOW w AS (PARTITION BY session_id ORDER BY occurred_at, event_id ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)
);

CREATE VIEW IF NOT EXISTS sessions_current AS
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
FROM sessions
GROUP BY session_id;

CREATE VIEW IF NOT EXISTS orders_current AS
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
FROM orders
GROUP BY order_id;

CREATE VIEW IF NOT EXISTS vehicles_current AS
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
FROM vehicles
GROUP BY vehicle_id;
