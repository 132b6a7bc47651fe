/**
 * The gold suite a second time, through ClickHouse's HTTP interface over the embedded store: the Uranus
 * models, incremental runs and backfills on the ClickHouse-server code path (CLICKHOUSE_URL).
 */
process.env.PACKETPULSE_TEST_CLICKHOUSE = "http";
await import("./gold.test.ts");
const { interfacesStarted } = await import("#test/helpers/clickhouse-store.ts");
const { expect, it } = await import("vitest");

it("ran the gold suite through the HTTP interface", () => {
  expect(interfacesStarted()).toBeGreaterThan(0);
});
