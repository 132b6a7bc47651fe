-- model: delay_service_time
-- depends: session_summary
-- strategy: rebuild
-- order_by: day
--
-- Per day of start, over completed sessions: delay against the promised time (v2 sessions only), capped to
-- [-90, 90] minutes before averaging, and service time at the drop-off (completion minus the first ping
-- within 100 m of it), capped to 30 minutes before averaging. Averages are integer-millisecond sums over
-- counts, so they do not depend on row order. (least/greatest skip a NULL argument, hence the explicit guards.) docs/metrics.md#delay_service_time
SELECT
  toDate(start_time) AS day,
  countIf(status = 'completed') AS sessions_completed,
  countIf(delay_seconds IS NOT NULL) AS sessions_with_promise,
  countIf(delay_seconds > 0) AS sessions_late,
  if(sessions_with_promise = 0, NULL, sumIf(least(greatest(assumeNotNull(delay_ms), -5400000), 5400000), delay_ms IS NOT NULL) / sessions_with_promise / 60000)
    AS avg_delay_minutes,
  if(sessions_with_promise = 0, NULL, sum(delay_ms) / sessions_with_promise / 60000) AS avg_delay_minutes_uncapped,
  countIf(abs(delay_seconds) > 90 * 60) AS delay_outliers_capped,
  countIf(service_seconds IS NOT NULL) AS sessions_with_service_time,
  if(sessions_with_service_time = 0, NULL, sumIf(least(assumeNotNull(service_ms), 1800000), service_ms IS NOT NULL) / sessions_with_service_time / 60000)
    AS avg_service_minutes,
  if(sessions_with_service_time = 0, NULL, sum(service_ms) / sessions_with_service_time / 60000)
    AS avg_service_minutes_uncapped,
  countIf(service_seconds > 30 * 60) AS service_outliers_capped
FROM
(
  SELECT start_time, status, delay_seconds, service_seconds,
         toInt64(round(delay_seconds * 1000)) AS delay_ms,
         toInt64(round(service_seconds * 1000)) AS service_ms
  FROM session_summary
)
WHERE status = 'completed'
GROUP BY day
