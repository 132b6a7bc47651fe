-- model: demand_heatmap
-- depends: session_summary
-- strategy: rebuild
-- order_by: day, h3_cell
--
-- Pick-ups and drop-offs per day of session start and H3 cell at resolution 8 (about 0.7 km²), for the
-- dashboard's heatmap. geoToH3 takes (lon, lat) here: the client pins geotoh3_argument_order = 'lon_lat'.
-- docs/metrics.md#demand_heatmap
WITH points AS (
  SELECT toDate(start_time) AS day, role, lon, lat
  FROM session_summary
  ARRAY JOIN
    ['pickup', 'dropoff'] AS role,
    [pickup_lon, dropoff_lon] AS lon,
    [pickup_lat, dropoff_lat] AS lat
  WHERE lat IS NOT NULL AND lon IS NOT NULL
)
SELECT
  day,
  geoToH3(assumeNotNull(lon), assumeNotNull(lat), 8) AS h3_cell,
  h3ToString(h3_cell) AS h3_index,
  h3ToGeo(h3_cell).latitude AS cell_lat,
  h3ToGeo(h3_cell).longitude AS cell_lon,
  countIf(role = 'pickup') AS pickups,
  countIf(role = 'dropoff') AS dropoffs
FROM points
GROUP BY day, h3_cell
