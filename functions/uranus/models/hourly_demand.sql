-- model: hourly_demand
-- depends: session_summary
-- strategy: rebuild
-- order_by: day, hour
--
-- Sessions started per UTC hour of each day that has any, all 24 hours listed; is_peak_hour marks the hour
-- with the most sessions started that day (the earliest such hour on a tie). docs/metrics.md#hourly_demand
WITH
  counts AS (
    SELECT toDate(start_time) AS day, toHour(start_time) AS hour,
           count() AS started, countIf(status = 'completed') AS completed
    FROM session_summary
    GROUP BY day, hour
  ),
  grid AS (
    SELECT day, toUInt8(hour) AS hour
    FROM (SELECT DISTINCT day FROM counts)
    ARRAY JOIN range(24) AS hour
  ),
  filled AS (
    SELECT g.day AS day, g.hour AS hour, c.started AS sessions_started, c.completed AS sessions_completed
    FROM grid AS g
    LEFT JOIN counts AS c ON c.day = g.day AND c.hour = g.hour
  )
SELECT
  day,
  hour,
  sessions_started,
  sessions_completed,
  toUInt8(row_number() OVER (PARTITION BY day ORDER BY sessions_started DESC, hour ASC) = 1) AS is_peak_hour
FROM filled
