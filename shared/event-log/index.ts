import path from "node:path";
import type { PacketPulseConfig } from "#shared/config/index.ts";
import type { EventLog } from "./types.ts";

export type * from "./types.ts";

/** File of the embedded event log inside the data folder. */
export function embeddedLogFile(config: PacketPulseConfig): string {
  return path.join(config.dataDir, "event-log.sqlite");
}

/**
 * Opens the event log the configuration names. Each backend is imported only when chosen, so the Lambda
 * bundles never load the embedded backend's native SQLite module.
 */
export async function openEventLog(config: PacketPulseConfig): Promise<EventLog> {
  if (config.eventLog.backend === "kafka") {
    const { openKafkaEventLog, kafkaLogLevelFor } = await import("./kafka/index.ts");
    let kafka = config.eventLog.kafka!;
    // SCRAM's user and password from MSK's secret, read at start-up (shared/config/parameters.ts).
    if (kafka.sasl && "secretParameter" in kafka.sasl) {
      const { readScramSecret } = await import("#shared/config/parameters.ts");
      const { secretParameter, region, endpoint, mechanism } = kafka.sasl;
      kafka = {
        ...kafka,
        sasl: { mechanism, ...(await readScramSecret(secretParameter, { region, endpoint })) },
      };
    }
    return openKafkaEventLog(kafka, {
      logLevel: kafkaLogLevelFor(config.logLevel),
    });
  }
  const { openSqliteEventLog } = await import("./sqlite/index.ts");
  return openSqliteEventLog({
    file: embeddedLogFile(config),
    retentionHours: config.eventLog.retentionHours,
    partitionsDefault: config.topics.partitions,
  });
}
