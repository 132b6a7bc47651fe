import type { ClickHouseSettings } from "@clickhouse/client";

/**
 * Settings sent with every query, on both backends. Each one either has a different default in chDB and in
 * a ClickHouse server (checked on chDB 26.7: async_insert=1, 64-bit integers unquoted in JSON, best-effort
 * date parsing, geoToH3 taking (lat, lon)) or matters to correctness here, so none is left to the backend.
 */
export const CLICKHOUSE_SETTINGS = {
  // Synchronous inserts: an insert has landed when the promise resolves, and its dedup token applies.
  async_insert: 0,
  // UInt64/Int64 as JSON strings, so JavaScript never rounds an id or an H3 cell (server default).
  output_format_json_quote_64bit_integers: 1,
  // Accept ISO-8601 with a zone (`2024-05-01T10:31:15.250Z`) in DateTime64 columns.
  date_time_input_format: "best_effort",
  // Read times back as ISO-8601 UTC (`2024-05-01T10:31:15.250Z`) whatever the server's zone.
  date_time_output_format: "iso",
  session_timezone: "UTC",
  // The platform's convention is (lon, lat) wherever a function takes a point; 26.x defaults to lat_lon.
  geotoh3_argument_order: "lon_lat",
  insert_deduplicate: 1,
  // chDB applies settings as session-level SET statements, so a token would leak into the next insert of
  // the session; sending an empty token with every query resets it.
  insert_deduplication_token: "",
} as const satisfies ClickHouseSettings;

/**
 * What the embedded backend sends with every query. chDB runs a query's settings as `SET` statements on its
 * one session, where they stay: the defaults above are set once when the store opens, and each query only
 * clears the deduplication token, so a token never leaks from one insert to the next. Every `SET` costs
 * chDB about 0.1 ms of CPU, a tenth of a small insert (docs/benchmarks.md).
 */
export const EMBEDDED_QUERY_SETTINGS = {
  insert_deduplication_token: "",
} as const satisfies ClickHouseSettings;
