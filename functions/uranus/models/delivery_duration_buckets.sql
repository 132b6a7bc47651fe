-- model: delivery_duration_buckets
-- depends: session_summary
-- strategy: rebuild
-- order_by: day, bucket_order
--
-- Completed sessions per day of start by delivery duration, in six buckets [lower, upper) minutes, every
-- bucket listed for each day with a completed session. docs/metrics.md#delivery_duration_buckets
WITH
  buckets AS (
    SELECT
      bucket_order,
      [0, 5, 15, 30, 60, 120][bucket_order] AS min_minutes,
      [5, 15, 30, 60, 120, 0][bucket_order] AS upper_minutes
    FROM (SELECT arrayJoin([1, 2, 3, 4, 5, 6]) AS bucket_order)
  ),
  completed AS (
    SELECT toDate(start_time) AS day,
           toUInt8(1 + countEqual(arrayMap(b -> duration_seconds >= b * 60, [5, 15, 30, 60, 120]), 1)) AS bucket_order
    FROM session_summary
    WHERE status = 'completed'
  ),
  counts AS (
    SELECT day, bucket_order, count() AS sessions
    FROM completed
    GROUP BY day, bucket_order
  ),
  grid AS (
    SELECT day, toUInt8(b.bucket_order) AS bucket_order, b.min_minutes AS min_minutes, b.upper_minutes AS upper_minutes
    FROM (SELECT DISTINCT day FROM completed) AS d
    CROSS JOIN buckets AS b
  )
SELECT
  g.day AS day,
  g.bucket_order AS bucket_order,
  toLowCardinality(if(g.upper_minutes = 0, concat(toString(g.min_minutes), '+ min'),
     concat(toString(g.min_minutes), '-', toString(g.upper_minutes), ' min'))) AS bucket,
  toUInt16(g.min_minutes) AS min_minutes,
  if(g.upper_minutes = 0, NULL, toUInt16(g.upper_minutes)) AS max_minutes,
  c.sessions AS sessions,
  c.sessions / sum(c.sessions) OVER (PARTITION BY g.day) AS share
FROM grid AS g
LEFT JOIN counts AS c ON c.day = g.day AND c.bucket_order = g.bucket_order
