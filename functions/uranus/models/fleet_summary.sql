-- model: fleet_summary
-- depends: session_summary, active_sessions
-- strategy: rebuild
-- order_by: vehicle_id
--
-- One row per vehicle (docs/metrics.md#fleet_summary). Status: active when it has an active session,
-- idle when heard from within {offline_minutes} minutes before {as_of} without one, offline otherwise.
WITH
  trips AS (
    SELECT
      vehicle_id,
      count() AS sessions,
      countIf(status = 'completed') AS completed_trips,
      countIf(status = 'failed') AS failed_trips,
      countIf(status = 'cancelled') AS cancelled_trips,
      sum(toInt64(round(total_distance_km * 1e6))) / 1e6 AS path_km
    FROM session_summary
    GROUP BY vehicle_id
  ),
  live AS (
    SELECT vehicle_id, count() AS active_sessions
    FROM active_sessions
    GROUP BY vehicle_id
  )
SELECT
  v.vehicle_id AS vehicle_id,
  v.vehicle_type AS vehicle_type,
  t.sessions AS sessions,
  t.completed_trips AS completed_trips,
  t.failed_trips AS failed_trips,
  t.cancelled_trips AS cancelled_trips,
  t.path_km AS total_distance_km,
  CAST(v.first_seen_at AS DateTime64(3, 'UTC')) AS first_seen_at,
  CAST(v.last_seen_at AS DateTime64(3, 'UTC')) AS last_seen_at,
  dateDiff('millisecond', v.last_seen_at, {as_of:DateTime64(3, 'UTC')}) / 1000 AS seconds_since_seen,
  l.active_sessions AS active_sessions,
  toLowCardinality(multiIf(
    l.active_sessions > 0, 'active',
    v.last_seen_at > {as_of:DateTime64(3, 'UTC')} - toIntervalMinute({offline_minutes:UInt32}), 'idle',
    'offline')) AS status,
  v.last_lat AS last_lat,
  v.last_lon AS last_lon,
  {as_of:DateTime64(3, 'UTC')} AS as_of
FROM vehicles AS v
LEFT JOIN trips AS t ON t.vehicle_id = v.vehicle_id
LEFT JOIN live AS l ON l.vehicle_id = v.vehicle_id
