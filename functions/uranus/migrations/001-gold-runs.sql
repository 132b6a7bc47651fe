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
ORDER BY (model, started_at, run_id)
TTL toDateTime(started_at) + INTERVAL 90 DAY;

-- The latest run of each model and its latest success, for the dashboard's pipeline page.
CREATE VIEW IF NOT EXISTS uranus_model_status AS
SELECT
  model,
  argMax(run_id, (started_at, run_id)) AS last_run_id,
  max(started_at) AS last_started_at,
  argMax(duration_ms, (started_at, run_id)) AS last_duration_ms,
  argMax(outcome, (started_at, run_id)) AS last_outcome,
  argMax(error, (started_at, run_id)) AS last_error,
  argMax(rows, (started_at, run_id)) AS last_rows,
  maxIf(started_at, outcome = 'success') AS last_success_at,
  maxIf(as_of, outcome = 'success') AS last_success_as_of
FROM uranus_runs
GROUP BY model;
