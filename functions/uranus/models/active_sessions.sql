-- model: active_sessions
-- depends: session_summary
-- strategy: rebuild
-- order_by: session_id
--
-- Sessions not completed, failed or cancelled, heard from (last event time) within {active_minutes} minutes
-- before {as_of} (docs/metrics.md#active_sessions). Distance remaining is the great-circle distance from the
-- last known position to the drop-off; the ETA divides it by the session's average speed so far (its
-- current speed when the average is under 1 km/h).
SELECT
  session_id,
  vehicle_id,
  device_id,
  order_id,
  status,
  start_time,
  last_event_at AS last_heard_at,
  dateDiff('millisecond', last_event_at, {as_of:DateTime64(3, 'UTC')}) / 1000 AS seconds_since_heard,
  last_lat,
  last_lon,
  dropoff_lat,
  dropoff_lon,
  if(last_lat IS NULL OR dropoff_lat IS NULL, NULL,
     greatCircleDistance(assumeNotNull(last_lon), assumeNotNull(last_lat),
                         assumeNotNull(dropoff_lon), assumeNotNull(dropoff_lat)) / 1000) AS distance_remaining_km,
  total_distance_km,
  current_speed_kmh,
  avg_speed_kmh,
  multiIf(avg_speed_kmh >= 1, avg_speed_kmh, current_speed_kmh >= 1, current_speed_kmh, NULL) AS eta_speed_kmh,
  if(distance_remaining_km IS NULL OR eta_speed_kmh IS NULL, NULL,
     assumeNotNull(distance_remaining_km) / assumeNotNull(eta_speed_kmh) * 3600) AS eta_seconds,
  if(eta_seconds IS NULL, NULL,
     addMilliseconds(last_event_at, toInt64(round(assumeNotNull(eta_seconds) * 1000)))) AS eta_at,
  promised_at,
  if(eta_at IS NULL OR promised_at IS NULL, NULL, toUInt8(eta_at > promised_at)) AS predicted_late,
  {as_of:DateTime64(3, 'UTC')} AS as_of
FROM session_summary
WHERE status NOT IN ('completed', 'failed', 'cancelled')
  AND last_event_at > {as_of:DateTime64(3, 'UTC')} - toIntervalMinute({active_minutes:UInt32})
  AND last_event_at <= {as_of:DateTime64(3, 'UTC')}
