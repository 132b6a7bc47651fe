import { type ClickHouseHttpServer, startClickHouseHttp } from "#shared/clickhouse/http/index.ts";
import type { ClickHouseConfig, PacketPulseConfig } from "#shared/config/index.ts";

/**
 * The store a silver or gold suite runs on. By default the embedded chDB of the configuration; with
 * PACKETPULSE_TEST_CLICKHOUSE=http (set by the `*.over-http.test.ts` files), the same chDB behind its
 * ClickHouse HTTP interface, reached as a ClickHouse server through CLICKHOUSE_URL would be: the suite
 * then exercises the server code path (HTTP transport, URL settings, query parameters, formats).
 */
export const OVER_HTTP = process.env.PACKETPULSE_TEST_CLICKHOUSE === "http";

const servers: ClickHouseHttpServer[] = [];

export async function storeUnderTest(config: PacketPulseConfig): Promise<ClickHouseConfig> {
  if (!OVER_HTTP || config.clickhouse.backend !== "embedded") return config.clickhouse;
  const server = await startClickHouseHttp({
    path: config.clickhouse.path,
    database: config.clickhouse.database,
    http: { ...config.clickhouseHttp, host: "127.0.0.1", port: 0 },
  });
  servers.push(server);
  return {
    backend: "server",
    url: server.url,
    username: config.clickhouseHttp.writer.name,
    password: config.clickhouseHttp.writer.password,
    database: config.clickhouse.database,
  };
}

/** Stops the interfaces this process started (after the clients closed). */
export async function closeStoresUnderTest(): Promise<void> {
  for (const server of servers.splice(0)) await server.close();
}
