import { findRunningStore } from "../../shared/clickhouse/http/running.ts";
import type { PacketPulseConfig } from "../../shared/config/index.ts";
import type { ClickHouseEndpoint } from "./data.ts";

/**
 * The ClickHouse Mercury reads when it runs on its own (`npm run web`, a container, Lambda): CLICKHOUSE_URL
 * (+ CLICKHOUSE_USER and CLICKHOUSE_PASSWORD, or CLICKHOUSE_PASSWORD_PARAMETER read from SSM), else the
 * HTTP interface of the platform running on this data folder, as its read-only reader.
 */
export async function clickhouseForMercury(config: PacketPulseConfig): Promise<ClickHouseEndpoint> {
  const { clickhouse } = config;
  if (clickhouse.backend === "server") {
    const password = clickhouse.passwordParameter
      ? await (await import("../../shared/config/parameters.ts")).readParameter(
          clickhouse.passwordParameter.name,
          clickhouse.passwordParameter,
        )
      : clickhouse.password;
    return {
      url: clickhouse.url,
      username: clickhouse.username,
      password,
      database: clickhouse.database,
    };
  }
  const url = await findRunningStore(config);
  if (!url) {
    throw new Error(
      "Mercury needs ClickHouse over HTTP: set CLICKHOUSE_URL (with CLICKHOUSE_USER/CLICKHOUSE_PASSWORD), or start the platform (npm start), which serves Mercury itself.",
    );
  }
  return {
    url,
    username: config.clickhouseHttp.reader.name,
    password: config.clickhouseHttp.reader.password,
    database: clickhouse.database,
  };
}
