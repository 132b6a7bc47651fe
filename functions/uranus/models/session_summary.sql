-- model: session_summary
-- depends:
-- strategy: incremental
-- unique_key: session_id
-- order_by: session_id
--
-- One row per session (docs/metrics.md#session_summary). Incremental: only the sessions that silver received
-- something for since {since} (Venus's receive time, with the look-back), or that reached silver after the
-- previous run's ingestion watermark {ingested_after} (scope received_since), or that started in
-- [{from}, {to}) (scope started_between, a backfill), are recomputed; the runner carries every other row
-- over unchanged.
-- Positions are read from session_positions without FINAL: duplicated events are removed after sorting.
WITH
  -- Candidates from the raw partial rows first (a session received since {since} has a row received since
  -- then; one that reached silver after the watermark has a row ingested since), so the merging view only
  -- groups the sessions in scope.
  candidates AS (
    SELECT session_id
    FROM sessions
    WHERE {scope:String} != 'received_since' OR last_received_at >= {since:DateTime64(3, 'UTC')}
    UNION DISTINCT
    SELECT id AS session_id
    FROM entities
    WHERE {scope:String} = 'received_since' AND entity = 'session'
      AND ingested_at > {ingested_after:DateTime64(6, 'UTC')}
  ),
  scoped AS (
    SELECT *
    FROM sessions_current
    WHERE session_id IN (SELECT session_id FROM candidates)
      AND ({scope:String} IN ('all', 'received_since')
        OR ({scope:String} = 'started_between'
            AND coalesce(started_at, first_event_at) >= {from:DateTime64(3, 'UTC')}
            AND coalesce(started_at, first_event_at) < {to:DateTime64(3, 'UTC')}))
  ),
  -- Pings sorted by (occurred_at, event_id, log position): a duplicated event is the same (occurred_at,
  -- event_id) and sorts next to itself, its first delivery first, so dropping an element whose event_id
  -- equals its predecessor's removes duplicates in one linear pass (no FINAL over the big table, no hash
  -- set). The unique pings are then ordered as silver's session_movements: event time, then log position.
  paths AS (
    SELECT
      session_id,
      arraySort(groupArray((occurred_at, event_id, log_partition, log_offset, lon, lat, speed_kmh))) AS sorted,
      arrayMap(p -> p.2, sorted) AS ids,
      arrayFilter((p, first) -> first, sorted,
        arrayMap((id, previous) -> id != previous, ids,
          arrayPushFront(arrayPopBack(ids), toUUID('00000000-0000-0000-0000-000000000000')))) AS unique_pings,
      -- The path: event time, then log position, so points with equal times follow arrival order.
      arrayMap(p -> (p.1, p.2, p.5, p.6, p.7), arraySort(p -> (p.1, p.3, p.4), unique_pings)) AS pings
    FROM session_positions
    WHERE session_id IN (SELECT session_id FROM scoped)
      AND occurred_at >= (SELECT min(first_event_at) FROM scoped)
      AND NOT (lat = 0 AND lon = 0)
    GROUP BY session_id
  ),
  joined AS (
    SELECT
      s.session_id AS session_id,
      CAST(s.device_id AS UUID) AS device_id,
      CAST(s.vehicle_id AS UUID) AS vehicle_id,
      CAST(s.order_id AS UUID) AS order_id,
      s.vehicle_type AS vehicle_type,
      coalesce(s.status, 'unknown') AS session_status,
      coalesce(s.started_at, s.first_event_at) AS start_time,
      assumeNotNull(coalesce(
        multiIf(
          session_status = 'completed', o.delivered_at,
          session_status = 'failed', o.failed_at,
          session_status = 'cancelled', o.cancelled_at,
          NULL),
        if(session_status IN ('completed', 'failed', 'cancelled'), s.status_at, NULL),
        s.last_event_at)) AS end_time,
      if(s.pickup_lat = 0 AND s.pickup_lon = 0, NULL, s.pickup_lat) AS pickup_lat,
      if(s.pickup_lat = 0 AND s.pickup_lon = 0, NULL, s.pickup_lon) AS pickup_lon,
      if(s.dropoff_lat = 0 AND s.dropoff_lon = 0, NULL, s.dropoff_lat) AS dropoff_lat,
      if(s.dropoff_lat = 0 AND s.dropoff_lon = 0, NULL, s.dropoff_lon) AS dropoff_lon,
      s.promised_at AS promised_at,
      CAST(s.first_event_at AS DateTime64(3, 'UTC')) AS first_event_at,
      CAST(s.last_event_at AS DateTime64(3, 'UTC')) AS last_event_at,
      CAST(s.last_received_at AS DateTime64(3, 'UTC')) AS last_received_at,
      -- The last position is silver's, except on an exact tie of event time with the last ping, which
      -- silver's max() breaks by coordinate: there the ping last in arrival order wins (pings: lon .3, lat .4).
      ifNull(s.last_lat = 0 AND s.last_lon = 0, 1) AS no_position,
      NOT no_position AND length(p.pings) > 0 AND p.pings[-1].1 = s.last_position_at AS tied_with_ping,
      if(no_position, NULL, s.last_position_at) AS last_position_at,
      if(no_position, NULL, if(tied_with_ping, p.pings[-1].4, s.last_lat)) AS last_lat,
      if(no_position, NULL, if(tied_with_ping, p.pings[-1].3, s.last_lon)) AS last_lon,
      p.pings AS pings,
      if(isNull(dropoff_lat) OR length(pings) = 0, 0,
         arrayFirstIndex(
           q -> greatCircleDistance(q.3, q.4, assumeNotNull(dropoff_lon), assumeNotNull(dropoff_lat)) <= 100, pings))
        AS arrived_ping_index
    FROM scoped AS s
    LEFT JOIN (SELECT * FROM orders_current WHERE order_id IN (SELECT order_id FROM scoped)) AS o
      ON o.order_id = s.order_id
    LEFT JOIN paths AS p ON p.session_id = s.session_id
  )
SELECT
  session_id,
  device_id,
  vehicle_id,
  order_id,
  vehicle_type,
  toLowCardinality(session_status) AS status,
  start_time,
  end_time,
  dateDiff('millisecond', start_time, end_time) / 1000 AS duration_seconds,
  length(pings) AS ping_count,
  if(length(pings) = 0, NULL, pings[1].1) AS first_ping_at,
  if(length(pings) = 0, NULL, pings[-1].1) AS last_ping_at,
  arraySum(arrayMap((a, b) -> greatCircleDistance(a.3, a.4, b.3, b.4), arrayPopBack(pings), arrayPopFront(pings))) / 1000
    AS total_distance_km,
  if(duration_seconds > 0, total_distance_km / (duration_seconds / 3600), NULL) AS avg_speed_kmh,
  if(length(pings) = 0, NULL, coalesce(
    pings[-1].5,
    if(length(pings) >= 2 AND pings[-1].1 > pings[-2].1,
       greatCircleDistance(pings[-2].3, pings[-2].4, pings[-1].3, pings[-1].4)
         / (dateDiff('millisecond', pings[-2].1, pings[-1].1) / 1000) * 3.6,
       NULL))) AS current_speed_kmh,
  pickup_lat,
  pickup_lon,
  dropoff_lat,
  dropoff_lon,
  -- H3 cells (resolution 8) of the pick-up and drop-off, for the demand heatmap; geoToH3 takes (lon, lat):
  -- the client pins geotoh3_argument_order = 'lon_lat'.
  if(pickup_lat IS NULL, NULL, geoToH3(assumeNotNull(pickup_lon), assumeNotNull(pickup_lat), 8)) AS pickup_h3_r8,
  if(dropoff_lat IS NULL, NULL, geoToH3(assumeNotNull(dropoff_lon), assumeNotNull(dropoff_lat), 8)) AS dropoff_h3_r8,
  if(arrived_ping_index = 0, NULL, pings[arrived_ping_index].1) AS arrived_dropoff_at,
  promised_at,
  if(status = 'completed' AND promised_at IS NOT NULL, toUInt8(end_time <= promised_at), NULL) AS on_time,
  if(status = 'completed' AND promised_at IS NOT NULL,
     dateDiff('millisecond', assumeNotNull(promised_at), end_time) / 1000, NULL) AS delay_seconds,
  if(status = 'completed' AND arrived_dropoff_at IS NOT NULL,
     greatest(dateDiff('millisecond', assumeNotNull(arrived_dropoff_at), end_time) / 1000, 0), NULL)
    AS service_seconds,
  last_position_at,
  last_lat,
  last_lon,
  first_event_at,
  last_event_at,
  last_received_at
FROM joined
