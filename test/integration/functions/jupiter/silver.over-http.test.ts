/**
 * The silver suite a second time, through ClickHouse's HTTP interface over the embedded store: Jupiter's
 * batches, dedup tokens and migrations on the ClickHouse-server code path (CLICKHOUSE_URL).
 */
process.env.PACKETPULSE_TEST_CLICKHOUSE = "http";
await import("./silver.test.ts");
const { interfacesStarted } = await import("#test/helpers/clickhouse-store.ts");
const { expect, it } = await import("vitest");

it("ran the silver suite through the HTTP interface", () => {
  expect(interfacesStarted()).toBeGreaterThan(0);
});
