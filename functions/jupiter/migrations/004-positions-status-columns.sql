-- Positions without LowCardinality parsing at insert (docs/benchmarks.md, fifth round): ClickHouse spends a
-- third of its CSV parsing of a position batch on the two LowCardinality columns.
--
-- v1_status becomes a plain Nullable(String): NULL in every v2 row, a status in v1 rows. ClickHouse rewrites
-- the column of the existing parts in the background (a mutation); reads convert the parts not yet rewritten.
ALTER TABLE session_positions MODIFY COLUMN v1_status Nullable(String);

-- source is what v1_status says: a v1 message has a status, a v2 ping has none. Jupiter no longer sends it;
-- ClickHouse fills it at insert. The stored values stay as they are (only the default changes).
ALTER TABLE session_positions
  MODIFY COLUMN source LowCardinality(String) DEFAULT if(v1_status IS NULL, 'location_ping', 'v1_message');
