-- The ingestion watermark of each run (docs/gold.md, "Refresh strategies"): the newest silver ingestion time
-- (entities.ingested_at) every row of which the run could see. The next incremental run also recomputes
-- every session ingested after it, so late or replayed data reaches gold on the next run.
ALTER TABLE uranus_runs ADD COLUMN IF NOT EXISTS ingested_until Nullable(DateTime64(6, 'UTC'));
