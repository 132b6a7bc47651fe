-- model: kpi_aggregates
-- depends: session_summary
-- strategy: rebuild
-- order_by: period, period_start
--
-- KPIs by day, ISO week (Monday start) and month, each session attributed to the period of its start_time
-- (docs/metrics.md#kpi_aggregates). Durations, percentiles and speed are over completed sessions only.
-- Sums are taken over whole milliseconds and millimetres (integers), so they do not depend on row order.
SELECT * EXCEPT (delivery_quantiles)
FROM
(
SELECT
  toLowCardinality(period) AS period,
  period_start,
  multiIf(period = 'day', period_start + 1, period = 'week', period_start + 7, addMonths(period_start, 1)) AS period_end,
  count() AS sessions_started,
  countIf(status = 'completed') AS sessions_completed,
  countIf(status = 'failed') AS sessions_failed,
  countIf(status = 'cancelled') AS sessions_cancelled,
  sessions_completed + sessions_failed + sessions_cancelled AS sessions_ended,
  if(sessions_ended = 0, NULL, sessions_completed / sessions_ended) AS completion_rate,
  if(sessions_completed = 0, NULL, sumIf(duration_ms, status = 'completed') / sessions_completed / 1000)
    AS avg_delivery_seconds,
  quantilesExactIf(0.5, 0.9, 0.99)(duration_seconds, status = 'completed') AS delivery_quantiles,
  if(sessions_completed = 0, NULL, delivery_quantiles[1]) AS p50_delivery_seconds,
  if(sessions_completed = 0, NULL, delivery_quantiles[2]) AS p90_delivery_seconds,
  if(sessions_completed = 0, NULL, delivery_quantiles[3]) AS p99_delivery_seconds,
  sum(path_mm) / 1e6 AS total_distance_km,
  total_distance_km / sessions_started AS avg_distance_km,
  sumIf(path_mm, status = 'completed') / 1e6 AS completed_distance_km,
  sumIf(duration_ms, status = 'completed') / 1000 AS completed_duration_seconds,
  if(completed_duration_seconds > 0, completed_distance_km / (completed_duration_seconds / 3600), NULL) AS avg_speed_kmh,
  countIf(on_time IS NOT NULL) AS sessions_with_promise,
  countIf(on_time = 1) AS sessions_on_time,
  if(sessions_with_promise = 0, NULL, sessions_on_time / sessions_with_promise) AS on_time_rate
FROM
(
  SELECT start_time, status, duration_seconds, on_time,
         toInt64(round(duration_seconds * 1000)) AS duration_ms,
         toInt64(round(total_distance_km * 1e6)) AS path_mm
  FROM session_summary
)
ARRAY JOIN
  ['day', 'week', 'month'] AS period,
  [toDate(start_time), toStartOfWeek(start_time, 1), toStartOfMonth(start_time)] AS period_start
GROUP BY period, period_start
)
