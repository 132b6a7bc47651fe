import { parseArgs } from "node:util";
import { findRunningStore } from "../../shared/clickhouse/http/index.ts";
import { loadConfig } from "../../shared/config/index.ts";
import { type MercuryServer, startMercury } from "./index.ts";

/**
 * `npm run web` (built app) and `npm run web:dev` (Vite, hot reload): Mercury on its own, reading ClickHouse
 * over HTTP: CLICKHOUSE_URL, else the interface of the platform running on this data folder (npm start).
 */

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { dev: { type: "boolean", default: false } } });
  const config = loadConfig();
  let endpoint: { url: string; username: string; password: string };
  if (config.clickhouse.backend === "server") {
    endpoint = {
      url: config.clickhouse.url,
      username: config.clickhouse.username,
      password: config.clickhouse.password,
    };
  } else {
    const url = await findRunningStore(config);
    if (!url) {
      console.error(
        "Mercury needs ClickHouse over HTTP: set CLICKHOUSE_URL (with CLICKHOUSE_USER/CLICKHOUSE_PASSWORD), or start the platform (npm start), which serves Mercury itself.",
      );
      process.exit(1);
    }
    endpoint = {
      url,
      username: config.clickhouseHttp.reader.name,
      password: config.clickhouseHttp.reader.password,
    };
  }
  const mercury: MercuryServer = await startMercury({
    clickhouse: { ...endpoint, database: config.clickhouse.database },
    dev: values.dev,
  });
  console.log(`Mercury ${mercury.url}   (ClickHouse ${endpoint.url})`);
  const stop = async () => {
    await mercury.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop());
  process.on("SIGTERM", () => void stop());
}

main().catch((error: unknown) => {
  console.error(`Mercury cannot start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
