-- Gold bookkeeping (docs/gold.md). The model tables themselves are created by the runner from each model's
-- SELECT (CREATE TABLE ... AS SELECT, then EXCHANGE TABLES), so only the run log is a migration.

-- One row per model per run: what ran, over which window, how long it took and how it ended.
CREATE TABLE IF NOT EXISTS uranus_runs (
  run_id String,
  model LowCardinality(String),
  strategy LowCardinality(String),
  mode LowCardinality(String),
  as_of DateTime64(3, 'UTC'),
  window_start Nullable(DateTime64(3, 'UTC')),
  range_from Nullable(DateTime64(3, 'UTC')),
  range_to Nullable(DateTime64(3, 'UTC')),
  started_at DateTime64(3, 'UTC'),
  duration_ms UInt32,
  rows_written UInt64,
  rows UInt64,
  outcome LowCardinality(String),
  error String
) ENGINE = MergeTree
PARTITION BY toYYYYMM(started_at)
ORDER BY (model, started_at, run_id);
