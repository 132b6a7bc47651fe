-- model: demand_heatmap
-- depends: session_summary
-- strategy: rebuild
-- order_by: day, h3_cell
--
-- Pick-ups and drop-offs per day of session start and H3 cell at resolution 8 (about 0.7 km²), for the
-- dashboard's heatmap; the cells are computed once per session in session_summary (geoToH3 with (lon, lat)).
-- docs/metrics.md#demand_heatmap
WITH points AS (
  SELECT toDate(start_time) AS day, role, cell
  FROM session_summary
  ARRAY JOIN
    ['pickup', 'dropoff'] AS role,
    [pickup_h3_r8, dropoff_h3_r8] AS cell
  WHERE cell IS NOT NULL
)
SELECT
  day,
  assumeNotNull(cell) AS h3_cell,
  h3ToString(h3_cell) AS h3_index,
  h3ToGeo(h3_cell).latitude AS cell_lat,
  h3ToGeo(h3_cell).longitude AS cell_lon,
  countIf(role = 'pickup') AS pickups,
  countIf(role = 'dropoff') AS dropoffs
FROM points
GROUP BY day, h3_cell
