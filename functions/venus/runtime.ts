import path from "node:path";
import type { PacketPulseConfig } from "#shared/config/index.ts";
import { readParameter } from "#shared/config/parameters.ts";
import { openEventLog } from "#shared/log/index.ts";
import type { EventLog } from "#shared/log/types.ts";
import { type ConnectionStore, DynamoConnectionStore, SqliteConnectionStore } from "./connection-store.ts";
import { Venus } from "./ingest.ts";

export interface VenusRuntime {
  venus: Venus;
  log: EventLog;
  connections: ConnectionStore;
  close(): Promise<void>;
}

export async function openConnectionStore(config: PacketPulseConfig): Promise<ConnectionStore> {
  return config.venus.connectionStore === "dynamodb"
    ? DynamoConnectionStore.open({
        table: config.venus.connectionsTable,
        region: config.aws.region,
        endpoint: config.aws.endpoint,
      })
    : SqliteConnectionStore.open(path.join(config.dataDir, "venus-connections.sqlite"));
}

/**
 * Builds Venus from configuration. `log` may be passed in when the process already owns one (the embedded
 * platform shares a single event log between Venus and the consumers).
 */
export async function openVenusRuntime(
  config: PacketPulseConfig,
  shared?: { log?: EventLog },
): Promise<VenusRuntime> {
  // Deployed stages name an SSM parameter instead of carrying the key in their environment.
  const apiKey = config.venus.apiKeyParameter
    ? await readParameter(config.venus.apiKeyParameter, {
        region: config.aws.region,
        endpoint: config.aws.endpoint,
      })
    : config.venus.apiKey;
  const log = shared?.log ?? (await openEventLog(config));
  await log.ensureTopics([
    { topic: config.topics.sessions, partitions: config.topics.partitions },
    { topic: config.topics.deadLetter, partitions: config.topics.partitions },
  ]);
  const connections = await openConnectionStore(config);
  const venus = new Venus({ log, connections, apiKey, topics: config.topics });
  return {
    venus,
    log,
    connections,
    async close() {
      await connections.close();
      if (!shared?.log) await log.close();
    },
  };
}
