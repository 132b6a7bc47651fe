import { parseArgs } from "node:util";
import { loadConfig } from "../../shared/config/index.ts";
import { clickhouseForMercury } from "./clickhouse-endpoint.ts";
import { type MercuryServer, startMercury } from "./index.ts";
import { standaloneLiveFeed } from "./standalone-feed.ts";

/**
 * `npm run web` (built app) and `npm run web:dev` (Vite, hot reload): Mercury on its own, reading ClickHouse
 * over HTTP: CLICKHOUSE_URL, else the interface of the platform running on this data folder (npm start).
 * The live map follows Kafka's `sessions` topic when KAFKA_BOOTSTRAP_SERVERS is set, else silver.
 */

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { dev: { type: "boolean", default: false } } });
  const config = loadConfig();
  const clickhouse = await clickhouseForMercury(config);
  const live = await standaloneLiveFeed(config);
  const mercury: MercuryServer = await startMercury({
    clickhouse,
    liveFeed: live.feed,
    dev: values.dev,
  }).catch(async (error: unknown) => {
    await live.close();
    throw error;
  });
  console.log(`Mercury ${mercury.url}   (ClickHouse ${clickhouse.url}; live map from ${live.source})`);
  const stop = async () => {
    await mercury.close();
    await live.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop());
  process.on("SIGTERM", () => void stop());
}

main().catch((error: unknown) => {
  console.error(`Mercury cannot start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
