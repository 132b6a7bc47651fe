import { type ClickHouseHttpServer, startClickHouseHttp } from "#shared/clickhouse/http/index.ts";
import { type ClickHouseConfig, loadConfig, type PacketPulseConfig } from "#shared/config/index.ts";

/**
 * The store a silver or gold suite runs on. By default the embedded chDB of the configuration; with
 * PACKETPULSE_TEST_CLICKHOUSE=http (set by the `*.over-http.test.ts` files), the same chDB behind its
 * ClickHouse HTTP interface, reached as a ClickHouse server through CLICKHOUSE_URL would be: the suite
 * then exercises the server code path (HTTP transport, URL settings, query parameters, formats).
 */
export const OVER_HTTP = process.env.PACKETPULSE_TEST_CLICKHOUSE === "http";

const servers: ClickHouseHttpServer[] = [];
let started = 0;

/** How many interfaces this process started: a suite run over HTTP shows it really was. */
export const interfacesStarted = () => started;

export async function storeUnderTest(config: PacketPulseConfig): Promise<ClickHouseConfig> {
  if (!OVER_HTTP || config.clickhouse.backend !== "embedded") return config.clickhouse;
  const server = await startClickHouseHttp({
    path: config.clickhouse.path,
    database: config.clickhouse.database,
    http: { ...config.clickhouseHttp, host: "127.0.0.1", port: 0 },
  });
  servers.push(server);
  started++;
  // The configuration a user writes for a server: CLICKHOUSE_URL and the writer's credentials.
  return loadConfig({
    PACKETPULSE_DATA_DIR: config.dataDir,
    CLICKHOUSE_DATABASE: config.clickhouse.database,
    CLICKHOUSE_URL: server.url,
    CLICKHOUSE_USER: config.clickhouseHttp.writer.name,
    CLICKHOUSE_PASSWORD: config.clickhouseHttp.writer.password,
  }).clickhouse;
}

/** Stops the interfaces this process started (after the clients closed). */
export async function closeStoresUnderTest(): Promise<void> {
  for (const server of servers.splice(0)) await server.close();
}
