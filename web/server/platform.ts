import type { ClickHouseHttpServer } from "../../shared/clickhouse/http/index.ts";
import type { PacketPulseConfig } from "../../shared/config/index.ts";
import type { EventLog } from "../../shared/log/types.ts";
import { type MercuryServer, startMercury } from "./index.ts";
import type { ConsumerGroup } from "./pipeline.ts";

/**
 * Mercury inside `npm start`: it reads the store through the platform's ClickHouse interface as the
 * read-only reader (or the configured ClickHouse server), follows the event log for the live map, and
 * reads the consumers' lag. Off with MERCURY_PORT=off.
 */
export async function serveMercury(options: {
  config: PacketPulseConfig;
  sql: ClickHouseHttpServer | undefined;
  log: EventLog;
  groups: readonly ConsumerGroup[];
}): Promise<MercuryServer | undefined> {
  if (process.env.MERCURY_PORT === "off") return undefined;
  const { config, sql } = options;
  const clickhouse =
    config.clickhouse.backend === "server"
      ? { ...config.clickhouse }
      : sql
        ? {
            url: sql.url,
            username: config.clickhouseHttp.reader.name,
            password: config.clickhouseHttp.reader.password,
            database: config.clickhouse.database,
          }
        : undefined;
  if (!clickhouse) {
    console.log(
      "  Mercury not served: it reads the store through the ClickHouse HTTP interface (CLICKHOUSE_HTTP_PORT)",
    );
    return undefined;
  }
  const lines: string[] = [];
  const mercury = await startMercury({
    clickhouse,
    platform: { log: options.log, topics: options.config.topics, groups: options.groups },
    print: (line) => lines.push(line),
  });
  console.log(
    `  Mercury ${mercury.url}   dashboard (sign in as admin@example.com / password in development)`,
  );
  for (const line of lines) console.log(line);
  return mercury;
}
