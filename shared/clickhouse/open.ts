import { mkdirSync } from "node:fs";
import { type ClickHouseClient, createClient } from "@clickhouse/client";
import type { ClickHouseConfig } from "#shared/config/index.ts";
import { EmbeddedConnections } from "./embedded.ts";
import { ClickHouseStoreError } from "./errors.ts";
import { CLICKHOUSE_SETTINGS, EMBEDDED_QUERY_SETTINGS } from "./settings.ts";

/**
 * Opens the silver/gold store the configuration names, with its database created and selected. Both
 * backends give the same `@clickhouse/client` client, so callers never ask which one they have.
 *
 * - embedded: chDB in `<dataDir>/clickhouse`. chDB binds one data folder per process; a second process on
 *   the same folder fails at once ("Cannot lock file"), so one process owns the store. The ~540 MB native
 *   library is imported only here, so bundles for the server backend never load it.
 * - server: a ClickHouse server over HTTP(S).
 */
export async function openClickHouse(config: ClickHouseConfig): Promise<ClickHouseClient> {
  return config.backend === "embedded" ? openEmbedded(config) : openServer(config);
}

type ClientConnection = NonNullable<NonNullable<Parameters<typeof createClient>[0]>["connection"]>;

/** chDB connections of the embedded store: statements on different connections run side by side. */
const EMBEDDED_CONNECTIONS = 2;

async function openEmbedded(config: Extract<ClickHouseConfig, { backend: "embedded" }>) {
  // On Lambda (not serverless offline, which sets IS_OFFLINE) chDB is not in the bundle: say what is missing
  // rather than fail on a missing package, or write to a container's temporary disk.
  if (process.env.AWS_LAMBDA_FUNCTION_NAME && process.env.IS_OFFLINE !== "true") {
    throw new ClickHouseStoreError(
      `CLICKHOUSE_URL is required on AWS Lambda (function ${process.env.AWS_LAMBDA_FUNCTION_NAME}): the embedded ClickHouse is for one machine and is not in the function's bundle`,
    );
  }
  mkdirSync(config.path, { recursive: true });
  const connections: import("chdb/connection").ChdbConnection[] = [];
  try {
    const { createChdbConnection } = await import("chdb/connection");
    for (let i = 0; i < EMBEDDED_CONNECTIONS; i++)
      connections.push(createChdbConnection({ path: config.path }));
  } catch (error) {
    for (const connection of connections) await connection.close().catch(() => {});
    const detail = error instanceof Error ? error.message : String(error);
    const hint = /lock/i.test(detail)
      ? "another process owns this folder: stop it, or point PACKETPULSE_DATA_DIR elsewhere, or set CLICKHOUSE_URL"
      : /only one active data directory/i.test(detail)
        ? "this process already opened embedded ClickHouse on another folder; chDB binds one folder per process"
        : /@chdb\/lib-|Cannot find (module|package)/i.test(detail)
          ? `chDB's library is published for Linux x64 only, and this is ${process.platform}-${process.arch}: set CLICKHOUSE_URL to a ClickHouse server (README: "macOS and ARM")`
          : "check that the chdb package is installed (npm install) and the folder is writable";
    throw new ClickHouseStoreError(`Cannot open embedded ClickHouse at ${config.path}: ${detail} (${hint})`, {
      cause: error,
    });
  }
  const pool = new EmbeddedConnections(connections);
  try {
    // Settings of a chDB session hold for every later statement of its connection (see
    // EMBEDDED_QUERY_SETTINGS); chDB ignores the client's `database` option, and USE holds the same way.
    await connections[0]!.command({ query: `CREATE DATABASE IF NOT EXISTS ${config.database}` });
    await pool.forEach(async (connection) => {
      await connection.command({ query: "SELECT 1", clickhouse_settings: CLICKHOUSE_SETTINGS });
      await connection.command({ query: `USE ${config.database}` });
    });
  } catch (error) {
    await pool.close();
    throw new ClickHouseStoreError(`Cannot prepare database ${config.database} in embedded ClickHouse`, {
      cause: error,
    });
  }
  // chdb implements @clickhouse/client-common's Connection, which @clickhouse/client re-bundles as its own
  // (structurally equal) type; the cast bridges the two declarations of one contract.
  return createClient({
    connection: pool.asConnection() as unknown as ClientConnection,
    clickhouse_settings: EMBEDDED_QUERY_SETTINGS,
  });
}

async function openServer(config: Extract<ClickHouseConfig, { backend: "server" }>) {
  // Deployed stages name an SSM parameter instead of carrying the password in their environment.
  const password = config.passwordParameter
    ? await (await import("#shared/config/parameters.ts")).readParameter(config.passwordParameter.name, {
        region: config.passwordParameter.region,
        endpoint: config.passwordParameter.endpoint,
      })
    : config.password;
  const common = {
    url: config.url,
    username: config.username,
    password,
    clickhouse_settings: CLICKHOUSE_SETTINGS,
  };
  // The database must exist before a client can name it in every request.
  const bootstrap = createClient(common);
  try {
    await bootstrap.command({ query: `CREATE DATABASE IF NOT EXISTS ${config.database}` });
  } catch (error) {
    throw new ClickHouseStoreError(
      `Cannot reach ClickHouse at ${config.url} as ${config.username}: ${error instanceof Error ? error.message : String(error)} (check CLICKHOUSE_URL, CLICKHOUSE_USER and CLICKHOUSE_PASSWORD)`,
      { cause: error },
    );
  } finally {
    await bootstrap.close();
  }
  return createClient({ ...common, database: config.database });
}
