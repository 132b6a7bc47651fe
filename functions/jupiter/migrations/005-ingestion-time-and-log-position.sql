-- When rows reached silver, and where their events sat in the log (docs/decisions/019-gold-ingestion-watermark.md).
--
-- entities.ingested_at: the time ClickHouse wrote the partial row (merged with max, so a session's value is
-- when silver last received anything for it). Gold's incremental runs select the sessions ingested since
-- their previous run by it, so late or replayed data reaches gold whatever its event or receive time.
-- MATERIALIZED: ClickHouse stamps it at insert, and `SELECT *` does not show it (bookkeeping, not data).
ALTER TABLE entities
  ADD COLUMN IF NOT EXISTS ingested_at SimpleAggregateFunction(max, DateTime64(6, 'UTC')) MATERIALIZED now64(6);

-- Rows written before this migration get the migration's time (a part without the column would otherwise
-- compute it at every read): the next gold run sees them once more, which changes nothing.
ALTER TABLE entities MATERIALIZE COLUMN ingested_at SETTINGS mutations_sync = 2;

-- session_positions: the event's log position (partition, offset), the tie-breaker after event time, so
-- points with equal timestamps follow arrival order. Rows written before this migration have 0, 0 (their
-- ties keep the event id order they had). Jupiter writes them with insert_allow_materialized_columns.
ALTER TABLE session_positions
  ADD COLUMN IF NOT EXISTS log_partition UInt32 MATERIALIZED 0,
  ADD COLUMN IF NOT EXISTS log_offset UInt64 MATERIALIZED 0;

-- The movements view of 002, ordered by event time then log position.
CREATE OR REPLACE VIEW session_movements AS
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
  WINDOW w AS (PARTITION BY session_id ORDER BY occurred_at, log_partition, log_offset, event_id ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)
);
