-- model: pipeline_freshness
-- depends: session_summary
-- strategy: rebuild
-- order_by: layer_order
--
-- The newest event time in each layer and how far it is behind {as_of} (docs/metrics.md#pipeline_freshness).
-- Bronze comes from a pluggable source ({bronze_available} = 0 when there is none); silver from the
-- partial rows of sessions (the max over them is exact without merging); gold from session_summary.
WITH
  (SELECT (max(last_event_at), count()) FROM sessions_partial) AS silver,
  (SELECT (max(last_event_at), count()) FROM session_summary) AS gold,
  silver.1 AS silver_newest,
  silver.2 AS silver_rows,
  gold.1 AS gold_newest,
  gold.2 AS gold_rows
SELECT
  toUInt8(layer_order) AS layer_order,
  toLowCardinality(layer) AS layer,
  toUInt8(available) AS available,
  newest_event_at,
  if(newest_event_at IS NULL, NULL,
     dateDiff('millisecond', assumeNotNull(newest_event_at), {as_of:DateTime64(3, 'UTC')}) / 1000) AS lag_seconds,
  behind_upstream_seconds,
  {as_of:DateTime64(3, 'UTC')} AS as_of
FROM
(
  SELECT 1 AS layer_order, 'bronze' AS layer, {bronze_available:UInt8} AS available,
         {bronze_newest_at:Nullable(DateTime64(3, 'UTC'))} AS newest_event_at,
         CAST(NULL AS Nullable(Float64)) AS behind_upstream_seconds
  UNION ALL
  SELECT 2, 'silver', 1, if(silver_rows = 0, NULL, silver_newest), NULL
  UNION ALL
  SELECT 3, 'gold', 1, if(gold_rows = 0, NULL, gold_newest),
         if(silver_rows = 0 OR gold_rows = 0, NULL, dateDiff('millisecond', gold_newest, silver_newest) / 1000)
)
