-- model: courier_scorecards
-- depends: session_summary
-- strategy: rebuild
-- order_by: vehicle_id
--
-- One row per courier (vehicle) over all its sessions (docs/metrics.md#courier_scorecards). Active hours are
-- the union of its sessions' [start_time, end_time] intervals, so overlapping sessions count once. The
-- score weighs completion rate 0.4, on-time rate 0.4 and productivity 0.2 (completed deliveries per active
-- hour / 2, at most 1); a component without data is left out and the weights of the others rescaled.
WITH
  intervals AS (
    SELECT
      vehicle_id, status, on_time, total_distance_km, start_time, end_time,
      max(end_time) OVER (PARTITION BY vehicle_id ORDER BY start_time, session_id
                          ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS covered_until,
      row_number() OVER (PARTITION BY vehicle_id ORDER BY start_time, session_id) AS n
    FROM session_summary
  ),
  per_courier AS (
    SELECT
      vehicle_id,
      count() AS sessions,
      countIf(status = 'completed') AS completed,
      countIf(status = 'failed') AS failed,
      countIf(status = 'cancelled') AS cancelled,
      completed + failed + cancelled AS ended,
      countIf(on_time IS NOT NULL) AS with_promise,
      countIf(on_time = 1) AS on_time_count,
      sum(toInt64(round(total_distance_km * 1e6))) / 1e6 AS km,
      sum(greatest(dateDiff('millisecond', if(n = 1, start_time, greatest(start_time, covered_until)), end_time), 0))
        / 3600000 AS hours
    FROM intervals
    GROUP BY vehicle_id
  )
SELECT
  vehicle_id,
  sessions,
  completed AS sessions_completed,
  failed AS sessions_failed,
  cancelled AS sessions_cancelled,
  if(ended = 0, NULL, completed / ended) AS completion_rate,
  with_promise AS sessions_with_promise,
  on_time_count AS sessions_on_time,
  if(with_promise = 0, NULL, on_time_count / with_promise) AS on_time_rate,
  km AS total_distance_km,
  hours AS active_hours,
  if(hours = 0, NULL, completed / hours) AS deliveries_per_active_hour,
  if(deliveries_per_active_hour IS NULL, NULL, least(assumeNotNull(deliveries_per_active_hour) / 2, 1)) AS productivity,
  if(completion_rate IS NULL AND on_time_rate IS NULL AND productivity IS NULL, NULL,
     round(100 * (0.4 * coalesce(completion_rate, 0) + 0.4 * coalesce(on_time_rate, 0) + 0.2 * coalesce(productivity, 0))
       / (0.4 * (completion_rate IS NOT NULL) + 0.4 * (on_time_rate IS NOT NULL) + 0.2 * (productivity IS NOT NULL)), 1))
    AS score
FROM per_courier
