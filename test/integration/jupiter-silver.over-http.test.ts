/**
 * The silver suite a second time, through ClickHouse's HTTP interface over the embedded store: Jupiter's
 * batches, dedup tokens and migrations on the ClickHouse-server code path (CLICKHOUSE_URL).
 */
process.env.PACKETPULSE_TEST_CLICKHOUSE = "http";
await import("./jupiter-silver.test.ts");
