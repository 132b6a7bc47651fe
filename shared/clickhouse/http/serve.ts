import type { PacketPulseConfig } from "#shared/config/index.ts";
import { removeAddressFile, writeAddressFile } from "./running.ts";
import { type ClickHouseHttpServer, startClickHouseHttp } from "./server.ts";

/**
 * The interface as `npm start` runs it: over the platform's embedded store, its address written in the data
 * folder for the tools. Undefined when the store is a server (CLICKHOUSE_URL) or CLICKHOUSE_HTTP_PORT=off.
 */
export async function serveEmbeddedStore(
  config: PacketPulseConfig,
): Promise<ClickHouseHttpServer | undefined> {
  if (config.clickhouse.backend !== "embedded" || !config.clickhouseHttp.enabled) return undefined;
  const store = config.clickhouse.path;
  const server = await startClickHouseHttp({
    path: store,
    database: config.clickhouse.database,
    http: config.clickhouseHttp,
  });
  writeAddressFile(config.dataDir, { url: server.url, pid: process.pid, store });
  return {
    ...server,
    async close() {
      removeAddressFile(config.dataDir);
      await server.close();
    },
  };
}
