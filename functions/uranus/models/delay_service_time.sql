-- model: delay_service_time
-- depends: session_summary
-- strategy: rebuild
-- order_by: day
--
-- Per day of start, over completed sessions: delay against the promised time (v2 sessions only), capped to
-- [-90, 90] minutes before averaging, and service time at the drop-off (completion minus the first ping
-- within 100 m of it), capped to 30 minutes before averaging. docs/metrics.md#delay_service_time
SELECT
  toDate(start_time) AS day,
  countIf(status = 'completed') AS sessions_completed,
  countIf(delay_seconds IS NOT NULL) AS sessions_with_promise,
  countIf(delay_seconds > 0) AS sessions_late,
  if(sessions_with_promise = 0, NULL, avgIf(least(greatest(delay_seconds / 60, -90), 90), delay_seconds IS NOT NULL))
    AS avg_delay_minutes,
  if(sessions_with_promise = 0, NULL, avgIf(delay_seconds / 60, delay_seconds IS NOT NULL)) AS avg_delay_minutes_uncapped,
  countIf(abs(delay_seconds) > 90 * 60) AS delay_outliers_capped,
  countIf(service_seconds IS NOT NULL) AS sessions_with_service_time,
  if(sessions_with_service_time = 0, NULL, avgIf(least(service_seconds / 60, 30), service_seconds IS NOT NULL))
    AS avg_service_minutes,
  if(sessions_with_service_time = 0, NULL, avgIf(service_seconds / 60, service_seconds IS NOT NULL))
    AS avg_service_minutes_uncapped,
  countIf(service_seconds > 30 * 60) AS service_outliers_capped
FROM session_summary
WHERE status = 'completed'
GROUP BY day
